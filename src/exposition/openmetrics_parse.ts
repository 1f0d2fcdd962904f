/**
 * OpenMetrics 1.0 text → metric families, for push bodies sent as
 * `application/openmetrics-text` (the Pushgateway refuses them and parses
 * them as text 0.0.4, docs/compatibility.md, push bodies; users asked for them in
 * prometheus/pushgateway#400). Pure: no I/O, no clock. Throws the first
 * problem as an {@link ExpositionError} with its 1-based line.
 *
 * Strictness. "Partial or invalid expositions MUST be considered erroneous in
 * their entirety" (OpenMetrics 1.0, "Data transmission"). We enforce the ABNF
 * and the MUSTs that the reference parser (prometheus/client_python
 * `openmetrics/parser.py`) and the OpenMetrics parser test suite
 * (OpenObservability/OpenMetrics `tests/testdata/parsers`) enforce:
 * `# EOF` last and nothing after it; no blank lines, no other `#` lines, no
 * CR; one TYPE/HELP/UNIT per family, before its samples; UNIT a `_unit`
 * suffix of the name and absent on info and stateset; families and metrics
 * not interleaved, names not clashing (`a_created` gauge vs counter `a`);
 * counter-like values (`_total`, `_sum`, `_count`, `_bucket`, `_gcount`)
 * neither NaN nor negative; histograms complete (`+Inf` bucket, buckets sorted,
 * `_count` = `+Inf` bucket, `_count` iff `_sum`), integer counts; quantiles in
 * [0, 1]; stateset values 0/1, info values 1; exemplars only on counter
 * `_total` and `_bucket` samples, their labels ≤ 128 code points; timestamps
 * within a metric not going backwards. Beyond the ABNF, and like the text
 * parser: `__name__` as a label name is reserved. Not checked: duplicate series
 * across families (the consistency check does that), timestamps being absent
 * (push/validate.ts rejects them later). Given limits, names and label values
 * over them, and number tokens over MAX_NUMBER_BYTES, are refused as read
 * (token_limits.ts).
 *
 * Mapping to the model (the choices a text 0.0.4 scrape of the result must
 * make look as client_golang would):
 * - counter `foo` → counter family `foo_total` (the name of its samples, as
 *   client_golang names counter families; a 0.0.4 scrape shows `foo_total`);
 *   `foo_created` → `createdTimestampMs`, never a series of its own; an
 *   exemplar on `foo_total` → `exemplar`.
 * - gauge → gauge; unknown (or no TYPE) → untyped; info `foo` → gauge family
 *   `foo_info` with value 1; stateset `foo` → gauge family `foo` with one
 *   series per state (the label named `foo` holds the state), value 0 or 1.
 * - summary and histogram → family `foo` as in text 0.0.4; gaugehistogram →
 *   type `"gaugehistogram"`, `_gcount`/`_gsum` as count/sum. A missing `_sum`
 *   or `_count` becomes 0 as in the text parser, except that a histogram's
 *   count falls back to its `+Inf` bucket. Buckets keep their order
 *   (including `+Inf`), exemplars go to their bucket. `le`/`quantile` are
 *   parsed as floats.
 * - Timestamps (float seconds) → integer `timestampMs`, truncated toward zero
 *   like Prometheus (`int64(ts * 1000)`), computed from the decimal text so
 *   that `1520879607.789` gives exactly `1520879607789`.
 * - Every MetricPoint becomes its own model metric (several points of one
 *   metric only exist with timestamps, which pushes reject anyway).
 * - Empty HELP or UNIT counts as absent (spec: "MUST be treated as if no
 *   metadata line ... existed"). Families without samples are dropped, as the
 *   text parser does.
 * @module
 */

import {
  type Bucket,
  type Exemplar,
  ExpositionError,
  type HistogramMetric,
  type Label,
  type MetricFamily,
  type Quantile,
  type ScalarMetric,
  type SummaryMetric,
  unreachable,
} from "./model.ts";
import {
  NO_TOKEN_LIMITS,
  QUOTED_PREFIX_BYTES,
  type TokenLimits,
  TokenTooLongError,
  utf8Length,
} from "./token_limits.ts";
import {
  failLine,
  type LineReader,
  type MetadataKind,
  quote,
  readMetadata,
  readSample,
  type SampleLine,
  toNumber,
} from "./openmetrics_lex.ts";
import {
  addToPoint,
  finishFamily,
  finishPoint,
  markSeen,
  sameGroup,
  startPoint,
} from "./openmetrics_points.ts";

export interface OpenMetricsParseOptions {
  /**
   * Accept quoted UTF-8 metric and label names (`{"my.metric","a.b"="v"}`,
   * `# TYPE "my.metric" gauge`), as the Pushgateway's
   * `--push.enable-utf8-names` does for text (docs/compatibility.md, flags).
   */
  readonly utf8Names?: boolean;
  /** Names and label values refused as soon as they are longer. */
  readonly limits?: TokenLimits;
}

export type OmType =
  | "counter"
  | "gauge"
  | "histogram"
  | "gaugehistogram"
  | "stateset"
  | "info"
  | "summary"
  | "unknown";

/** What a sample line contributes to its MetricPoint. */
export type Role =
  | "value"
  | "total"
  | "created"
  | "bucket"
  | "count"
  | "sum"
  | "gcount"
  | "gsum"
  | "quantile";

/** Sample name suffixes of each type, and their role (spec "Suffixes"). */
export const ROLES: Readonly<
  Record<OmType, readonly (readonly [string, Role])[]>
> = {
  counter: [["_total", "total"], ["_created", "created"]],
  gauge: [["", "value"]],
  stateset: [["", "value"]],
  unknown: [["", "value"]],
  info: [["_info", "value"]],
  summary: [
    ["", "quantile"],
    ["_count", "count"],
    ["_sum", "sum"],
    ["_created", "created"],
  ],
  histogram: [
    ["_bucket", "bucket"],
    ["_count", "count"],
    ["_sum", "sum"],
    ["_created", "created"],
  ],
  gaugehistogram: [
    ["_bucket", "bucket"],
    ["_gcount", "gcount"],
    ["_gsum", "gsum"],
  ],
};

export const TYPE_LIST =
  "counter, gauge, histogram, gaugehistogram, stateset, info, summary, unknown";

/** Exemplar label names and values together, in code points (spec "Exemplars"). */
export const MAX_EXEMPLAR_LABEL_CHARS = 128;

const CHAR_LF = 10;
const CHAR_CR = 13;
export const CHAR_SPACE = 32;
export const CHAR_QUOTE = 34;
export const CHAR_HASH = 35;
export const CHAR_COMMA = 44;
export const CHAR_EQUALS = 61;
export const CHAR_BACKSLASH = 92;
export const CHAR_BRACE_OPEN = 123;
export const CHAR_BRACE_CLOSE = 125;

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const MISSING_EOF =
  'unexpected end of input; an OpenMetrics body must end with the line "# EOF"';

/**
 * Parses an OpenMetrics 1.0 text exposition into metric families, in the
 * order of the body. Throws {@link ExpositionError} (with the line) for
 * anything the format forbids; does not check timestamps or duplicate series
 * across families.
 */
export function parseOpenMetrics(
  body: Uint8Array,
  options: OpenMetricsParseOptions = {},
): MetricFamily[] {
  const text = decodeUtf8(body);
  const ctx: Context = {
    utf8Names: options.utf8Names ?? false,
    limits: options.limits ?? NO_TOKEN_LIMITS,
    families: [],
    taken: new Map(),
    family: undefined,
  };
  let pos = 0;
  let line = 0;
  while (pos < text.length) {
    line++;
    const newline = text.indexOf("\n", pos);
    const end = newline === -1 ? text.length : newline;
    if (end - pos === 5 && text.startsWith("# EOF", pos)) {
      if (end + 1 < text.length) {
        throw new ExpositionError(line + 1, 'unexpected content after "# EOF"');
      }
      finishFamily(ctx);
      return ctx.families;
    }
    if (newline === -1) throw new ExpositionError(line, MISSING_EOF);
    if (end === pos) {
      throw new ExpositionError(line, "blank lines are not allowed");
    }
    if (text.charCodeAt(end - 1) === CHAR_CR) {
      throw new ExpositionError(
        line,
        'lines must end with "\\n", not "\\r\\n"',
      );
    }
    const reader: LineReader = { text, pos, end, line };
    if (text.charCodeAt(pos) === CHAR_HASH) {
      readMetadata(ctx, reader);
    } else {
      addSample(ctx, readSample(reader, ctx), line);
    }
    pos = end + 1;
  }
  throw new ExpositionError(line + 1, MISSING_EOF);
}

/** The whole body as a string; OpenMetrics is UTF-8 without a BOM. */
function decodeUtf8(body: Uint8Array): string {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    const offset = invalidUtf8Offset(body);
    let line = 1;
    for (let i = 0; i < offset; i++) if (body[i] === CHAR_LF) line++;
    const byte = (body[offset] ?? 0).toString(16).padStart(2, "0");
    throw new ExpositionError(
      line,
      `invalid UTF-8 (byte 0x${byte} at offset ${offset}); OpenMetrics text must be UTF-8`,
    );
  }
  if (text.charCodeAt(0) === 0xfeff) {
    throw new ExpositionError(1, "a byte order mark is not allowed");
  }
  return text;
}

/** Offset of the first byte that is not part of valid UTF-8 (RFC 3629). */
function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const first = bytes[i] ?? 0;
    if (first < 0x80) {
      i++;
      continue;
    }
    let more: number;
    let codePoint: number;
    if (first >= 0xc2 && first <= 0xdf) {
      more = 1;
      codePoint = first & 0x1f;
    } else if ((first & 0xf0) === 0xe0) {
      more = 2;
      codePoint = first & 0x0f;
    } else if (first >= 0xf0 && first <= 0xf4) {
      more = 3;
      codePoint = first & 0x07;
    } else {
      return i;
    }
    for (let k = 1; k <= more; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    const overlong = (more === 2 && codePoint < 0x800) ||
      (more === 3 && codePoint < 0x10000);
    const surrogate = codePoint >= 0xd800 && codePoint <= 0xdfff;
    if (overlong || surrogate || codePoint > 0x10ffff) return i;
    i += more + 1;
  }
  return bytes.length;
}

// ---------------------------------------------------------------------------
// Families and MetricPoints

export interface Context {
  readonly utf8Names: boolean;
  readonly limits: TokenLimits;
  readonly families: MetricFamily[];
  /** Every sample name a family seen so far can use → that family's name. */
  readonly taken: Map<string, string>;
  family: FamilyState | undefined;
}

export interface FamilyState {
  readonly name: string;
  /** undefined until a TYPE line or the first sample (then "unknown"). */
  type: OmType | undefined;
  help: string | undefined;
  unit: string | undefined;
  readonly seen: Set<MetadataKind>;
  hasSamples: boolean;
  readonly scalars: ScalarMetric[];
  readonly summaries: SummaryMetric[];
  readonly histograms: HistogramMetric[];
  /** Keys of the metrics seen so far, to catch interleaving. */
  readonly groups: Set<string>;
  point: PointState | undefined;
}

/**
 * One MetricPoint being assembled: the consecutive samples of one metric
 * (same labels apart from `le`/`quantile`/the state) and one timestamp.
 */
export interface PointState {
  readonly groupKey: string;
  /** The labels that identify the metric, in the order of the first sample. */
  readonly groupLabels: readonly Label[];
  readonly timestamp: number | undefined;
  readonly timestampMs: number | undefined;
  /** The metric's own labels (without `le`, `quantile`). */
  readonly labels: readonly Label[];
  /** Sample identities within the point, to catch duplicates. */
  seen: string | string[] | Set<string> | undefined;
  lastLine: number;
  total: number | undefined;
  exemplar: Exemplar | undefined;
  createdMs: number | undefined;
  count: number | undefined;
  sum: number | undefined;
  readonly quantiles: Quantile[];
  readonly buckets: Bucket[];
  negativeBucket: boolean;
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function startFamily(
  ctx: Context,
  name: string,
  line: number,
  from: "metadata" | "sample",
): FamilyState {
  const owner = ctx.taken.get(name);
  if (owner === name) {
    const family = quote(name);
    failLine(
      line,
      `metric family ${family} appears a second time; the lines of a family must be contiguous`,
    );
  }
  if (owner !== undefined) {
    const [n, o] = [quote(name), quote(owner)];
    failLine(
      line,
      from === "sample"
        ? `sample ${n} belongs to the earlier metric family ${o}; the lines of a family must be contiguous`
        : `metric family ${n} clashes with the earlier family ${o}, which can have samples named ${n}`,
    );
  }
  ctx.taken.set(name, name);
  const family: FamilyState = {
    name,
    type: undefined,
    help: undefined,
    unit: undefined,
    seen: new Set(),
    hasSamples: false,
    scalars: [],
    summaries: [],
    histograms: [],
    groups: new Set(),
    point: undefined,
  };
  ctx.family = family;
  return family;
}

/** Reserves a suffixed sample name for a family whose TYPE just arrived. */
export function claimName(
  ctx: Context,
  family: FamilyState,
  sampleName: string,
  line: number,
): void {
  const owner = ctx.taken.get(sampleName);
  if (owner !== undefined) {
    const [f, o, n] = [quote(family.name), quote(owner), quote(sampleName)];
    failLine(
      line,
      `${family.type} metric family ${f} clashes with the earlier family ${o}: both can have samples named ${n}`,
    );
  }
  ctx.taken.set(sampleName, family.name);
}

/** The role of `name` in `family`, or undefined if it starts another family. */
function roleOf(family: FamilyState, name: string): Role | undefined {
  const base = family.name;
  if (!name.startsWith(base)) return undefined;
  // Compared in place: slicing the suffix off would allocate per sample.
  const roles = ROLES[family.type ?? "unknown"];
  for (let i = 0; i < roles.length; i++) {
    const [suffix, role] = roles[i] ?? ["", "value"];
    if (name.length === base.length + suffix.length && name.endsWith(suffix)) {
      return role;
    }
  }
  return undefined;
}

function addSample(ctx: Context, sample: SampleLine, line: number): void {
  let family = ctx.family;
  let role = family && roleOf(family, sample.name);
  if (family === undefined || role === undefined) {
    if (family !== undefined && ctx.taken.get(sample.name) === family.name) {
      const { name } = family;
      const names = ROLES[family.type ?? "unknown"]
        .map(([suffix]) => quote(name + suffix));
      const [n, f] = [quote(sample.name), quote(name)];
      failLine(
        line,
        `sample ${n} does not fit ${family.type} metric family ${f}, whose samples are named ${
          names.join(", ")
        }`,
      );
    }
    finishFamily(ctx);
    family = startFamily(ctx, sample.name, line, "sample");
    role = "value";
  }
  family.type ??= "unknown";
  family.hasSamples = true;

  // The label with a meaning for the role: le, quantile or the state.
  const special = role === "bucket"
    ? "le"
    : role === "quantile"
    ? "quantile"
    : family.type === "stateset"
    ? family.name
    : undefined;
  const specialValue = special === undefined
    ? undefined
    : labelValue(sample.labels, special);
  const bound = checkLabels(family, role, sample, specialValue, line);
  checkValue(family, role, sample, line);
  if (sample.exemplar !== undefined && role !== "total" && role !== "bucket") {
    const n = quote(sample.name);
    failLine(
      line,
      `exemplars are allowed only on counter "_total" and histogram "_bucket" samples, not on ${n}`,
    );
  }

  // MetricPoint boundaries and order (spec "Metric", "MetricPoint").
  let point = family.point;
  const samePoint = point !== undefined &&
    (family.type === "info" || sameGroup(point, sample.labels, special));
  const groupKey = samePoint && point !== undefined
    ? point.groupKey
    : family.type === "info"
    ? ""
    : labelsKey(sample.labels, special);
  if (point?.groupKey === groupKey) {
    if ((sample.timestamp === undefined) !== (point.timestamp === undefined)) {
      const series = seriesText(family.name, sample.labels);
      failLine(
        line,
        `some samples of ${series} have a timestamp and others do not`,
      );
    }
    if (
      sample.timestamp !== undefined && point.timestamp !== undefined &&
      sample.timestamp < point.timestamp && family.type !== "info"
    ) {
      const series = seriesText(family.name, sample.labels);
      failLine(line, `the timestamps of ${series} go backwards`);
    }
  } else if (family.groups.has(groupKey)) {
    const series = seriesText(family.name, sample.labels);
    failLine(
      line,
      `${series} appears again after other metrics; the samples of a metric must be contiguous`,
    );
  }
  if (point?.groupKey !== groupKey || point.timestamp !== sample.timestamp) {
    if (point !== undefined) finishPoint(family, point);
    point = startPoint(family, sample, groupKey, special);
  }
  const seriesKey = family.type === "info"
    ? labelsKey(sample.labels, undefined)
    : specialValue === undefined
    ? role
    : `${role}\u0000${specialValue}`;
  if (!markSeen(point, seriesKey)) {
    // With timestamps this may be distinct instants truncated alike; the
    // reference parser keeps the first sample then.
    if (sample.timestamp !== undefined) return;
    const series = seriesText(sample.name, sample.labels);
    failLine(line, `duplicate sample ${series}`);
  }
  point.lastLine = line;
  addToPoint(family, point, role, sample, bound, line);
}

/**
 * Checks the labels the role needs (`le`, `quantile`, the state label) and
 * returns `le` or `quantile` as a number (0 for other roles).
 */
function checkLabels(
  family: FamilyState,
  role: Role,
  sample: SampleLine,
  specialValue: string | undefined,
  line: number,
): number {
  const { name, type } = family;
  switch (role) {
    case "bucket": {
      if (specialValue === undefined) {
        failLine(
          line,
          `histogram bucket ${quote(sample.name)} has no "le" label`,
        );
      }
      const le = labelNumber(specialValue, "le", line);
      if (Number.isNaN(le)) failLine(line, '"le" must not be NaN');
      if (le === Infinity && specialValue !== "+Inf") {
        // Canonical numbers (spec "Considerations: Canonical Numbers").
        failLine(
          line,
          `write "le" of the +Inf bucket as "+Inf", not ${quote(specialValue)}`,
        );
      }
      return le;
    }
    case "quantile": {
      if (specialValue === undefined) {
        failLine(
          line,
          `summary sample ${quote(sample.name)} has no "quantile" label`,
        );
      }
      const quantile = labelNumber(specialValue, "quantile", line);
      if (!(quantile >= 0 && quantile <= 1)) {
        failLine(
          line,
          `"quantile" must be between 0 and 1, got ${quote(specialValue)}`,
        );
      }
      return quantile;
    }
    case "value":
      if (type === "stateset" && specialValue === undefined) {
        const [n, f] = [quote(sample.name), quote(name)];
        failLine(
          line,
          `stateset sample ${n} has no label ${f} naming its state`,
        );
      }
      return 0;
    default: {
      const histogram = type === "histogram" || type === "gaugehistogram";
      if (histogram && labelValue(sample.labels, "le") !== undefined) {
        failLine(
          line,
          `"le" is reserved for the buckets of histogram ${quote(name)}`,
        );
      }
      if (
        type === "summary" &&
        labelValue(sample.labels, "quantile") !== undefined
      ) {
        failLine(
          line,
          `"quantile" is reserved for the quantiles of summary ${quote(name)}`,
        );
      }
      return 0;
    }
  }
}

/** Values the spec forbids for the role (client_python checks the same). */
function checkValue(
  family: FamilyState,
  role: Role,
  sample: SampleLine,
  line: number,
): void {
  const { value, valueText } = sample;
  switch (role) {
    case "total":
    case "sum":
    case "count":
    case "gcount":
    case "bucket":
      // Counters "semantically" (spec: Counter, Histogram, Summary).
      if (Number.isNaN(value)) {
        failLine(line, `${quote(sample.name)} must not be NaN`);
      }
      if (value < 0) {
        failLine(
          line,
          `${quote(sample.name)} must not be negative, got ${valueText}`,
        );
      }
      if (
        (role === "count" || role === "gcount" || role === "bucket") &&
        !Number.isInteger(value)
      ) {
        failLine(
          line,
          `${quote(sample.name)} must be an integer, got ${valueText}`,
        );
      }
      return;
    case "gsum":
      if (Number.isNaN(value)) {
        failLine(line, `${quote(sample.name)} must not be NaN`);
      }
      return;
    case "quantile":
      if (value < 0) {
        failLine(
          line,
          `quantile values must not be negative, got ${valueText}`,
        );
      }
      return;
    case "value":
      if (family.type === "stateset" && value !== 0 && value !== 1) {
        failLine(line, `stateset values must be 0 or 1, got ${valueText}`);
      }
      if (family.type === "info" && value !== 1) {
        failLine(line, `info values must be 1, got ${valueText}`);
      }
      return;
    case "created":
      if (!Number.isFinite(value)) {
        failLine(
          line,
          `${
            quote(sample.name)
          } must be a timestamp in seconds, got ${valueText}`,
        );
      }
      return;
    default:
      return unreachable(role);
  }
}

// ---------------------------------------------------------------------------
// Labels

export function labelValue(
  labels: readonly Label[],
  name: string,
): string | undefined {
  for (const label of labels) if (label.name === name) return label.value;
  return undefined;
}

function labelNumber(text: string, name: string, line: number): number {
  const value = toNumber(text);
  if (value === undefined) {
    const [n, t] = [quote(name), quote(text)];
    failLine(line, `expected a number as the value of label ${n}, got ${t}`);
  }
  return value;
}

/**
 * A key for a label set that ignores label order, leaving out `skip`.
 * Length prefixes keep it unambiguous: names and values may hold any
 * character.
 */
function labelsKey(labels: readonly Label[], skip: string | undefined): string {
  let sorted = labels;
  let previous = "";
  for (const { name } of labels) {
    if (name === skip) continue;
    if (name < previous) {
      sorted = labels.toSorted((a, b) => a.name < b.name ? -1 : 1);
      break;
    }
    previous = name;
  }
  let key = "";
  for (const { name, value } of sorted) {
    if (name !== skip) key += `${name.length}:${name}${value.length}:${value}`;
  }
  return key;
}

/**
 * Refuses a metric name over the limit of a label value (token_limits.ts).
 * Names are slices of the body's text, so nothing was copied yet.
 */
export function checkMetricName(name: string, limits: TokenLimits): void {
  const max = limits.maxLabelValueBytes;
  if (name.length * 3 <= max) return;
  const bytes = utf8Length(name);
  if (bytes <= max) return;
  throw new TokenTooLongError({
    reason: "label_value_too_long",
    metric: name.slice(0, 4 * QUOTED_PREFIX_BYTES),
    label: undefined,
    bytes,
    limit: max,
  });
}

/** Refuses a sample's label name or value over its limit. */
export function checkLabelLength(
  limits: TokenLimits,
  metric: string,
  name: string,
  value: string,
): void {
  const { maxLabelNameBytes, maxLabelValueBytes } = limits;
  if (name.length * 3 > maxLabelNameBytes) {
    const bytes = utf8Length(name);
    if (bytes > maxLabelNameBytes) {
      throw new TokenTooLongError({
        reason: "label_name_too_long",
        metric,
        label: name.slice(0, 4 * QUOTED_PREFIX_BYTES),
        bytes,
        limit: maxLabelNameBytes,
      });
    }
  }
  if (value.length * 3 > maxLabelValueBytes) {
    const bytes = utf8Length(value);
    if (bytes > maxLabelValueBytes) {
      throw new TokenTooLongError({
        reason: "label_value_too_long",
        metric,
        label: name,
        bytes,
        limit: maxLabelValueBytes,
      });
    }
  }
}

/** `"name"{a="1",b="2"}` for messages. */
export function seriesText(name: string, labels: readonly Label[]): string {
  if (labels.length === 0) return quote(name);
  const pairs = labels.map((label) => `${label.name}=${quote(label.value)}`);
  return `${quote(name)}{${pairs.join(",")}}`;
}
