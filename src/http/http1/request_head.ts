/**
 * The head of an HTTP/1.x request: request line and header fields, read
 * from the bytes before the blank line, and what they say about the body
 * and the connection. Pure: bytes in, a head or a typed refusal out.
 *
 * Refused (400, with the reason): a request line that is not
 * `METHOD SP target SP HTTP/1.x`, a header line without a colon or with
 * space before it, a folded line, a control character, both
 * `Content-Length` and `Transfer-Encoding` (request smuggling), several
 * different lengths, a transfer coding other than `chunked`.
 * @module
 */

/** A request head as read. */
export interface RequestHead {
  readonly method: string;
  /** The request target as sent, decoded as UTF-8. */
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: 0 | 1;
  /**
   * The header fields by name in lower case (as `Headers` gives them),
   * repeated ones joined with ", ".
   */
  readonly headers: Readonly<Record<string, string>>;
  readonly host: string | undefined;
  /** How the body is framed: none, `Content-Length`, or chunked. */
  readonly body: BodyFraming;
  /** Whether the connection stays open after the answer. */
  readonly keepAlive: boolean;
  /** `Expect: 100-continue`. */
  readonly expectContinue: boolean;
}

export type BodyFraming =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" };

/** Why a head is not served: the status and the reason to send. */
export interface HeadRefusal {
  readonly status: 400 | 414 | 431;
  readonly message: string;
}

export type HeadResult =
  | { readonly ok: true; readonly head: RequestHead }
  | { readonly ok: false; readonly refusal: HeadRefusal };

const NO_BODY: BodyFraming = { kind: "none" };

const utf8 = new TextDecoder();

/**
 * Where the head in `bytes[from, to)` ends: `end` is the offset of the line
 * feed ending its last line, `next` the offset after the blank line (CRLF or
 * a bare LF); undefined if the blank line has not arrived.
 */
export function findHeadEnd(bytes: Uint8Array, from: number, to: number): {
  end: number;
  next: number;
} | undefined {
  for (let i = from; i < to; i++) {
    if (bytes[i] !== 10) continue;
    const next = bytes[i + 1];
    if (i + 1 < to && next === 10) return { end: i, next: i + 2 };
    if (i + 2 < to && next === 13 && bytes[i + 2] === 10) {
      return { end: i, next: i + 3 };
    }
  }
  return undefined;
}

/**
 * Bytes as a string of one code unit per byte (ISO-8859-1), which is what
 * header values are (`ByteString`).
 */
export function latin1(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] as number) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return utf8.decode(bytes);
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return out;
}

function malformed(message: string): HeadResult {
  return { ok: false, refusal: { status: 400, message } };
}

/** 1 for the bytes of a token (RFC 9110, 5.6.2): methods and field names. */
const TOKEN_BYTE = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789") TOKEN_BYTE[c.charCodeAt(0)] = 1;
for (let c = 0; c < 26; c++) TOKEN_BYTE[65 + c] = TOKEN_BYTE[97 + c] = 1;
/** What `String.prototype.trim` drops from a field value (one byte each). */
const TRIMMED = new Uint8Array(256);
for (const c of [9, 11, 12, 13, 32, 0xa0]) TRIMMED[c] = 1;
/** Control bytes refused in a field value (a tab is allowed). */
const BAD_VALUE_BYTE = new Uint8Array(256);
for (let c = 0; c < 32; c++) BAD_VALUE_BYTE[c] = c === 9 ? 0 : 1;
BAD_VALUE_BYTE[0x7f] = 1;
/** Bytes refused in a request target: white space and controls. */
const BAD_TARGET_BYTE = new Uint8Array(256);
for (let c = 0; c <= 32; c++) BAD_TARGET_BYTE[c] = 1;
BAD_TARGET_BYTE[0x7f] = BAD_TARGET_BYTE[0xa0] = 1;

/** Field names the parser or the routes read, by length, in lower case. */
const KNOWN_NAMES: ReadonlyMap<number, readonly string[]> = (() => {
  const names = [
    "host",
    "accept",
    "expect",
    "connection",
    "user-agent",
    "content-type",
    "authorization",
    "content-length",
    "accept-encoding",
    "content-encoding",
    "transfer-encoding",
  ];
  const byLength = new Map<number, string[]>();
  for (const name of names) {
    const list = byLength.get(name.length) ?? [];
    list.push(name);
    byLength.set(name.length, list);
  }
  return byLength;
})();

/**
 * The field name in `bytes[from, to)` (token bytes) in lower case: one of
 * {@link KNOWN_NAMES} without a new string, else from `text`.
 */
function fieldName(
  bytes: Uint8Array,
  text: string,
  from: number,
  to: number,
): string {
  const candidates = KNOWN_NAMES.get(to - from);
  if (candidates !== undefined) {
    next: for (const name of candidates) {
      // Token bytes: `| 0x20` lower-cases letters and leaves "-" as it is.
      for (let i = 0; i < name.length; i++) {
        if (((bytes[from + i] as number) | 0x20) !== name.charCodeAt(i)) {
          continue next;
        }
      }
      return name;
    }
  }
  return text.slice(from, to).toLowerCase();
}

/** The methods most requests use, as strings made once. */
const METHODS: readonly string[] = [
  "GET",
  "PUT",
  "POST",
  "HEAD",
  "DELETE",
  "OPTIONS",
];

function methodOf(bytes: Uint8Array, text: string, to: number): string {
  next: for (const method of METHODS) {
    if (method.length !== to) continue;
    for (let i = 0; i < to; i++) {
      if (bytes[i] !== method.charCodeAt(i)) continue next;
    }
    return method;
  }
  return text.slice(0, to);
}

/**
 * The head in `bytes` (the request line up to, not including, the blank
 * line). One pass over the bytes checks them and finds the lines, fields and
 * values; the strings are slices of one decoding of the whole head.
 */
export function parseRequestHead(bytes: Uint8Array): HeadResult {
  const size = bytes.length;
  let lineEnd = bytes.indexOf(10);
  if (lineEnd < 0) lineEnd = size;
  const lineStop = lineEnd > 0 && bytes[lineEnd - 1] === 13
    ? lineEnd - 1
    : lineEnd;
  const sp1 = bytes.indexOf(32);
  const sp2 = bytes.lastIndexOf(32, lineStop - 1);
  if (sp1 <= 0 || sp1 >= lineStop || sp2 === sp1) {
    return malformed("invalid request line");
  }
  for (let i = 0; i < sp1; i++) {
    if (TOKEN_BYTE[bytes[i] as number] === 0) {
      return malformed("invalid method");
    }
  }
  // "HTTP/1.x"
  if (
    lineStop - sp2 !== 9 || bytes[sp2 + 1] !== 72 || bytes[sp2 + 2] !== 84 ||
    bytes[sp2 + 3] !== 84 || bytes[sp2 + 4] !== 80 || bytes[sp2 + 5] !== 47 ||
    bytes[sp2 + 6] !== 49 || bytes[sp2 + 7] !== 46 ||
    (bytes[sp2 + 8] !== 49 && bytes[sp2 + 8] !== 48)
  ) {
    return malformed("invalid HTTP version");
  }
  const minor = bytes[sp2 + 8] === 49 ? 1 : 0;
  if (sp2 === sp1 + 1) return malformed("invalid request target");
  let high = 0;
  for (let i = sp1 + 1; i < sp2; i++) {
    const b = bytes[i] as number;
    if (BAD_TARGET_BYTE[b] === 1) return malformed("invalid request target");
    high |= b;
  }
  // The field lines: offsets of name, value start and end, checked here,
  // made strings once the head is decoded.
  const offsets: number[] = [];
  for (let at = lineEnd + 1; at < size;) {
    let end = bytes.indexOf(10, at);
    if (end < 0) end = size;
    const next = end + 1;
    if (end > at && bytes[end - 1] === 13) end--;
    if (end === at) { // the last line's own CRLF
      at = next;
      continue;
    }
    const first = bytes[at] as number;
    if (first === 32 || first === 9) return malformed("folded header line");
    let colon = at;
    while (colon < end && bytes[colon] !== 58) {
      if (TOKEN_BYTE[bytes[colon] as number] === 0) break;
      colon++;
    }
    if (colon === end || bytes[colon] !== 58) {
      // A byte that is not a token's before any colon.
      const hasColon = bytes.subarray(at, end).indexOf(58) > 0;
      return malformed(
        hasColon ? "invalid header name" : "header line without a colon",
      );
    }
    if (colon === at) return malformed("header line without a colon");
    let from = colon + 1;
    let to = end;
    // 0xa0 is trimmed too: `high` must see it (the decoding depends on it).
    while (from < to && TRIMMED[bytes[from] as number] === 1) {
      high |= bytes[from++] as number;
    }
    while (to > from && TRIMMED[bytes[to - 1] as number] === 1) {
      high |= bytes[--to] as number;
    }
    for (let i = from; i < to; i++) {
      const b = bytes[i] as number;
      if (BAD_VALUE_BYTE[b] === 1) return malformed("invalid header value");
      high |= b;
    }
    offsets.push(at, colon, from, to);
    at = next;
  }
  const text = high < 0x80 ? utf8.decode(bytes) : latin1(bytes);
  // No prototype: a field named "constructor" or "__proto__" is a field.
  const headers: Record<string, string> = Object.create(null);
  let host: string | undefined;
  let length: string | undefined;
  let transferEncoding: string | undefined;
  let connection = "";
  let expect = "";
  for (let i = 0; i < offsets.length; i += 4) {
    const name = fieldName(
      bytes,
      text,
      offsets[i] as number,
      offsets[i + 1] as number,
    );
    const value = text.slice(offsets[i + 2], offsets[i + 3]);
    const before = headers[name];
    headers[name] = before === undefined ? value : `${before}, ${value}`;
    switch (name) {
      case "host":
        host = value;
        break;
      case "expect":
        expect = value;
        break;
      case "connection":
        connection += `,${value.toLowerCase()}`;
        break;
      case "content-length":
        if (length !== undefined && length !== value) {
          return malformed("conflicting Content-Length");
        }
        length = value;
        break;
      case "transfer-encoding":
        transferEncoding = transferEncoding === undefined
          ? value
          : `${transferEncoding}, ${value}`;
        break;
    }
  }
  let body = NO_BODY;
  if (transferEncoding !== undefined) {
    if (length !== undefined) {
      return malformed("both Content-Length and Transfer-Encoding");
    }
    if (minor === 0 || transferEncoding.toLowerCase() !== "chunked") {
      return malformed("unsupported Transfer-Encoding");
    }
    body = { kind: "chunked" };
  } else if (length !== undefined) {
    if (!isCount(length)) return malformed("invalid Content-Length");
    const n = Number(length);
    if (n > 0) body = { kind: "length", length: n };
  }
  const keepAlive = minor === 1
    ? !hasToken(connection, "close")
    : hasToken(connection, "keep-alive");
  const target = text.slice(sp1 + 1, sp2);
  return {
    ok: true,
    head: {
      method: methodOf(bytes, text, sp1),
      target: high < 0x80 ? target : decodeTarget(target),
      minor,
      headers,
      host,
      body,
      keepAlive,
      expectContinue: minor === 1 && expect.toLowerCase() === "100-continue",
    },
  };
}

/** 1 to 15 decimal digits. */
function isCount(text: string): boolean {
  if (text.length === 0 || text.length > 15) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Whether the comma-separated list `list` holds `token`. */
function hasToken(list: string, token: string): boolean {
  if (list === "") return false;
  return list.split(",").some((part) => part.trim() === token);
}

/** The target's bytes (one per code unit) read as UTF-8. */
function decodeTarget(target: string): string {
  for (let i = 0; i < target.length; i++) {
    if (target.charCodeAt(i) > 0x7f) {
      const bytes = new Uint8Array(target.length);
      for (let j = 0; j < target.length; j++) bytes[j] = target.charCodeAt(j);
      return utf8.decode(bytes);
    }
  }
  return target;
}

/**
 * Method and target at the start of a head cut short, for the log line and
 * the count of a refusal; empty strings when there is no request line.
 */
export function requestLineOf(
  head: Uint8Array,
): { method: string; target: string } {
  const text = utf8.decode(head.subarray(0, 512));
  const match = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\/[^ \r\n]*)/.exec(text);
  if (!match) return { method: "", target: "" };
  return {
    method: match[1] as string,
    target: (match[2] as string).slice(0, 256),
  };
}
