/**
 * Text format 0.0.4 → metric families, accepting and rejecting what Go's
 * `expfmt.TextParser` (prometheus/common `expfmt/text_parse.go`) does as the
 * Pushgateway uses it (docs/compatibility.md, The text format). Pure; throws
 * the first problem as an {@link ExpositionError} whose line and wording are
 * Go's.
 *
 * It walks the body's bytes with an index, one line at a time, in the order
 * Go's state machine reads them, so that the first error found is Go's first
 * error. It does not detect duplicate series, nor reject timestamps or
 * `__`-prefixed label names: those belong to the push validator
 * (docs/compatibility.md, Validation; The consistency check). Given limits, it
 * refuses a name or label value over them, and any number token over
 * MAX_NUMBER_BYTES, before copying it (token_limits.ts): no line costs more
 * than linear time, nor memory out of proportion to it.
 *
 * Two name modes:
 * - legacy (default): names are `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels without
 *   `:`); a quote or a `{` where a name belongs is refused with the wording of
 *   the parser behind the observed Pushgateway 1.5.1 (docs/compatibility.md,
 *   The text format).
 * - `utf8Names` (`--push.enable-utf8-names`): names may be quoted, and a
 *   line may start with `{"name",...}`, as in prometheus/common's newest
 *   parser with `UTF8Validation` (docs/compatibility.md, UTF-8 names).
 * @module
 */

import { goQuote, goQuoteBytes, goQuoteRune, goToUpper } from "./go_format.ts";
import { parseGoInt } from "./float.ts";
import {
  MAX_NUMBER_BYTES,
  NO_TOKEN_LIMITS,
  type TokenLimits,
} from "./token_limits.ts";
import {
  type Label,
  type MetricFamily,
  type MetricType,
  TYPE_BY_PROTO_NAME,
} from "./model.ts";
import {
  asciiOrEmpty,
  blankOrNewlineFrom,
  checkTokenLength,
  decodeCachedToken,
  decodeLossy,
  decodeToken,
  EOF_DETAIL,
  fail,
  goQuoteLong,
  goUint64,
  isBlankOrNewline,
  isUint64,
  matches,
  parseValueToken,
  pushScratch,
  readName,
  skipBlanks,
  tokenBytes,
  tooLongNumber,
  unescape,
  withoutBackslashes,
} from "./text_tokens.ts";
import {
  familyFor,
  finishFamilies,
  histogramFor,
  summaryFor,
} from "./text_families.ts";
import {
  addLabelName,
  addLabelValue,
  type LineLabels,
  newLineLabels,
  readLabel,
  readLabelName,
} from "./text_labels.ts";
import {
  BACKSLASH,
  CLOSE_BRACE,
  COMMA,
  EQUALS,
  type FamilyState,
  HASH,
  type HistogramState,
  NL,
  OPEN_BRACE,
  type ParseState,
  type ScalarSlices,
  SPACE,
  SUFFIX_COUNT,
  SUFFIX_NONE,
  SUFFIX_SUM,
  type SummaryState,
  TAB,
} from "./text_state.ts";

/** How names are read. */
export interface TextParseOptions {
  /** Accept quoted UTF-8 metric and label names (`--push.enable-utf8-names`). */
  readonly utf8Names?: boolean;
  /** Names and label values refused as soon as they are longer. */
  readonly limits?: TokenLimits;
  /**
   * Hands scalar families' metrics over a slice at a time as they are
   * parsed: the result then holds only those not handed over.
   */
  readonly slices?: ScalarSlices;
}

export type { ScalarSlices };

/**
 * Parses a text format 0.0.4 body into its metric families, in the order
 * their names first appear. Families without samples are dropped; families
 * without a TYPE line are `untyped`.
 *
 * @throws {ExpositionError} for the first syntax error, with Go's line and message.
 */
export function parseText(
  body: Uint8Array,
  options: TextParseOptions = {},
): MetricFamily[] {
  const state: ParseState = {
    body,
    slices: options.slices,
    utf8Names: options.utf8Names === true,
    limits: options.limits ?? NO_TOKEN_LIMITS,
    i: 0,
    line: 0,
    families: new Map(),
    scratch: new Uint8Array(64),
    tokenInScratch: false,
    tokenStart: 0,
    tokenEnd: 0,
    suffix: SUFFIX_NONE,
    lastName: "",
    lastFamily: undefined,
    lastSuffix: SUFFIX_NONE,
    cache: [],
  };
  parseLines(state);
  return finishFamilies(state.families);
}

// ---------------------------------------------------------------------------
// Lines

function parseLines(s: ParseState): void {
  const b = s.body;
  const n = b.length;
  for (;;) {
    s.line++;
    let i = s.i;
    while (i < n && (b[i] === SPACE || b[i] === TAB)) i++;
    if (i >= n) return; // The only place where the end of input is fine.
    s.i = i;
    const c = b[i];
    if (c === NL) {
      s.i = i + 1;
    } else if (c === HASH) {
      parseComment(s);
    } else if (c === OPEN_BRACE && s.utf8Names) {
      parseBracedSample(s);
    } else {
      parseSample(s);
    }
  }
}

/** `#` comment: HELP and TYPE lines; anything else is ignored. */
function parseComment(s: ParseState): void {
  const b = s.body;
  const n = b.length;
  let i = skipBlanks(s, s.i + 1);
  if (b[i] === NL) {
    s.i = i + 1;
    return;
  }
  const keywordStart = i;
  while (i < n && !isBlankOrNewline(b[i] as number)) i++;
  if (i >= n) fail(s, EOF_DETAIL);
  if (b[i] === NL) {
    s.i = i + 1;
    return;
  }
  const isHelp = matches(b, keywordStart, i, "HELP");
  if (!isHelp && !matches(b, keywordStart, i, "TYPE")) {
    const end = b.indexOf(NL, i);
    if (end < 0) fail(s, EOF_DETAIL);
    s.i = end + 1;
    return;
  }
  s.i = skipBlanks(s, i + 1);
  readName(s, false);
  const next = b[s.i];
  if (next === NL) {
    // `# HELP name` without text sets nothing (docs/compatibility.md, The text
    // format).
    s.i++;
    return;
  }
  if (next !== SPACE && next !== TAB) fail(s, "invalid metric name in comment");
  const family = familyFor(s, metricNameOfToken(s, -1));
  s.i = skipBlanks(s, s.i + 1);
  if (b[s.i] === NL) {
    s.i++;
    return;
  }
  if (isHelp) readHelp(s, family);
  else readType(s, family);
}

function readHelp(s: ParseState, family: FamilyState): void {
  if (family.help !== undefined) {
    fail(s, `second HELP line for metric name ${goQuote(family.name)}`);
  }
  const b = s.body;
  const n = b.length;
  const start = s.i;
  let i = start;
  while (i < n && b[i] !== NL && b[i] !== BACKSLASH) i++;
  if (i >= n) fail(s, EOF_DETAIL);
  if (b[i] === NL) {
    family.help = decodeLossy(b.subarray(start, i));
    s.i = i + 1;
    return;
  }
  // Escapes: `\\`, `\n` and (newest expfmt) `\"`; anything else is an error.
  let length = 0;
  i = start;
  for (;;) {
    if (i >= n) fail(s, EOF_DETAIL);
    const c = b[i] as number;
    if (c === NL) break;
    if (c === BACKSLASH) {
      i++;
      if (i >= n) fail(s, EOF_DETAIL);
      length = pushScratch(s, length, unescape(s, b[i] as number));
    } else {
      length = pushScratch(s, length, c);
    }
    i++;
  }
  family.help = decodeLossy(s.scratch.subarray(0, length));
  s.i = i + 1;
}

function readType(s: ParseState, family: FamilyState): void {
  if (family.type !== undefined) {
    fail(
      s,
      `second TYPE line for metric name ${
        goQuote(family.name)
      }, or TYPE reported after samples`,
    );
  }
  const b = s.body;
  const end = b.indexOf(NL, s.i);
  if (end < 0) fail(s, EOF_DETAIL);
  // The rest of the line, trailing blanks included, is the type.
  if (end - s.i > MAX_NUMBER_BYTES) {
    fail(s, `unknown metric type ${goQuoteLong(b.subarray(s.i, end))}`);
  }
  const token = withoutBackslashes(b.subarray(s.i, end));
  const type = TYPE_BY_UPPER_NAME[goToUpper(token)];
  if (type === undefined) {
    fail(s, `unknown metric type ${goQuoteBytes(token)}`);
  }
  family.type = type;
  s.i = end + 1;
}

/** Go's `dto.MetricType_value`, plus OpenMetrics' `gaugehistogram`. */
const TYPE_BY_UPPER_NAME: Readonly<Record<string, MetricType>> = {
  ...TYPE_BY_PROTO_NAME,
  GAUGEHISTOGRAM: "gaugehistogram",
};

/** `name{labels} value [timestamp]`, name first. */
function parseSample(s: ParseState): void {
  const b = s.body;
  readName(s, false);
  if (s.tokenEnd === s.tokenStart) fail(s, "invalid metric name");
  const name = metricNameOfToken(s, 0);
  let family = s.lastFamily;
  // A name resolves to the same family all along a body (the families it
  // could resolve to never change type), so consecutive lines reuse it.
  if (family !== undefined && name === s.lastName) {
    s.suffix = s.lastSuffix;
  } else {
    family = familyFor(s, name);
    s.lastName = name;
    s.lastFamily = family;
    s.lastSuffix = s.suffix;
  }
  family.type ??= "untyped";
  if (b[s.i] === SPACE || b[s.i] === TAB) s.i = skipBlanks(s, s.i + 1);
  const labels = newLineLabels();
  if (b[s.i] === OPEN_BRACE) {
    for (;;) {
      s.i = skipBlanks(s, s.i + 1);
      if (b[s.i] === CLOSE_BRACE) break;
      readLabel(s, family, labels, undefined, false);
      if (b[s.i] === CLOSE_BRACE) break;
    }
    s.i = skipBlanks(s, s.i + 1);
  }
  readValue(s, family, labels);
}

/**
 * `{"name",labels} value [timestamp]` (UTF-8 mode). The name may come
 * anywhere in the braces; labels before it are kept and given their
 * summary/histogram meaning once the family is known.
 */
function parseBracedSample(s: ParseState): void {
  const b = s.body;
  const labels = newLineLabels();
  const early: Label[] = [];
  let family: FamilyState | undefined;
  for (;;) {
    s.i = skipBlanks(s, s.i + 1);
    if (b[s.i] === CLOSE_BRACE) break;
    readLabelName(s, family?.name ?? "");
    if (b[s.i] === EQUALS) {
      if (family === undefined) {
        // Go checks a label before any name as a plain label of no family.
        readLabel(s, undefined, labels, early, true);
      } else {
        readLabel(s, family, labels, undefined, true);
      }
      if (b[s.i] === CLOSE_BRACE) break;
      continue;
    }
    // A name without `=` is the metric name.
    if (family !== undefined) {
      fail(s, `multiple metric names for metric ${goQuote(family.name)}`);
    }
    const c = b[s.i] as number;
    if (c !== COMMA && c !== CLOSE_BRACE) {
      fail(s, `unexpected end of metric name ${goQuoteRune(c)}`);
    }
    family = familyFor(s, metricNameOfToken(s, -1));
    family.type ??= "untyped";
    for (const label of early) {
      addLabelName(s, family, labels, label.name);
      addLabelValue(s, family, labels, label.name, label.value);
    }
    if (c === CLOSE_BRACE) break;
  }
  // Go reuses the previous line's metric when the braces hold no name (a
  // bug); we refuse as Go does on a body's first line.
  if (family === undefined) fail(s, "invalid metric name");
  s.i = skipBlanks(s, s.i + 1);
  readValue(s, family, labels);
}

/** The value, an optional timestamp, and the end of the line. */
function readValue(
  s: ParseState,
  family: FamilyState,
  labels: LineLabels,
): void {
  const b = s.body;
  const n = b.length;
  // Go finds (or creates) the summary/histogram before reading the value.
  let summary: SummaryState | undefined;
  let histogram: HistogramState | undefined;
  const type = family.type;
  if (type === "summary") {
    summary = summaryFor(family, labels.pairs);
  } else if (type === "histogram" || type === "gaugehistogram") {
    histogram = histogramFor(family, labels.pairs);
  }
  const start = s.i;
  const i = blankOrNewlineFrom(b, start);
  if (i >= n) fail(s, EOF_DETAIL);
  if (i - start > MAX_NUMBER_BYTES) {
    fail(s, `expected float as value, got ${tooLongNumber(b, start, i)}`);
  }
  const value = parseValueToken(b, start, i);
  if (value === undefined) {
    fail(
      s,
      `expected float as value, got ${goQuoteBytes(b.subarray(start, i))}`,
    );
  }
  if (summary !== undefined) {
    if (s.suffix === SUFFIX_COUNT) summary.count = goUint64(value);
    else if (s.suffix === SUFFIX_SUM) summary.sum = value;
    else if (!Number.isNaN(labels.quantile)) {
      summary.quantiles.push({ quantile: labels.quantile, value });
    }
  } else if (histogram !== undefined) {
    if (s.suffix === SUFFIX_COUNT) {
      if (isUint64(value)) histogram.count = value + 0; // -0 → 0
      else if (value < 0) {
        fail(s, `negative count for histogram ${goQuote(family.name)}`);
      } else histogram.countFloat = value;
    } else if (s.suffix === SUFFIX_SUM) {
      histogram.sum = value;
    } else if (!Number.isNaN(labels.bucket)) {
      if (isUint64(value)) {
        histogram.buckets.push({
          upperBound: labels.bucket,
          count: value + 0,
          countFloat: undefined,
        });
      } else if (value < 0) {
        fail(
          s,
          `negative bucket population for histogram ${goQuote(family.name)}`,
        );
      } else {
        histogram.buckets.push({
          upperBound: labels.bucket,
          count: 0,
          countFloat: value,
        });
      }
    }
  }
  let timestampMs: number | undefined;
  if (b[i] === NL) {
    s.i = i + 1;
  } else {
    const tsStart = skipBlanks(s, i + 1);
    const tsEnd = blankOrNewlineFrom(b, tsStart);
    if (tsEnd >= n) fail(s, EOF_DETAIL);
    if (tsEnd - tsStart > MAX_NUMBER_BYTES) {
      fail(
        s,
        `expected integer as timestamp, got ${
          tooLongNumber(b, tsStart, tsEnd)
        }`,
      );
    }
    timestampMs = parseGoInt(asciiOrEmpty(b, tsStart, tsEnd));
    if (timestampMs === undefined) {
      fail(
        s,
        `expected integer as timestamp, got ${
          goQuoteBytes(b.subarray(tsStart, tsEnd))
        }`,
      );
    }
    const end = b.indexOf(NL, tsEnd);
    if (end < 0) fail(s, EOF_DETAIL);
    if (end > tsEnd) {
      const rest = withoutBackslashes(b.subarray(tsEnd, end));
      fail(s, `spurious string after timestamp: ${goQuoteLong(rest)}`);
    }
    s.i = end + 1;
    if (summary !== undefined) summary.timestampMs = timestampMs;
    if (histogram !== undefined) histogram.timestampMs = timestampMs;
  }
  if (summary === undefined && histogram === undefined) {
    family.scalars.push(
      timestampMs === undefined
        ? { labels: labels.pairs, value }
        : { labels: labels.pairs, value, timestampMs },
    );
    const slices = s.slices;
    if (slices !== undefined && family.scalars.length >= slices.size) {
      const metrics = family.scalars;
      family.scalars = [];
      family.taken += metrics.length;
      slices.take(family as { name: string; type: MetricType }, metrics);
    }
  }
}

/** The metric name in the token, validated as Go's scheme does. */
function metricNameOfToken(s: ParseState, position: number): string {
  checkTokenLength(s, "", false);
  const name = position < 0 ? decodeToken(s) : decodeCachedToken(s, position);
  // Legacy tokens are valid by construction; quoted ones need checking.
  if (name === undefined || name === "") {
    fail(s, `invalid metric name ${goQuoteBytes(tokenBytes(s))}`);
  }
  return name;
}
