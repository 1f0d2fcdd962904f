/**
 * Go's string formatting as expfmt's error messages use it: `%q` quoting of
 * strings, bytes and runes, and `strings.ToUpper` for type names.
 * @module
 */

/** Go's `strings.ToUpper` as far as it can produce an ASCII type name. */
export function goToUpper(bytes: Uint8Array): string {
  let text = "";
  for (let k = 0; k < bytes.length;) {
    const [rune, width] = decodeRune(bytes, k);
    k += width;
    if (rune >= 0x61 && rune <= 0x7a) text += String.fromCharCode(rune - 0x20);
    else if (rune === 0x131) text += "I"; // ı: simple uppercase is ASCII
    else if (rune === 0x17f) text += "S"; // ſ: likewise
    else text += String.fromCodePoint(rune);
  }
  return text;
}

const BACKSLASH = 0x5c;
const ENCODER = new TextEncoder();

/** Go's `%q` of a string (`strconv.Quote`). */
export function goQuote(text: string): string {
  return goQuoteBytes(ENCODER.encode(text));
}

/** Go's `%q` of a byte string; invalid UTF-8 bytes print as `\xNN`. */
export function goQuoteBytes(bytes: Uint8Array): string {
  let out = '"';
  for (let k = 0; k < bytes.length;) {
    const [rune, width] = decodeRune(bytes, k);
    if (width === 1 && rune === 0xfffd) {
      out += `\\x${hex(bytes[k] as number, 2)}`;
    } else {
      out += escapeRune(rune, 0x22);
    }
    k += width;
  }
  return `${out}"`;
}

/** Go's `%q` of a byte value, which formats it as the rune U+00XX. */
export function goQuoteRune(byte: number): string {
  return `'${escapeRune(byte, 0x27)}'`;
}

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x07: "\\a",
  0x08: "\\b",
  0x0c: "\\f",
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x0b: "\\v",
};

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go's `appendEscapedRune`. */
function escapeRune(rune: number, quote: number): string {
  const char = String.fromCodePoint(rune);
  if (rune === quote || rune === BACKSLASH) return `\\${char}`;
  if (rune < 0x80 ? rune >= 0x20 && rune < 0x7f : PRINTABLE.test(char)) {
    return char; // Go's IsPrint: L, M, N, P, S and the ASCII space.
  }
  const short = SHORT_ESCAPES[rune];
  if (short !== undefined) return short;
  if (rune < 0x20 || rune === 0x7f) return `\\x${hex(rune, 2)}`;
  if (rune < 0x10000) return `\\u${hex(rune, 4)}`;
  return `\\U${hex(rune, 8)}`;
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, "0");
}

/** Go's `utf8.DecodeRune`: [rune, width], [U+FFFD, 1] for an invalid byte. */
function decodeRune(bytes: Uint8Array, k: number): [number, number] {
  const b0 = bytes[k] as number;
  if (b0 < 0x80) return [b0, 1];
  const invalid: [number, number] = [0xfffd, 1];
  if (b0 < 0xc2 || b0 > 0xf4) return invalid;
  const cont = (index: number, lo = 0x80, hi = 0xbf): number => {
    const c = bytes[index];
    return c !== undefined && c >= lo && c <= hi ? c & 0x3f : -1;
  };
  if (b0 < 0xe0) {
    const c1 = cont(k + 1);
    return c1 < 0 ? invalid : [((b0 & 0x1f) << 6) | c1, 2];
  }
  if (b0 < 0xf0) {
    const c1 = cont(
      k + 1,
      b0 === 0xe0 ? 0xa0 : 0x80,
      b0 === 0xed ? 0x9f : 0xbf,
    );
    const c2 = c1 < 0 ? -1 : cont(k + 2);
    return c2 < 0 ? invalid : [((b0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
  }
  const c1 = cont(k + 1, b0 === 0xf0 ? 0x90 : 0x80, b0 === 0xf4 ? 0x8f : 0xbf);
  const c2 = c1 < 0 ? -1 : cont(k + 2);
  const c3 = c2 < 0 ? -1 : cont(k + 3);
  return c3 < 0
    ? invalid
    : [((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
}
