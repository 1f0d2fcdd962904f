/**
 * OpenMetrics sample lines given their meaning: the role of a sample in its
 * family, the labels and values that role allows, and where the sample goes
 * (a new family, a new MetricPoint, or the current one).
 * @module
 */

import type { Label } from "./model.ts";
import { unreachable } from "./model.ts";
import { type SampleLine, toNumber } from "./openmetrics_lex.ts";
import {
  addToPoint,
  finishFamily,
  finishPoint,
  markSeen,
  sameGroup,
  startPoint,
} from "./openmetrics_points.ts";
import {
  type Context,
  failLine,
  type FamilyState,
  labelValue,
  quote,
  type Role,
  ROLES,
  seriesText,
  startFamily,
} from "./openmetrics_state.ts";

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

export function addSample(
  ctx: Context,
  sample: SampleLine,
  line: number,
): void {
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

  // MetricPoint boundaries and order (OpenMetrics 1.0, "Metric", "MetricPoint").
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
        // Canonical numbers (OpenMetrics 1.0, "Considerations: Canonical
        // Numbers").
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

/**
 * Values OpenMetrics 1.0 forbids for the role (client_python checks the
 * same).
 */
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
      // Counters "semantically" (OpenMetrics 1.0: Counter, Histogram, Summary).
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
