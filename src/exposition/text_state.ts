/**
 * The text parser's state: the byte constants, the parse state walked along
 * the body and the families, summaries and histograms it collects. Shared by
 * the tokens, the labels, the families and the line parser; imports none of
 * them.
 * @module
 */

import type { Label, MetricType, Quantile, ScalarMetric } from "./model.ts";
import type { TokenLimits } from "./token_limits.ts";

export const NL = 0x0a;
export const SPACE = 0x20;
export const TAB = 0x09;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const HASH = 0x23;
export const EQUALS = 0x3d;
export const COMMA = 0x2c;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;

/** What a `_count`/`_sum` suffix means for the family it was resolved to. */
export const SUFFIX_NONE = 0;
export const SUFFIX_COUNT = 1;
export const SUFFIX_SUM = 2;
export type Suffix =
  | typeof SUFFIX_NONE
  | typeof SUFFIX_COUNT
  | typeof SUFFIX_SUM;

export interface SummaryState {
  readonly labels: readonly Label[];
  count: number;
  sum: number;
  readonly quantiles: Quantile[];
  timestampMs: number | undefined;
}

export interface BucketState {
  readonly upperBound: number;
  count: number;
  /** Set when the population is not an integer (float histogram). */
  countFloat: number | undefined;
}

export interface HistogramState {
  readonly labels: readonly Label[];
  count: number;
  countFloat: number | undefined;
  sum: number;
  readonly buckets: BucketState[];
  timestampMs: number | undefined;
}

export interface FamilyState {
  readonly name: string;
  help: string | undefined;
  /** Undefined until a TYPE line or the first sample fixes it. */
  type: MetricType | undefined;
  /** The scalar metrics not yet handed to {@link ScalarSlices.take}. */
  scalars: ScalarMetric[];
  /** Scalar metrics already handed to {@link ScalarSlices.take}. */
  taken: number;
  readonly summaries: SummaryState[];
  readonly histograms: HistogramState[];
  /** Summary/histogram metrics by label set (Go: `LabelsToSignature`). */
  bySignature: Map<string, SummaryState | HistogramState> | undefined;
  /** The last summary/histogram line's labels and metric, reused when equal. */
  lastPairs: readonly Label[];
  lastMetric: SummaryState | HistogramState | undefined;
}

/** A decoded byte range remembered to reuse its string on the next line. */
export interface CachedString {
  start: number;
  end: number;
  value: string;
}

/**
 * Where a parse hands a scalar family's metrics a slice at a time, before
 * the body's end, instead of keeping them all (a million series decoded
 * took 285 MB at once). A family's metrics come in body order; its HELP may
 * still follow (it is the parse result's). Summaries and histograms are
 * kept whole: a later line may add to any of them.
 */
export interface ScalarSlices {
  /** Metrics per slice. */
  readonly size: number;
  /** Takes the family's next `metrics`; the parse keeps none of them. */
  readonly take: (
    family: { readonly name: string; readonly type: MetricType },
    metrics: ScalarMetric[],
  ) => void;
}

export interface ParseState {
  readonly body: Uint8Array;
  readonly slices: ScalarSlices | undefined;
  readonly utf8Names: boolean;
  readonly limits: TokenLimits;
  /** Index of Go's `currentByte`: the byte being looked at. */
  i: number;
  /** 1-based number of the line being read, as Go's `lineCount`. */
  line: number;
  /** In creation order, which is the order returned. */
  readonly families: Map<string, FamilyState>;
  /** Holds a token that had quotes or escapes removed. */
  scratch: Uint8Array;
  /** The last token read: `scratch[0, tokenEnd)` or `body[tokenStart, tokenEnd)`. */
  tokenInScratch: boolean;
  tokenStart: number;
  tokenEnd: number;
  /** Set by `familyFor` (text_families.ts): the name had a summary/histogram suffix. */
  suffix: Suffix;
  /** The previous sample line's metric name and what it resolved to. */
  lastName: string;
  lastFamily: FamilyState | undefined;
  lastSuffix: Suffix;
  /**
   * Strings of the previous lines by token position (0: metric name, then
   * label name and value pairs), reused when the bytes are equal.
   */
  readonly cache: CachedString[];
}
