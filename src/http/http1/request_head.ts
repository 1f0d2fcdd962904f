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
   * The header fields by name as sent, repeated ones joined with ", " (a
   * record is the cheapest `HeadersInit` for the `Request` to take).
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

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// deno-lint-ignore no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const BAD_TARGET = /[\s\x00-\x1f\x7f]/;
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

/** The head in `bytes` (the request line up to, not including, the blank line). */
export function parseRequestHead(bytes: Uint8Array): HeadResult {
  const text = latin1(bytes);
  const lines = text.split("\n");
  const requestLine = trimCr(lines[0] as string);
  const sp1 = requestLine.indexOf(" ");
  const sp2 = requestLine.lastIndexOf(" ");
  if (sp1 <= 0 || sp2 === sp1) return malformed("invalid request line");
  const method = requestLine.slice(0, sp1);
  const rawTarget = requestLine.slice(sp1 + 1, sp2);
  const version = requestLine.slice(sp2 + 1);
  if (!TOKEN.test(method)) return malformed("invalid method");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    return malformed("invalid HTTP version");
  }
  if (rawTarget === "" || BAD_TARGET.test(rawTarget)) {
    return malformed("invalid request target");
  }
  const minor = version === "HTTP/1.1" ? 1 : 0;
  // No prototype: a field named "constructor" or "__proto__" is a field.
  const headers: Record<string, string> = Object.create(null);
  let host: string | undefined;
  let length: string | undefined;
  let transferEncoding: string | undefined;
  let connection = "";
  let expect = "";
  for (let i = 1; i < lines.length; i++) {
    const line = trimCr(lines[i] as string);
    if (line === "") continue; // the last line's own CRLF
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) return malformed("folded header line");
    const colon = line.indexOf(":");
    if (colon <= 0) return malformed("header line without a colon");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return malformed("invalid header name");
    const value = line.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) return malformed("invalid header value");
    const before = headers[name];
    headers[name] = before === undefined ? value : `${before}, ${value}`;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") host = value;
        break;
      case 6:
        if (name.toLowerCase() === "expect") expect = value;
        break;
      case 10:
        if (name.toLowerCase() === "connection") {
          connection += `,${value.toLowerCase()}`;
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          if (length !== undefined && length !== value) {
            return malformed("conflicting Content-Length");
          }
          length = value;
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") {
          transferEncoding = transferEncoding === undefined
            ? value
            : `${transferEncoding}, ${value}`;
        }
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
    if (!/^\d{1,15}$/.test(length)) return malformed("invalid Content-Length");
    const n = Number(length);
    if (n > 0) body = { kind: "length", length: n };
  }
  const keepAlive = minor === 1
    ? !hasToken(connection, "close")
    : hasToken(connection, "keep-alive");
  return {
    ok: true,
    head: {
      method,
      target: decodeTarget(rawTarget),
      minor,
      headers,
      host,
      body,
      keepAlive,
      expectContinue: minor === 1 && expect.toLowerCase() === "100-continue",
    },
  };
}

/** Whether the comma-separated list `list` holds `token`. */
function hasToken(list: string, token: string): boolean {
  if (list === "") return false;
  return list.split(",").some((part) => part.trim() === token);
}

function trimCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
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
