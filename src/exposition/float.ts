/**
 * Go-compatible float parsing and formatting, the only place where Pushvault
 * turns float64 into text and back. Output must match the Pushgateway byte for
 * byte (docs/compatibility.md, Scrapes): Go's
 * `strconv.FormatFloat(f, 'g', -1, 64)`, i.e. the shortest round-trip digits,
 * exponent form iff the decimal exponent is < -4 or ≥ 6, exponent signed with
 * at least two digits.
 *
 * Pure; never throws.
 * @module
 */

// Go's strconv.ParseFloat decimal syntax, minus hex floats and underscores,
// which expfmt refuses before calling it ("unsupported character in float").
// Written so that no two parts can match the same digits: linear time even
// on a long run of digits followed by a bad character.
const DECIMAL_RE =
  /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
// strconv's special(): optional sign then "inf"/"infinity", or bare "nan",
// all case-insensitive. A signed NaN is a syntax error in Go.
const INF_RE = /^([+-]?)(?:inf|infinity)$/i;
const NAN_RE = /^nan$/i;

/**
 * Parses a float as the Prometheus text parser does (Go `strconv.ParseFloat`
 * after expfmt's own checks). Returns undefined for anything Go refuses,
 * including finite literals that overflow float64 (`1e400`).
 */
export function parseGoFloat(text: string): number | undefined {
  if (DECIMAL_RE.test(text)) {
    const value = Number(text);
    return Number.isFinite(value) ? value : undefined;
  }
  const inf = INF_RE.exec(text);
  if (inf) return inf[1] === "-" ? -Infinity : Infinity;
  if (NAN_RE.test(text)) return NaN;
  return undefined;
}

/**
 * Parses a base-10 integer as Go's `strconv.ParseInt(s, 10, 64)` does (used
 * for timestamps). Returns undefined for anything Go refuses.
 */
export function parseGoInt(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const big = BigInt(text);
  if (big > 9223372036854775807n || big < -9223372036854775808n) {
    return undefined;
  }
  return Number(big);
}

/**
 * Formats like Go's `strconv.FormatFloat(value, 'g', -1, 64)`: `-0` stays
 * `-0`, which is what the JSON API shows (docs/compatibility.md, JSON API).
 */
export function formatGoFloat(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  // Fast path: in [1e-4, 1e6) both Go and JavaScript print plain decimals
  // with the shortest round-trip digits.
  const magnitude = value < 0 ? -value : value;
  if (magnitude >= 1e-4 && magnitude < 1e6) return String(value);
  // Fast path: an integer below 1e21 prints as its shortest round-trip
  // digits padded with zeros, so Go's form is those digits without the
  // zeros (counters and byte counts: most large values pushed).
  if (magnitude < 1e21 && Number.isInteger(value)) {
    const digits = String(magnitude);
    let end = digits.length;
    while (end > 1 && digits.charCodeAt(end - 1) === 0x30) end--;
    const exponent = digits.length - 1;
    const mantissa = end > 1
      ? `${digits[0]}.${digits.slice(1, end)}`
      : digits.slice(0, 1);
    return `${value < 0 ? "-" : ""}${mantissa}e+${
      exponent < 10 ? "0" : ""
    }${exponent}`;
  }
  const exponential = value.toExponential(); // shortest round-trip digits
  const at = exponential.indexOf("e");
  const exponent = Number(exponential.slice(at + 1));
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? "-" : "+";
    const digits = String(Math.abs(exponent)).padStart(2, "0");
    return `${exponential.slice(0, at)}e${sign}${digits}`;
  }
  // For exponents in [-4, 6) JavaScript already prints plain decimal digits.
  return String(value);
}

/**
 * Formats a sample value for the text exposition format, as expfmt's
 * `writeFloat` does: like {@link formatGoFloat} except that `-0` prints `0`.
 */
export function formatTextFloat(value: number): string {
  return value === 0 ? "0" : formatGoFloat(value);
}
