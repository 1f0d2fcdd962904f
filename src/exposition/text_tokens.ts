/**
 * The tokens of the text format: names (bare or quoted), label values,
 * escapes, numbers and UTF-8, each read from the body at the parse state's
 * position, and the errors they fail with.
 * @module
 */

import { goQuoteBytes } from "./go_format.ts";
import { parseGoFloat } from "./float.ts";
import {
  MAX_NUMBER_BYTES,
  QUOTED_PREFIX_BYTES,
  TokenTooLongError,
  type TokenTooLongReason,
} from "./token_limits.ts";
import { ExpositionError } from "./model.ts";

import {
  BACKSLASH,
  NL,
  type ParseState,
  QUOTE,
  SPACE,
  TAB,
} from "./text_state.ts";

// ---------------------------------------------------------------------------
// Tokens

export const EOF_DETAIL = "unexpected end of input stream";

export function fail(s: ParseState, detail: string): never {
  throw new ExpositionError(s.line, detail);
}

/** Refuses a token over its limit (token_limits.ts); `label` unset: a metric name. */
export function tooLong(
  s: ParseState,
  reason: TokenTooLongReason,
  metric: string,
  label: string | undefined,
  bytes: number,
): never {
  throw new TokenTooLongError({
    reason,
    metric,
    label,
    bytes,
    limit: reason === "label_name_too_long"
      ? s.limits.maxLabelNameBytes
      : s.limits.maxLabelValueBytes,
  });
}

/**
 * Refuses the name token just read if it is over its limit: a label name
 * (`label`) or a metric name (limited as a label value, token_limits.ts).
 */
export function checkTokenLength(
  s: ParseState,
  metric: string,
  label: boolean,
): void {
  const bytes = s.tokenEnd - s.tokenStart;
  const max = label ? s.limits.maxLabelNameBytes : s.limits.maxLabelValueBytes;
  if (bytes <= max) return;
  const prefix = decodeLossy(
    tokenBytes(s).subarray(0, 4 * QUOTED_PREFIX_BYTES),
  );
  if (label) tooLong(s, "label_name_too_long", metric, prefix, bytes);
  tooLong(s, "label_value_too_long", prefix, undefined, bytes);
}

/**
 * Go's `%q` of a token, cut after {@link MAX_NUMBER_BYTES} bytes for a token
 * with no length limit of its own (the rest of a line), so that an error
 * message never carries a whole body.
 */
export function goQuoteLong(bytes: Uint8Array): string {
  if (bytes.length <= MAX_NUMBER_BYTES) return goQuoteBytes(bytes);
  return `${
    goQuoteBytes(bytes.subarray(0, QUOTED_PREFIX_BYTES))
  }… (${bytes.length} bytes)`;
}

export function isBlankOrNewline(c: number): boolean {
  return c === SPACE || c === TAB || c === NL;
}

/**
 * The end of the blank-free token from `start`: its first blank or newline,
 * or the end of `b`. Byte by byte up to one byte more than any number; a
 * longer token's end is found by the engine's byte search (a 58 MB number
 * took 230 ms byte by byte, to be refused with its length).
 */
export function blankOrNewlineFrom(b: Uint8Array, start: number): number {
  const n = b.length;
  const quick = Math.min(n, start + MAX_NUMBER_BYTES + 1);
  let i = start;
  while (i < quick && !isBlankOrNewline(b[i] as number)) i++;
  if (i < quick || i === n) return i;
  const newline = b.indexOf(NL, i);
  let end = newline < 0 ? n : newline;
  for (const blank of [SPACE, TAB]) {
    const at = b.subarray(i, end).indexOf(blank);
    if (at >= 0) end = i + at;
  }
  return end;
}

/** Go's `skipBlankTab` from index `i`: the first non-blank, or end of input. */
export function skipBlanks(s: ParseState, i: number): number {
  const b = s.body;
  const n = b.length;
  while (i < n && (b[i] === SPACE || b[i] === TAB)) i++;
  if (i >= n) fail(s, EOF_DETAIL);
  return i;
}

export function matches(
  b: Uint8Array,
  start: number,
  end: number,
  ascii: string,
): boolean {
  if (end - start !== ascii.length) return false;
  for (let k = 0; k < ascii.length; k++) {
    if (b[start + k] !== ascii.charCodeAt(k)) return false;
  }
  return true;
}

export function isLetterOrUnderscore(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

export function isNameByte(c: number, label: boolean): boolean {
  return isLetterOrUnderscore(c) || (c >= 0x30 && c <= 0x39) ||
    (!label && c === 0x3a);
}

/**
 * Go's `readTokenAsMetricName`/`readTokenAsLabelName` from `s.i`: sets the
 * token and leaves `s.i` on the first byte after the name. An empty token
 * means the byte at `s.i` cannot start a name.
 */
export function readName(s: ParseState, label: boolean): void {
  const b = s.body;
  const n = b.length;
  const start = s.i;
  const first = b[start] as number;
  s.tokenInScratch = false;
  s.tokenStart = start;
  if (!isLetterOrUnderscore(first) && (label || first !== 0x3a)) {
    if (first === QUOTE && s.utf8Names) {
      readQuotedName(s, label);
      return;
    }
    s.tokenEnd = start;
    return;
  }
  let i = start + 1;
  while (i < n && isNameByte(b[i] as number, label)) i++;
  if (i >= n) fail(s, EOF_DETAIL);
  if (b[i] === QUOTE && s.utf8Names) {
    readQuotedName(s, label);
    return;
  }
  s.tokenEnd = i;
  s.i = i;
}

/**
 * The UTF-8 mode name loop: a `"` toggles quoting (so `a"b.c"` reads
 * `ab.c`); inside quotes any byte but a newline is taken, with `\\`, `\n`,
 * `\"` escapes; the closing quote ends the name.
 */
export function readQuotedName(s: ParseState, label: boolean): void {
  const b = s.body;
  const n = b.length;
  let i = s.i;
  let length = 0;
  let quoted = false;
  let escaped = false;
  // Past what any name may be, bytes are only counted (token_limits.ts).
  const cap = Math.max(
    s.limits.maxLabelNameBytes,
    s.limits.maxLabelValueBytes,
  );
  s.tokenInScratch = true;
  s.tokenStart = 0;
  for (;;) {
    const c = b[i] as number;
    if (escaped) {
      const unescaped = c === BACKSLASH || c === QUOTE
        ? c
        : c === 0x6e
        ? NL
        : -1;
      if (unescaped < 0) fail(s, invalidEscape(c));
      length = length < cap ? pushScratch(s, length, unescaped) : length + 1;
      escaped = false;
    } else if (c === QUOTE) {
      quoted = !quoted;
      if (!quoted) {
        i++;
        if (i >= n) fail(s, EOF_DETAIL);
        break;
      }
    } else if (c === NL) {
      fail(
        s,
        `${label ? "label" : "metric"} name ${
          goQuoteLong(s.scratch.subarray(0, Math.min(length, cap)))
        } contains unescaped new-line`,
      );
    } else if (c === BACKSLASH) {
      escaped = true;
    } else {
      length = length < cap ? pushScratch(s, length, c) : length + 1;
    }
    i++;
    if (i >= n) fail(s, EOF_DETAIL);
    if (!quoted && !isNameByte(b[i] as number, label) && b[i] !== QUOTE) break;
  }
  s.tokenEnd = length;
  s.i = i;
}

export function pushScratch(
  s: ParseState,
  length: number,
  byte: number,
): number {
  if (length === s.scratch.length) {
    const grown = new Uint8Array(s.scratch.length * 2);
    grown.set(s.scratch);
    s.scratch = grown;
  }
  s.scratch[length] = byte;
  return length + 1;
}

/**
 * Go's `readTokenUntilNewline(false)` drops every backslash (it marks an
 * escape that it then does not interpret), e.g. `# TYPE m gau\ge` is a gauge.
 */
export function withoutBackslashes(bytes: Uint8Array): Uint8Array {
  return bytes.includes(BACKSLASH)
    ? bytes.filter((c) => c !== BACKSLASH)
    : bytes;
}

export function tokenBytes(s: ParseState): Uint8Array {
  return s.tokenInScratch
    ? s.scratch.subarray(0, s.tokenEnd)
    : s.body.subarray(s.tokenStart, s.tokenEnd);
}

/** The token as a string, or undefined if it is not valid UTF-8. */
export function decodeToken(s: ParseState): string | undefined {
  return decodeUtf8(tokenBytes(s));
}

/**
 * Like {@link decodeToken}, but reuses the string decoded at the same token
 * position on an earlier line when the bytes are equal: names and many
 * label values repeat from line to line.
 */
export function decodeCachedToken(
  s: ParseState,
  position: number,
): string | undefined {
  if (s.tokenInScratch) return decodeToken(s);
  return cachedAscii(s, position, s.tokenStart, s.tokenEnd);
}

/** Decodes an ASCII range of the body, reusing the string cached at `position`. */
export function cachedAscii(
  s: ParseState,
  position: number,
  start: number,
  end: number,
): string {
  const b = s.body;
  const cached = s.cache[position];
  if (cached === undefined) {
    const value = asciiString(b, start, end);
    s.cache[position] = { start, end, value };
    return value;
  }
  if (cached.end - cached.start === end - start) {
    const offset = cached.start - start;
    let k = start;
    while (k < end && b[k] === b[k + offset]) k++;
    if (k === end) {
      cached.start = start;
      cached.end = end;
      return cached.value;
    }
  }
  const value = asciiString(b, start, end);
  cached.start = start;
  cached.end = end;
  cached.value = value;
  return value;
}

/**
 * A flat string of ASCII bytes, never a slice that would keep the whole body
 * alive. Measured per call on ~20 bytes: concatenation ~0.2 µs, `apply`
 * ~0.27 µs, TextDecoder ~0.7 µs. Concatenation is used only below 13 chars,
 * where V8 copies instead of building a chain of cons strings, which would
 * cost memory for as long as the store keeps the label.
 */
export function asciiString(b: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length < 13) {
    let text = "";
    for (let k = start; k < end; k++) {
      text += String.fromCharCode(b[k] as number);
    }
    return text;
  }
  const bytes = b.subarray(start, end);
  // apply() takes array-likes; typed arrays are fine. Long strings go through
  // TextDecoder to stay clear of the engine's argument count limit.
  return length <= 1024
    ? String.fromCharCode.apply(null, bytes as unknown as number[])
    : UTF8_STRICT.decode(bytes);
}

/** An ASCII string of the range, or "" if it has other bytes (then invalid). */
export function asciiOrEmpty(
  b: Uint8Array,
  start: number,
  end: number,
): string {
  let text = "";
  for (let k = start; k < end; k++) {
    const c = b[k] as number;
    if (c >= 0x80) return "";
    text += String.fromCharCode(c);
  }
  return text;
}

/** How an overlong number token is shown: its start and its length. */
export function tooLongNumber(
  b: Uint8Array,
  start: number,
  end: number,
): string {
  return `${
    goQuoteBytes(b.subarray(start, start + QUOTED_PREFIX_BYTES))
  }… (a token of ${
    end - start
  } bytes; no float literal is longer than ${MAX_NUMBER_BYTES})`;
}

/** A sample value: Go's `parseFloat` in expfmt (no `p`, `P`, `_`). */
export function parseValueToken(
  b: Uint8Array,
  start: number,
  end: number,
): number | undefined {
  // Fast path for plain integers up to 15 digits, which are exact.
  const length = end - start;
  if (length > 0 && length <= 15) {
    let value = 0;
    let k = start;
    for (; k < end; k++) {
      const d = (b[k] as number) - 0x30;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
    }
    if (k === end) return value;
  }
  const text = asciiOrEmpty(b, start, end);
  return text === "" ? undefined : parseGoFloat(text);
}

// Stateless: `decode` is always called with a whole input, never streaming.
// ignoreBOM keeps a leading U+FEFF, which Go keeps as part of the string.
export const UTF8_STRICT = new TextDecoder("utf-8", {
  fatal: true,
  ignoreBOM: true,
});
export const UTF8_LOSSY = new TextDecoder("utf-8", { ignoreBOM: true });

export function decodeUtf8(bytes: Uint8Array): string | undefined {
  const n = bytes.length;
  let k = 0;
  while (k < n && (bytes[k] as number) < 0x80) k++;
  if (k === n) return asciiString(bytes, 0, n);
  try {
    return UTF8_STRICT.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * HELP text is not checked by Go; invalid UTF-8 (which a JS string cannot
 * hold) becomes U+FFFD.
 */
export function decodeLossy(bytes: Uint8Array): string {
  return UTF8_LOSSY.decode(bytes);
}

/** Go's uint64(float64) as compiled for amd64, for a summary's `_count`. */
export function goUint64(value: number): number {
  const two63 = 9223372036854775808;
  if (value < two63) {
    const truncated = Math.trunc(value);
    // CVTTSD2SQ yields int64's minimum when out of range.
    if (truncated < -two63) return two63;
    return truncated < 0 ? 2 * two63 + truncated : truncated + 0;
  }
  const high = value - two63;
  return high < two63 ? Math.trunc(high) + two63 : two63; // NaN, ≥ 2^64, +Inf
}

/** Whether Go's `value == float64(uint64(value))` holds. */
export function isUint64(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < 18446744073709551616;
}

// ---------------------------------------------------------------------------
// Escapes

/**
 * The byte an escape `\<e>` stands for in HELP text and label values:
 * `\\`, `\"` and `\n`; anything else fails with Go's message.
 */
export function unescape(s: ParseState, e: number): number {
  if (e === BACKSLASH || e === QUOTE) return e;
  if (e === 0x6e) return NL;
  return fail(s, invalidEscape(e));
}

export function invalidEscape(byte: number): string {
  // Go formats the byte with %c, i.e. as the rune U+00XX.
  return `invalid escape sequence '\\${String.fromCharCode(byte)}'`;
}
