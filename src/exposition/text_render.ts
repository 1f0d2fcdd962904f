/**
 * Metric families → text exposition format 0.0.4, byte-identical to the
 * Pushgateway's `/metrics` (docs/compatibility.md, Scrapes; Go expfmt
 * `MetricFamilyToText`).
 *
 * Pure and cheap: the functions render what they are given in the order
 * given. They never sort (callers merge and sort once, see `sort.ts`), never
 * validate, and never print timestamps (the Pushgateway refuses them,
 * docs/compatibility.md, Validation). Floats go through `formatTextFloat` only.
 *
 * Names that are not valid under the legacy rule are quoted the way the
 * newest expfmt does (`{"my.metric",a="1"}`); escaping them to underscores
 * for old clients is the caller's choice, not this module's.
 * @module
 */

import { formatTextFloat } from "./float.ts";
import type {
  HistogramMetric,
  Label,
  Metric,
  MetricFamily,
  MetricType,
  ScalarMetric,
  SummaryMetric,
} from "./model.ts";
import { unreachable } from "./model.ts";

/** The word after `# TYPE`. Text 0.0.4 has no gauge histogram (expfmt). */
const TYPE_WORD = {
  counter: "counter",
  gauge: "gauge",
  summary: "summary",
  untyped: "untyped",
  histogram: "histogram",
  gaugehistogram: "histogram",
} as const satisfies Record<MetricType, string>;

const HELP_SPECIAL = /[\\\n]/;
const HELP_SPECIAL_ALL = /[\\\n]/g;
const VALUE_SPECIAL = /[\\\n"]/;
const VALUE_SPECIAL_ALL = /[\\\n"]/g;

function escapeChar(char: string): string {
  return char === "\n" ? "\\n" : `\\${char}`;
}

/** HELP text: `\` → `\\`, newline → `\n`; quotes stay as they are. */
function escapeHelp(help: string): string {
  return HELP_SPECIAL.test(help)
    ? help.replace(HELP_SPECIAL_ALL, escapeChar)
    : help;
}

/** Label values (and quoted names): `\`, `"` and newline escaped. */
function escapeValue(value: string): string {
  return VALUE_SPECIAL.test(value)
    ? value.replace(VALUE_SPECIAL_ALL, escapeChar)
    : value;
}

/** ASCII codes allowed in a legacy name: 1 anywhere, 2 not first (digits). */
const NAME_CHAR = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    const char = String.fromCharCode(c);
    if (/[a-zA-Z_:]/.test(char)) table[c] = 1;
    else if (/[0-9]/.test(char)) table[c] = 2;
  }
  return table;
})();

/**
 * The legacy name rule `[a-zA-Z_:][a-zA-Z0-9_:]*`, which expfmt applies to
 * metric and label names alike when deciding whether to quote them. A table
 * lookup: this runs for every name of every series rendered.
 */
function isLegacyName(name: string): boolean {
  const length = name.length;
  if (length === 0 || NAME_CHAR[name.charCodeAt(0)] !== 1) return false;
  for (let i = 1; i < length; i++) {
    // A code ≥ 128 reads past the table: undefined, so not allowed either.
    if (!NAME_CHAR[name.charCodeAt(i)]) return false;
  }
  return true;
}

function renderName(name: string): string {
  return isLegacyName(name) ? name : `"${escapeValue(name)}"`;
}

/** `l1="v1",l2="v2"` without braces; "" for no labels. */
function renderLabelPairs(labels: readonly Label[]): string {
  let text = "";
  for (const label of labels) {
    if (text.length > 0) text += ",";
    text += `${renderName(label.name)}="${escapeValue(label.value)}"`;
  }
  return text;
}

/**
 * The part of a sample line before the value: name, labels and the optional
 * `le`/`quantile` pair, which comes after the family's own labels.
 */
function renderSeriesId(
  name: string,
  legacyName: boolean,
  pairs: string,
  extra: string,
): string {
  if (!legacyName) {
    let text = `{"${escapeValue(name)}"`;
    if (pairs.length > 0) text += `,${pairs}`;
    if (extra.length > 0) text += `,${extra}`;
    return `${text}}`;
  }
  if (pairs.length === 0) {
    return extra.length === 0 ? name : `${name}{${extra}}`;
  }
  return extra.length === 0
    ? `${name}{${pairs}}`
    : `${name}{${pairs},${extra}}`;
}

/**
 * `# HELP` (only when `help` is not undefined) and `# TYPE` lines of a
 * family. A gauge histogram is announced as `histogram`, as expfmt does.
 */
export function renderFamilyHeader(
  name: string,
  help: string | undefined,
  type: MetricType,
): string {
  const renderedName = renderName(name);
  const typeLine = `# TYPE ${renderedName} ${TYPE_WORD[type]}\n`;
  if (help === undefined) return typeLine;
  return `# HELP ${renderedName} ${escapeHelp(help)}\n${typeLine}`;
}

function renderScalar(name: string, metric: ScalarMetric): string {
  const id = renderSeriesId(
    name,
    isLegacyName(name),
    renderLabelPairs(metric.labels),
    "",
  );
  return `${id} ${formatTextFloat(metric.value)}\n`;
}

function renderSummary(name: string, metric: SummaryMetric): string {
  const legacy = isLegacyName(name);
  const pairs = renderLabelPairs(metric.labels);
  let text = "";
  for (const q of metric.quantiles) {
    const extra = `quantile="${formatTextFloat(q.quantile)}"`;
    text += `${renderSeriesId(name, legacy, pairs, extra)} ${
      formatTextFloat(q.value)
    }\n`;
  }
  text += `${renderSeriesId(`${name}_sum`, legacy, pairs, "")} ${
    formatTextFloat(metric.sampleSum)
  }\n`;
  text += `${renderSeriesId(`${name}_count`, legacy, pairs, "")} ${
    formatTextFloat(metric.sampleCount)
  }\n`;
  return text;
}

function renderHistogram(name: string, metric: HistogramMetric): string {
  const legacy = isLegacyName(name);
  const pairs = renderLabelPairs(metric.labels);
  const bucketName = `${name}_bucket`;
  let text = "";
  let infSeen = false;
  for (const bucket of metric.buckets) {
    const extra = `le="${formatTextFloat(bucket.upperBound)}"`;
    text += `${renderSeriesId(bucketName, legacy, pairs, extra)} ${
      formatTextFloat(bucket.cumulativeCount)
    }\n`;
    if (bucket.upperBound === Infinity) infSeen = true;
  }
  // expfmt: a non-zero sample_count_float overrides sample_count.
  const countFloat = metric.sampleCountFloat;
  const count = countFloat !== undefined && countFloat !== 0
    ? countFloat
    : metric.sampleCount;
  const formattedCount = formatTextFloat(count);
  if (!infSeen) {
    // The +Inf bucket (docs/compatibility.md, Scrapes) is synthesised from
    // the sample count. A native-only histogram therefore shows just this
    // bucket, sum and count.
    text += `${
      renderSeriesId(bucketName, legacy, pairs, 'le="+Inf"')
    } ${formattedCount}\n`;
  }
  text += `${renderSeriesId(`${name}_sum`, legacy, pairs, "")} ${
    formatTextFloat(metric.sampleSum)
  }\n`;
  text += `${
    renderSeriesId(`${name}_count`, legacy, pairs, "")
  } ${formattedCount}\n`;
  return text;
}

/**
 * All lines of one series of a family named `name` of type `type`: one line
 * for a counter, gauge or untyped metric; quantiles, `_sum`, `_count` for a
 * summary; buckets in stored order, a synthetic `le="+Inf"` bucket when none
 * is stored, `_sum`, `_count` for a histogram.
 *
 * Assumes `metric.labels` is already sorted by name (`sortLabels`) and that
 * `metric` is of the kind `type` says; neither is checked, to keep this cheap
 * enough to call once per series.
 */
export function renderMetric(
  name: string,
  type: MetricType,
  metric: Metric,
): string {
  switch (type) {
    case "counter":
    case "gauge":
    case "untyped":
      return renderScalar(name, metric as ScalarMetric);
    case "summary":
      return renderSummary(name, metric as SummaryMetric);
    case "histogram":
    case "gaugehistogram":
      return renderHistogram(name, metric as HistogramMetric);
    default:
      return unreachable(type);
  }
}

/**
 * One family: header and every series in the order given; "" for a family
 * without metrics (the Pushgateway omits those, docs/compatibility.md,
 * Scrapes).
 */
export function renderFamily(family: MetricFamily): string {
  if (family.metrics.length === 0) return "";
  let text = renderFamilyHeader(family.name, family.help, family.type);
  for (const metric of family.metrics) {
    text += renderMetric(family.name, family.type, metric);
  }
  return text;
}

/**
 * A whole scrape body. `families` must already be merged and sorted: by name
 * (`compareNames`), series by `compareSeries`, labels by name. Families
 * with zero metrics are omitted.
 */
export function renderFamilies(families: readonly MetricFamily[]): string {
  let text = "";
  for (const family of families) text += renderFamily(family);
  return text;
}
