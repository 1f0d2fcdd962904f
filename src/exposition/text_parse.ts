/**
 * Text format 0.0.4 → metric families, accepting and rejecting what Go's
 * `expfmt.TextParser` (prometheus/common `expfmt/text_parse.go`) does as the
 * Pushgateway uses it (docs/compatibility.md, push bodies). Pure; throws the first problem as an
 * {@link ExpositionError} whose line and wording are Go's.
 *
 * It walks the body's bytes with an index, one line at a time, in the order
 * Go's state machine reads them, so that the first error found is Go's first
 * error. It does not detect duplicate series, nor reject timestamps or
 * `__`-prefixed label names: those belong to the push validator (docs/compatibility.md, validation).
 * Given limits, it refuses a name or label value over them, and any number
 * token over MAX_NUMBER_BYTES, before copying it (token_limits.ts): no line
 * costs more than linear time, nor memory out of proportion to it.
 *
 * Two name modes:
 * - legacy (default): names are `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels without
 *   `:`); a quote or a `{` where a name belongs is refused with the wording
 *   of the parser behind the observed Pushgateway 1.5.1 (docs/compatibility.md, push bodies).
 * - `utf8Names` (`--push.enable-utf8-names`): names may be quoted, and a
 *   line may start with `{"name",...}`, as in prometheus/common's newest
 *   parser with `UTF8Validation` (docs/compatibility.md, flags).
 * @module
 */

import { goQuote, goQuoteBytes, goQuoteRune, goToUpper } from "./go_format.ts";
import { parseGoFloat, parseGoInt } from "./float.ts";
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
  cachedAscii,
  checkTokenLength,
  decodeCachedToken,
  decodeLossy,
  decodeToken,
  decodeUtf8,
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
  tooLong,
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
  BACKSLASH,
  type FamilyState,
  type HistogramState,
  NL,
  type ParseState,
  QUOTE,
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
}

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
// State

const HASH = 0x23;
const EQUALS = 0x3d;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Labels of the line being read, and the summary/histogram specials. */
export interface LineLabels {
  readonly pairs: Label[];
  quantile: number;
  bucket: number;
  /** Names of `pairs`, for the duplicate check of lines with many labels. */
  readonly pairNames: NameSet;
  /** Names of the labels before the metric name (UTF-8 mode). */
  readonly earlyNames: NameSet;
}

/**
 * The names of a growing list of labels, looked up in constant time once
 * the list is long: a line of 80k labels must not compare each label with
 * every earlier one (that took 20 s).
 */
export interface NameSet {
  set: Set<string> | undefined;
  /** How many labels of the list are in `set`. */
  count: number;
}

/** Lists shorter than this are scanned: cheaper than a Set for most lines. */
const NAME_SET_MIN = 16;

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
    // `# HELP name` without text sets nothing (docs/compatibility.md, push bodies).
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

function newLineLabels(): LineLabels {
  return {
    pairs: [],
    quantile: NaN,
    bucket: NaN,
    pairNames: { set: undefined, count: 0 },
    earlyNames: { set: undefined, count: 0 },
  };
}

/**
 * Reads `name="value"` with `s.i` on the name's first byte (or, if
 * `nameRead`, on the `=` after it), and leaves `s.i` on the `,` or `}` after
 * it. `early` collects labels met before the family is known.
 */
function readLabel(
  s: ParseState,
  family: FamilyState | undefined,
  labels: LineLabels,
  early: Label[] | undefined,
  nameRead: boolean,
): void {
  const b = s.body;
  if (!nameRead) {
    readLabelName(s, family?.name ?? "");
    if (b[s.i] !== EQUALS) {
      fail(
        s,
        `expected '=' after label name, found ${goQuoteRune(b[s.i] as number)}`,
      );
    }
  }
  const position = 1 + 2 * (labels.pairs.length + (early?.length ?? 0));
  const familyName = family?.name ?? "";
  checkTokenLength(s, familyName, true);
  const name = decodeCachedToken(s, position);
  if (name === undefined) {
    fail(s, `invalid label name ${goQuoteBytes(tokenBytes(s))}`);
  }
  if (name === "__name__") fail(s, `label name "__name__" is reserved`);
  if (early !== undefined) {
    checkDuplicate(s, early, labels.earlyNames, name, "");
  } else if (family !== undefined) {
    addLabelName(s, family, labels, name);
  }
  s.i = skipBlanks(s, s.i + 1);
  const c = b[s.i] as number;
  if (c !== QUOTE) {
    fail(s, `expected '"' at start of label value, found ${goQuoteRune(c)}`);
  }
  const value = readLabelValue(s, position + 1, name, familyName);
  if (early !== undefined) {
    early.push({ name, value });
  } else if (family !== undefined) {
    addLabelValue(s, family, labels, name, value);
  }
  s.i = skipBlanks(s, s.i + 1);
  const end = b[s.i];
  if (end !== COMMA && end !== CLOSE_BRACE) {
    fail(s, `unexpected end of label value ${goQuote(value)}`);
  }
}

/** Reads a label name token and skips blanks after it. */
function readLabelName(s: ParseState, familyName: string): void {
  const b = s.body;
  readName(s, true);
  if (s.tokenEnd === s.tokenStart) {
    fail(s, `invalid label name for metric ${goQuote(familyName)}`);
  }
  if (b[s.i] === SPACE || b[s.i] === TAB) s.i = skipBlanks(s, s.i + 1);
}

/** Go's `quantile`/`le` exclusion and duplicate check, before the value. */
function addLabelName(
  s: ParseState,
  family: FamilyState,
  labels: LineLabels,
  name: string,
): void {
  if (!isSpecialLabel(family, name)) {
    checkDuplicate(s, labels.pairs, labels.pairNames, name, family.name);
  }
}

function addLabelValue(
  s: ParseState,
  family: FamilyState,
  labels: LineLabels,
  name: string,
  value: string,
): void {
  if (!isSpecialLabel(family, name)) {
    labels.pairs.push({ name, value });
    return;
  }
  const parsed = parseGoFloat(value);
  if (parsed === undefined) {
    fail(
      s,
      `expected float as value for '${name}' label, got ${goQuote(value)}`,
    );
  }
  if (family.type === "summary") labels.quantile = parsed;
  else labels.bucket = parsed;
}

function isSpecialLabel(family: FamilyState, name: string): boolean {
  switch (family.type) {
    case "summary":
      return name === "quantile";
    case "histogram":
    case "gaugehistogram":
      return name === "le";
    default:
      return false;
  }
}

function checkDuplicate(
  s: ParseState,
  pairs: readonly Label[],
  names: NameSet,
  name: string,
  familyName: string,
): void {
  let found = false;
  if (pairs.length < NAME_SET_MIN) {
    for (const pair of pairs) found ||= pair.name === name;
  } else {
    const set = names.set ??= new Set();
    while (names.count < pairs.length) {
      set.add((pairs[names.count++] as Label).name);
    }
    found = set.has(name);
  }
  if (found) {
    fail(s, `duplicate label names for metric ${goQuote(familyName)}`);
  }
}

/**
 * Reads a quoted label value, `s.i` on the opening quote; leaves `s.i` on the
 * closing quote. Escapes: `\\`, `\"`, `\n`. Must be valid UTF-8. A value
 * over the limit is refused once its end is found, without copying it.
 */
function readLabelValue(
  s: ParseState,
  position: number,
  labelName: string,
  familyName: string,
): string {
  const b = s.body;
  const n = b.length;
  const max = s.limits.maxLabelValueBytes;
  const start = s.i + 1;
  let i = start;
  let ascii = true;
  for (;;) {
    if (i >= n) fail(s, EOF_DETAIL);
    const c = b[i] as number;
    if (c === QUOTE || c === BACKSLASH || c === NL) break;
    if (c >= 0x80) ascii = false;
    i++;
  }
  if (b[i] === QUOTE) {
    if (i - start > max) {
      tooLong(s, "label_value_too_long", familyName, labelName, i - start);
    }
    s.i = i;
    s.tokenInScratch = false;
    s.tokenStart = start;
    s.tokenEnd = i;
    if (ascii) return cachedAscii(s, position, start, i);
    return decodeValidLabelValue(s, b.subarray(start, i));
  }
  // Slow path: copy the prefix, then unescape; past the limit, only count.
  let length = 0;
  for (let k = start; k < i && length <= max; k++) {
    length = pushScratch(s, length, b[k] as number);
  }
  length += i - start - length;
  for (;;) {
    if (i >= n) fail(s, EOF_DETAIL);
    const c = b[i] as number;
    if (c === QUOTE) break;
    if (c === NL) {
      if (length > max) {
        tooLong(s, "label_value_too_long", familyName, labelName, length);
      }
      fail(
        s,
        `label value ${
          goQuoteBytes(s.scratch.subarray(0, length))
        } contains unescaped new-line`,
      );
    }
    let byte = c;
    if (c === BACKSLASH) {
      i++;
      if (i >= n) fail(s, EOF_DETAIL);
      byte = unescape(s, b[i] as number);
    }
    length = length <= max ? pushScratch(s, length, byte) : length + 1;
    i++;
  }
  if (length > max) {
    tooLong(s, "label_value_too_long", familyName, labelName, length);
  }
  s.i = i;
  return decodeValidLabelValue(s, s.scratch.subarray(0, length));
}

function decodeValidLabelValue(s: ParseState, bytes: Uint8Array): string {
  const value = decodeUtf8(bytes);
  if (value === undefined) {
    fail(s, `invalid label value ${goQuoteBytes(bytes)}`);
  }
  return value;
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
  let i = start;
  while (i < n && !isBlankOrNewline(b[i] as number)) i++;
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
    let tsEnd = tsStart;
    while (tsEnd < n && !isBlankOrNewline(b[tsEnd] as number)) tsEnd++;
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
