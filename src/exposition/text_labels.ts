/**
 * The labels of a text format sample line: names, quoted values with their
 * escapes and limits, the duplicate check, and the `quantile`/`le` labels a
 * summary or histogram gives a meaning to.
 * @module
 */

import { goQuote, goQuoteBytes, goQuoteRune } from "./go_format.ts";
import { parseGoFloat } from "./float.ts";
import type { Label } from "./model.ts";
import {
  cachedAscii,
  checkTokenLength,
  decodeCachedToken,
  decodeUtf8,
  EOF_DETAIL,
  fail,
  pushScratch,
  readName,
  skipBlanks,
  tokenBytes,
  tooLong,
  unescape,
} from "./text_tokens.ts";
import {
  BACKSLASH,
  CLOSE_BRACE,
  COMMA,
  EQUALS,
  type FamilyState,
  NL,
  type ParseState,
  QUOTE,
  SPACE,
  TAB,
} from "./text_state.ts";

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

export function newLineLabels(): LineLabels {
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
export function readLabel(
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
export function readLabelName(s: ParseState, familyName: string): void {
  const b = s.body;
  readName(s, true);
  if (s.tokenEnd === s.tokenStart) {
    fail(s, `invalid label name for metric ${goQuote(familyName)}`);
  }
  if (b[s.i] === SPACE || b[s.i] === TAB) s.i = skipBlanks(s, s.i + 1);
}

/** Go's `quantile`/`le` exclusion and duplicate check, before the value. */
export function addLabelName(
  s: ParseState,
  family: FamilyState,
  labels: LineLabels,
  name: string,
): void {
  if (!isSpecialLabel(family, name)) {
    checkDuplicate(s, labels.pairs, labels.pairNames, name, family.name);
  }
}

export function addLabelValue(
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
