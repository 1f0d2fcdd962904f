/**
 * The limits on what one push may carry, each with a clear answer (README
 * "Limits"): series per push (413) and label name and value length in UTF-8
 * bytes (400). Pure functions of the decoded push; the limits that depend
 * on the store (its series limit) are checked in the store's transaction.
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import {
  type TokenLimits,
  type TokenTooLongError,
  utf8Length,
} from "../exposition/token_limits.ts";
import type { GroupingKey } from "./grouping_key.ts";
import { LimitError } from "./push_error.ts";

export { utf8Length };

export interface PushLimits {
  readonly maxSeriesPerPush: number;
  /** UTF-8 bytes. */
  readonly maxLabelNameLength: number;
  /** UTF-8 bytes. */
  readonly maxLabelValueLength: number;
  /** Series in the store, metadata series included; 0 = no limit. */
  readonly maxSeries: number;
  /** Milliseconds to receive a push body; 0 = no limit. */
  readonly readTimeoutMs: number;
}

/** Throws LimitError if the decoded push carries more series than allowed. */
export function checkSeriesPerPush(
  families: readonly MetricFamily[],
  limits: PushLimits,
): void {
  let series = 0;
  for (const family of families) series += family.metrics.length;
  checkSeriesCount(series, limits);
}

/** {@link checkSeriesPerPush} of a push of `series` series in all. */
export function checkSeriesCount(series: number, limits: PushLimits): void {
  if (series > limits.maxSeriesPerPush) {
    throw new LimitError(
      "too_large",
      "too_many_series",
      `push carries ${series} series, more than the limit of ${limits.maxSeriesPerPush} (--push.max-series-per-push); split it into several groups`,
    );
  }
}

/**
 * Throws LimitError for the first label name or value (grouping key
 * included) longer than allowed, naming the metric and label.
 */
export function checkLabelLengths(
  families: readonly MetricFamily[],
  key: GroupingKey,
  limits: PushLimits,
): void {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most strings need no count.
  const nameFast = limits.maxLabelNameLength / 3;
  const valueFast = limits.maxLabelValueLength / 3;
  // `describe` names the metric only when a label is refused: the common
  // case builds no string per label.
  const check = (describe: () => string, name: string, value: string) => {
    if (
      name.length > nameFast && utf8Length(name) > limits.maxLabelNameLength
    ) {
      throw labelNameTooLong(
        name,
        describe(),
        utf8Length(name),
        limits.maxLabelNameLength,
      );
    }
    if (
      value.length > valueFast &&
      utf8Length(value) > limits.maxLabelValueLength
    ) {
      throw labelValueTooLong(
        name,
        describe(),
        utf8Length(value),
        limits.maxLabelValueLength,
      );
    }
  };
  const groupingKey = () => "the grouping key";
  for (const label of key.labels) {
    check(groupingKey, label.name, label.value);
  }
  for (const family of families) {
    const metric = () => `metric ${JSON.stringify(truncate(family.name))}`;
    for (const m of family.metrics) {
      for (const label of m.labels) check(metric, label.name, label.value);
    }
  }
}

function labelNameTooLong(
  name: string,
  where: string,
  bytes: number,
  limit: number,
): LimitError {
  return new LimitError(
    "invalid",
    "label_name_too_long",
    `label name ${
      JSON.stringify(truncate(name))
    } of ${where} is ${bytes} bytes long, more than the limit of ${limit} (--push.max-label-name-length)`,
  );
}

function labelValueTooLong(
  name: string,
  where: string,
  bytes: number,
  limit: number,
): LimitError {
  return new LimitError(
    "invalid",
    "label_value_too_long",
    `value of label ${
      JSON.stringify(truncate(name))
    } of ${where} is ${bytes} bytes long, more than the limit of ${limit} (--push.max-label-value-length)`,
  );
}

/** The limits the parsers apply to each token as they read it. */
export function tokenLimitsOf(limits: PushLimits): TokenLimits {
  return {
    maxLabelNameBytes: limits.maxLabelNameLength,
    maxLabelValueBytes: limits.maxLabelValueLength,
  };
}

/**
 * The answer to a token a parser refused for its length: the same as
 * {@link checkLabelLengths} gives for a label (the parser finds it first),
 * and for a metric name, which is limited as a label value (docs/security.md, "Limits").
 */
export function tokenTooLong(error: TokenTooLongError): LimitError {
  const metric = `metric ${JSON.stringify(truncate(error.metric))}`;
  if (error.label === undefined) {
    return new LimitError(
      "invalid",
      "label_value_too_long",
      `metric name ${
        JSON.stringify(truncate(error.metric))
      } is ${error.bytes} bytes long, more than the limit of ${error.limit} (--push.max-label-value-length)`,
    );
  }
  return error.reason === "label_name_too_long"
    ? labelNameTooLong(error.label, metric, error.bytes, error.limit)
    : labelValueTooLong(error.label, metric, error.bytes, error.limit);
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
