/**
 * Pure checks and rewriting of one push before it meets the store
 * (docs/compatibility.md, Validation): timestamps refused, grouping labels
 * override body labels, `instance=""` added, labels sorted, label names
 * checked, the gateway's own metadata families dropped (they are always the
 * gateway's values).
 *
 * Knows nothing of other groups: cross-group rules live in consistency.ts.
 * @module
 */

import { LABEL_NAME_RE } from "../exposition/model.ts";
import type { Label, Metric, MetricFamily } from "../exposition/model.ts";
import type { GroupingKey } from "./grouping_key.ts";

/**
 * Families every group has, whose values only the gateway sets
 * (docs/compatibility.md, Metadata metrics).
 */
export const PUSH_TIME = "push_time_seconds";
export const PUSH_FAILURE_TIME = "push_failure_time_seconds";

/** The problem of a push with timestamps, first of its problems. */
export const TIMESTAMPS_PROBLEM = "pushed metrics must not have timestamps";

export interface SanitizedPush {
  /** Labels of every metric sorted by name, grouping labels applied. */
  readonly families: readonly MetricFamily[];
  /** Problems that refuse the whole push, in the Pushgateway's wording. */
  readonly problems: readonly string[];
  readonly seriesCount: number;
}

export interface SanitizeOptions {
  readonly utf8Names?: boolean;
}

/** Applies the push's validation rules to decoded families. Pure; never throws. */
export function sanitizePush(
  families: readonly MetricFamily[],
  key: GroupingKey,
  options: SanitizeOptions = {},
): SanitizedPush {
  const problems: string[] = [];
  let timestamps = false;
  let seriesCount = 0;
  const out: MetricFamily[] = [];
  for (const family of families) {
    if (family.name === PUSH_TIME || family.name === PUSH_FAILURE_TIME) {
      continue; // always overridden by the gateway's own value
    }
    const metrics: Metric[] = [];
    for (const metric of family.metrics) {
      if (metric.timestampMs !== undefined) timestamps = true;
      const labels = applyGroupingLabels(metric.labels, key);
      checkLabels(family, labels, problems, options);
      metrics.push({ ...metric, labels });
    }
    seriesCount += metrics.length;
    out.push({ ...family, metrics } as MetricFamily);
  }
  if (timestamps) problems.unshift(TIMESTAMPS_PROBLEM);
  return { families: out, problems, seriesCount };
}

/**
 * Each grouping label replaces or joins the body's labels, then
 * `instance=""` is added when absent, then labels are sorted by name.
 */
export function applyGroupingLabels(
  labels: readonly Label[],
  key: GroupingKey,
): Label[] {
  const out: Label[] = [];
  let hasInstance = false;
  // A long grouping key is looked up in a Set: a push of many labels under
  // a key of many labels must not compare every pair.
  const keyNames = key.labels.length > KEY_SCAN_MAX
    ? new Set(key.labels.map((k) => k.name))
    : undefined;
  for (const label of labels) {
    if (
      keyNames === undefined
        ? key.labels.some((k) => k.name === label.name)
        : keyNames.has(label.name)
    ) continue;
    if (label.name === "instance") hasInstance = true;
    out.push(label);
  }
  for (const k of key.labels) {
    if (k.name === "instance") hasInstance = true;
    out.push(k);
  }
  if (!hasInstance) out.push({ name: "instance", value: "" });
  return out.sort(byName);
}

/** Grouping keys with at most this many labels are scanned. */
const KEY_SCAN_MAX = 8;

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Renders a series for messages: `name{a="1",b="2"}`. */
export function describeSeries(name: string, labels: readonly Label[]): string {
  return `${name}{${
    labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(",")
  }}`;
}

/**
 * A legal legacy label name (not `__`-reserved). Names repeat on every
 * series of a push, so legal ones are remembered (up to a bound).
 */
function isLegalLabelName(name: string): boolean {
  if (LEGAL_NAMES.has(name)) return true;
  if (!LABEL_NAME_RE.test(name) || name.startsWith("__")) return false;
  if (LEGAL_NAMES.size >= LEGAL_NAMES_MAX) LEGAL_NAMES.clear();
  LEGAL_NAMES.add(name);
  return true;
}
const LEGAL_NAMES = new Set<string>();
const LEGAL_NAMES_MAX = 10_000;

function checkLabels(
  family: MetricFamily,
  labels: readonly Label[],
  problems: string[],
  options: SanitizeOptions,
): void {
  // Built only when there is a problem: this loop runs for every label pushed.
  // Only a metric's first problem is reported, as client_golang's
  // checkMetricConsistency does: each names the whole series, so reporting
  // every bad label of a series of 80k labels would take 80k times its size.
  const where = () =>
    `collected metric ${JSON.stringify(family.name)} ${
      describeSeries("", labels)
    }`;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as Label;
    const legal = options.utf8Names
      ? label.name !== "" && !label.name.startsWith("__")
      : isLegalLabelName(label.name);
    if (!legal) {
      problems.push(
        `${where()} has a label with an invalid name: ${label.name}`,
      );
      return;
    }
    if (i > 0 && labels[i - 1]?.name === label.name) {
      problems.push(
        `${where()} has two or more labels with the same name: ${label.name}`,
      );
      return;
    }
    if (family.type === "summary" && label.name === "quantile") {
      problems.push(`${where()} must not have an explicit "quantile" label`);
      return;
    }
    if (
      (family.type === "histogram" || family.type === "gaugehistogram") &&
      label.name === "le"
    ) {
      problems.push(`${where()} must not have an explicit "le" label`);
      return;
    }
  }
}
