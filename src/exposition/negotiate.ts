/**
 * Content negotiation for pushes and scrapes: which body format a push's
 * `Content-Type` selects (docs/compatibility.md, Push bodies), which format and
 * compression a scrape's `Accept` and `Accept-Encoding` select
 * (docs/compatibility.md, Scrapes).
 *
 * Each function reproduces the parser upstream uses, quirks included: Go's
 * `mime.ParseMediaType` for `Content-Type`, `goautoneg.ParseAccept` plus
 * expfmt `Negotiate` for `Accept`, and client_golang's
 * `NegotiateContentEncoding` for `Accept-Encoding`. Pure; never throws.
 * @module
 */

/** Body formats a push may carry. */
export type RequestFormat = "text" | "protobuf" | "openmetrics";

/**
 * Formats a scrape may be answered in (OpenMetrics is never served,
 * docs/compatibility.md, Scrapes).
 */
export type ResponseFormat =
  | "text"
  | "protobuf-delimited"
  | "protobuf-text"
  | "protobuf-compact-text";

/** `Content-Type` of a text 0.0.4 scrape response. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** `Content-Type` of a delimited protobuf scrape response. */
export const PROTOBUF_DELIMITED_CONTENT_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
/** `Content-Type` of a protobuf text format scrape response (debugging). */
export const PROTOBUF_TEXT_CONTENT_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text";
/** `Content-Type` of a compact protobuf text scrape response (debugging). */
export const PROTOBUF_COMPACT_TEXT_CONTENT_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=compact-text";

/**
 * The response `Content-Type` of each format, as Pushgateway 1.5.1 sends it.
 * (The newest release appends `; escaping=underscores`, docs/compatibility.md,
 * Scrapes; we serve legacy-valid names only unless UTF-8 names are enabled, so
 * the plain strings describe our output.)
 */
export const RESPONSE_CONTENT_TYPE = {
  "text": TEXT_CONTENT_TYPE,
  "protobuf-delimited": PROTOBUF_DELIMITED_CONTENT_TYPE,
  "protobuf-text": PROTOBUF_TEXT_CONTENT_TYPE,
  "protobuf-compact-text": PROTOBUF_COMPACT_TEXT_CONTENT_TYPE,
} as const satisfies Record<ResponseFormat, string>;

const PROTOBUF_MEDIA_TYPE = "application/vnd.google.protobuf";
const PROTOBUF_PROTOCOL = "io.prometheus.client.MetricFamily";
const OPENMETRICS_MEDIA_TYPE = "application/openmetrics-text";

// ---------------------------------------------------------------------------
// Content-Type: Go mime.ParseMediaType

/** RFC 2045 tspecials, which end a token. */
const TSPECIALS = '()<>@,;:\\"/[]?=';

function isTokenChar(code: number): boolean {
  return code > 0x20 && code < 0x7f &&
    !TSPECIALS.includes(String.fromCharCode(code));
}

/** Index of the first non-token character at or after `from`. */
function tokenEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
  return i;
}

const LEADING_SPACE = /^[\s\x85]+/;

function trimLeft(text: string): string {
  return text.replace(LEADING_SPACE, "");
}

/** A parameter value: a token or a quoted string; undefined if malformed. */
function consumeValue(
  text: string,
): { readonly value: string; readonly rest: string } | undefined {
  if (text.length === 0) return undefined;
  if (text[0] !== '"') {
    const end = tokenEnd(text, 0);
    if (end === 0) return undefined;
    return { value: text.slice(0, end), rest: text.slice(end) };
  }
  let value = "";
  for (let i = 1; i < text.length; i++) {
    const char = text[i];
    if (char === '"') return { value, rest: text.slice(i + 1) };
    const next = text[i + 1];
    // Go keeps a backslash before a non-special character literally (MSIE
    // file paths); only `\` before a tspecial escapes it.
    if (char === "\\" && next !== undefined && TSPECIALS.includes(next)) {
      value += next;
      i++;
      continue;
    }
    if (char === "\r" || char === "\n") return undefined;
    value += char;
  }
  return undefined; // no closing quote
}

interface MediaType {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
}

/**
 * Parses a media type as Go's `mime.ParseMediaType`: type and parameter
 * names lower-cased, values kept, trailing `;` allowed, duplicate names with
 * different values refused. Returns undefined where Go returns an error.
 * RFC 2231 parameters (`name*`) are dropped instead of decoded; none of the
 * parameters we read is ever sent that way.
 */
function parseMediaType(header: string): MediaType | undefined {
  const semicolon = header.indexOf(";");
  const base = semicolon < 0 ? header : header.slice(0, semicolon);
  const type = base.toLowerCase().trim();
  const typeEnd = tokenEnd(type, 0);
  if (typeEnd === 0) return undefined;
  if (typeEnd < type.length) {
    if (type[typeEnd] !== "/") return undefined;
    const subtypeEnd = tokenEnd(type, typeEnd + 1);
    if (subtypeEnd === typeEnd + 1 || subtypeEnd < type.length) {
      return undefined;
    }
  }
  const params = new Map<string, string>();
  let rest = header.slice(base.length);
  while (rest.length > 0) {
    rest = trimLeft(rest);
    if (rest.length === 0) break;
    const parsed = consumeParam(rest);
    if (parsed === undefined) {
      if (rest.trim() === ";") break; // a trailing semicolon is fine
      return undefined;
    }
    rest = parsed.rest;
    if (parsed.name.includes("*")) continue;
    const previous = params.get(parsed.name);
    if (previous !== undefined && previous !== parsed.value) return undefined;
    params.set(parsed.name, parsed.value);
  }
  return { type, params };
}

function consumeParam(
  text: string,
):
  | { readonly name: string; readonly value: string; readonly rest: string }
  | undefined {
  let rest = trimLeft(text);
  if (!rest.startsWith(";")) return undefined;
  rest = trimLeft(rest.slice(1));
  const nameEnd = tokenEnd(rest, 0);
  if (nameEnd === 0) return undefined;
  const name = rest.slice(0, nameEnd).toLowerCase();
  rest = trimLeft(rest.slice(nameEnd));
  if (!rest.startsWith("=")) return undefined;
  const value = consumeValue(trimLeft(rest.slice(1)));
  if (value === undefined) return undefined;
  return { name, value: value.value, rest: value.rest };
}

/**
 * The format of a push body (docs/compatibility.md, Push bodies). Protobuf only
 * for `application/vnd.google.protobuf` with
 * `proto=io.prometheus.client.MetricFamily` and `encoding=delimited` (type and
 * parameter names case-insensitive, values case-sensitive).
 * `application/openmetrics-text` selects OpenMetrics (a deliberate extension:
 * the Pushgateway feeds it to the text parser). Everything else, unparsable
 * headers included, is text 0.0.4.
 */
export function requestFormat(contentType: string | null): RequestFormat {
  if (contentType === null) return "text";
  // Clients send the same few headers on every push: parse each once.
  let format = FORMATS.get(contentType);
  if (format === undefined) {
    format = parseRequestFormat(contentType);
    if (FORMATS.size >= FORMATS_MAX) FORMATS.clear();
    FORMATS.set(contentType, format);
  }
  return format;
}
const FORMATS = new Map<string, RequestFormat>();
const FORMATS_MAX = 256;

function parseRequestFormat(contentType: string): RequestFormat {
  const media = parseMediaType(contentType);
  if (media === undefined) return "text";
  if (
    media.type === PROTOBUF_MEDIA_TYPE &&
    media.params.get("proto") === PROTOBUF_PROTOCOL &&
    media.params.get("encoding") === "delimited"
  ) {
    return "protobuf";
  }
  if (media.type === OPENMETRICS_MEDIA_TYPE) return "openmetrics";
  return "text";
}

// ---------------------------------------------------------------------------
// Accept: goautoneg.ParseAccept + expfmt.Negotiate

interface AcceptClause {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
  readonly params: ReadonlyMap<string, string>;
}

function trimSpaces(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) === 0x20) end--;
  return text.slice(start, end);
}

/**
 * Go's `strconv.ParseFloat(s, 32)` as goautoneg uses it for `q`: a syntax
 * error yields 0, and the value is rounded to float32.
 */
function parseQ(text: string): number {
  if (!/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(text)) {
    if (/^[+-]?inf(?:inity)?$/i.test(text)) {
      return text.startsWith("-") ? -Infinity : Infinity;
    }
    return /^nan$/i.test(text) ? NaN : 0;
  }
  return Math.fround(Number(text));
}

/** goautoneg's ordering: higher q first, then concrete types before `*`. */
function acceptLess(a: AcceptClause, b: AcceptClause): boolean {
  if (a.q > b.q) return true;
  if (a.type !== "*" && b.type === "*") return true;
  if (a.subtype !== "*" && b.subtype === "*") return true;
  return false;
}

/**
 * Parses an `Accept` header as goautoneg does: case-sensitive, split on every
 * `,` and `;`, only spaces trimmed, malformed ranges skipped, then sorted by
 * Go's `sort.Sort`, which for the usual ≤ 12 clauses is this insertion sort.
 */
function parseAccept(header: string): AcceptClause[] {
  const clauses: AcceptClause[] = [];
  for (const rawPart of header.split(",")) {
    const [range = "", ...rawParams] = trimSpaces(rawPart).split(";");
    const slash = range.split("/");
    const type = trimSpaces(slash[0] ?? "");
    let subtype: string;
    if (slash.length === 1 && type === "*") subtype = "*";
    else if (slash.length === 2) subtype = trimSpaces(slash[1] ?? "");
    else continue;
    let q = 1;
    const params = new Map<string, string>();
    for (const param of rawParams) {
      const equals = param.indexOf("=");
      if (equals < 0) continue;
      const name = trimSpaces(param.slice(0, equals));
      const value = param.slice(equals + 1);
      if (name === "q") q = parseQ(value);
      else params.set(name, trimSpaces(value));
    }
    clauses.push({ type, subtype, q, params });
  }
  for (let i = 1; i < clauses.length; i++) {
    for (let j = i; j > 0; j--) {
      const current = clauses[j];
      const before = clauses[j - 1];
      if (current === undefined || before === undefined) break;
      if (!acceptLess(current, before)) break;
      clauses[j] = before;
      clauses[j - 1] = current;
    }
  }
  return clauses;
}

/**
 * The format of a scrape response (docs/compatibility.md, Scrapes; expfmt
 * `Negotiate`): clauses in goautoneg order; the first protobuf clause with
 * `proto=io.prometheus.client.MetricFamily` and a known `encoding`, or the
 * first `text/plain` clause with no version or `version=0.0.4`, wins; otherwise
 * text. Like upstream, `q=0` does not exclude a clause and wildcards never
 * select protobuf.
 */
export function responseFormat(accept: string | null): ResponseFormat {
  if (accept === null) return "text";
  for (const clause of parseAccept(accept)) {
    if (
      `${clause.type}/${clause.subtype}` === PROTOBUF_MEDIA_TYPE &&
      clause.params.get("proto") === PROTOBUF_PROTOCOL
    ) {
      switch (clause.params.get("encoding")) {
        case "delimited":
          return "protobuf-delimited";
        case "text":
          return "protobuf-text";
        case "compact-text":
          return "protobuf-compact-text";
      }
    }
    const version = clause.params.get("version") ?? "";
    if (
      clause.type === "text" && clause.subtype === "plain" &&
      (version === "0.0.4" || version === "")
    ) {
      return "text";
    }
  }
  return "text";
}

// ---------------------------------------------------------------------------
// Accept-Encoding: client_golang's copy of gddo NegotiateContentEncoding

interface EncodingSpec {
  readonly value: string;
  readonly q: number;
}

/** HTTP token characters plus `/`, as gddo's `expectTokenSlash` reads them. */
function isTokenOrSlash(code: number): boolean {
  if (code === 0x2f) return true;
  return code > 0x20 && code < 0x7f &&
    !' \t"(),/:;<=>?@[]\\{}'.includes(String.fromCharCode(code));
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break;
    i++;
  }
  return i;
}

/** `0`, `1`, `0.xyz`, `1.000`; -1 for anything else (gddo `expectQuality`). */
function expectQuality(
  text: string,
  from: number,
): { readonly q: number; readonly end: number } {
  const first = text[from];
  if (first !== "0" && first !== "1") return { q: -1, end: text.length };
  let q = first === "1" ? 1 : 0;
  let i = from + 1;
  if (text[i] !== ".") return { q, end: i };
  i++;
  let numerator = 0;
  let denominator = 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    numerator = numerator * 10 + (c - 0x30);
    denominator *= 10;
    i++;
  }
  q += numerator / denominator;
  return { q, end: i };
}

/** gddo `ParseAccept`: stops at the first malformed element. */
function parseAcceptEncoding(header: string): EncodingSpec[] {
  const specs: EncodingSpec[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    while (i < header.length && isTokenOrSlash(header.charCodeAt(i))) i++;
    if (i === start) break;
    const value = header.slice(start, i);
    let q = 1;
    i = skipSpace(header, i);
    if (header[i] === ";") {
      i = skipSpace(header, i + 1);
      if (!header.startsWith("q=", i)) break;
      const quality = expectQuality(header, i + 2);
      if (quality.q < 0) break;
      q = quality.q;
      i = quality.end;
    }
    specs.push({ value, q });
    i = skipSpace(header, i);
    if (header[i] !== ",") break;
    i = skipSpace(header, i + 1);
  }
  return specs;
}

/**
 * Whether a scrape response should be gzipped, as the newest release negotiates
 * it (docs/compatibility.md, Scrapes): the offers are `identity` then `gzip`,
 * each taking the highest q of the elements naming it or `*`; gzip wins only
 * with a strictly higher, non-zero q. So `gzip;q=0` → false, and `*` alone →
 * false (identity, offered first, takes the tie).
 */
export function acceptsGzip(acceptEncoding: string | null): boolean {
  if (acceptEncoding === null) return false;
  const specs = parseAcceptEncoding(acceptEncoding);
  let best = "identity";
  let bestQ = -1;
  for (const offer of ["identity", "gzip"]) {
    for (const spec of specs) {
      if (spec.q > bestQ && (spec.value === "*" || spec.value === offer)) {
        bestQ = spec.q;
        best = offer;
      }
    }
  }
  return bestQ !== 0 && best === "gzip";
}
