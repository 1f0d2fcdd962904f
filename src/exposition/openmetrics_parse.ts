/**
 * OpenMetrics 1.0 text → metric families, for push bodies sent as
 * `application/openmetrics-text` (the Pushgateway refuses them and parses
 * them as text 0.0.4, docs/compatibility.md, push bodies; users asked for them in
 * prometheus/pushgateway#400). Pure: no I/O, no clock. Throws the first
 * problem as an {@link ExpositionError} with its 1-based line.
 *
 * Strictness. "Partial or invalid expositions MUST be considered erroneous in
 * their entirety" (OpenMetrics 1.0, "Data transmission"). We enforce the ABNF
 * and the MUSTs that the reference parser (prometheus/client_python
 * `openmetrics/parser.py`) and the OpenMetrics parser test suite
 * (OpenObservability/OpenMetrics `tests/testdata/parsers`) enforce:
 * `# EOF` last and nothing after it; no blank lines, no other `#` lines, no
 * CR; one TYPE/HELP/UNIT per family, before its samples; UNIT a `_unit`
 * suffix of the name and absent on info and stateset; families and metrics
 * not interleaved, names not clashing (`a_created` gauge vs counter `a`);
 * counter-like values (`_total`, `_sum`, `_count`, `_bucket`, `_gcount`)
 * neither NaN nor negative; histograms complete (`+Inf` bucket, buckets sorted,
 * `_count` = `+Inf` bucket, `_count` iff `_sum`), integer counts; quantiles in
 * [0, 1]; stateset values 0/1, info values 1; exemplars only on counter
 * `_total` and `_bucket` samples, their labels ≤ 128 code points; timestamps
 * within a metric not going backwards. Beyond the ABNF, and like the text
 * parser: `__name__` as a label name is reserved. Not checked: duplicate series
 * across families (the consistency check does that), timestamps being absent
 * (push/validate.ts rejects them later). Given limits, names and label values
 * over them, and number tokens over MAX_NUMBER_BYTES, are refused as read
 * (token_limits.ts).
 *
 * Mapping to the model (the choices a text 0.0.4 scrape of the result must
 * make look as client_golang would):
 * - counter `foo` → counter family `foo_total` (the name of its samples, as
 *   client_golang names counter families; a 0.0.4 scrape shows `foo_total`);
 *   `foo_created` → `createdTimestampMs`, never a series of its own; an
 *   exemplar on `foo_total` → `exemplar`.
 * - gauge → gauge; unknown (or no TYPE) → untyped; info `foo` → gauge family
 *   `foo_info` with value 1; stateset `foo` → gauge family `foo` with one
 *   series per state (the label named `foo` holds the state), value 0 or 1.
 * - summary and histogram → family `foo` as in text 0.0.4; gaugehistogram →
 *   type `"gaugehistogram"`, `_gcount`/`_gsum` as count/sum. A missing `_sum`
 *   or `_count` becomes 0 as in the text parser, except that a histogram's
 *   count falls back to its `+Inf` bucket. Buckets keep their order
 *   (including `+Inf`), exemplars go to their bucket. `le`/`quantile` are
 *   parsed as floats.
 * - Timestamps (float seconds) → integer `timestampMs`, truncated toward zero
 *   like Prometheus (`int64(ts * 1000)`), computed from the decimal text so
 *   that `1520879607.789` gives exactly `1520879607789`.
 * - Every MetricPoint becomes its own model metric (several points of one
 *   metric only exist with timestamps, which pushes reject anyway).
 * - Empty HELP or UNIT counts as absent (spec: "MUST be treated as if no
 *   metadata line ... existed"). Families without samples are dropped, as the
 *   text parser does.
 * @module
 */

import { parseGoFloat } from "./float.ts";
import {
  type Bucket,
  type Exemplar,
  ExpositionError,
  type HistogramMetric,
  type Label,
  type MetricFamily,
  type Quantile,
  type ScalarMetric,
  type SummaryMetric,
  unreachable,
} from "./model.ts";
import {
  MAX_NUMBER_BYTES,
  NO_TOKEN_LIMITS,
  QUOTED_PREFIX_BYTES,
  type TokenLimits,
  TokenTooLongError,
  utf8Length,
} from "./token_limits.ts";

export interface OpenMetricsParseOptions {
  /**
   * Accept quoted UTF-8 metric and label names (`{"my.metric","a.b"="v"}`,
   * `# TYPE "my.metric" gauge`), as the Pushgateway's
   * `--push.enable-utf8-names` does for text (docs/compatibility.md, flags).
   */
  readonly utf8Names?: boolean;
  /** Names and label values refused as soon as they are longer. */
  readonly limits?: TokenLimits;
}

type OmType =
  | "counter"
  | "gauge"
  | "histogram"
  | "gaugehistogram"
  | "stateset"
  | "info"
  | "summary"
  | "unknown";

/** What a sample line contributes to its MetricPoint. */
type Role =
  | "value"
  | "total"
  | "created"
  | "bucket"
  | "count"
  | "sum"
  | "gcount"
  | "gsum"
  | "quantile";

/** Sample name suffixes of each type, and their role (spec "Suffixes"). */
const ROLES: Readonly<Record<OmType, readonly (readonly [string, Role])[]>> = {
  counter: [["_total", "total"], ["_created", "created"]],
  gauge: [["", "value"]],
  stateset: [["", "value"]],
  unknown: [["", "value"]],
  info: [["_info", "value"]],
  summary: [
    ["", "quantile"],
    ["_count", "count"],
    ["_sum", "sum"],
    ["_created", "created"],
  ],
  histogram: [
    ["_bucket", "bucket"],
    ["_count", "count"],
    ["_sum", "sum"],
    ["_created", "created"],
  ],
  gaugehistogram: [
    ["_bucket", "bucket"],
    ["_gcount", "gcount"],
    ["_gsum", "gsum"],
  ],
};

const TYPE_LIST =
  "counter, gauge, histogram, gaugehistogram, stateset, info, summary, unknown";

/** Exemplar label names and values together, in code points (spec "Exemplars"). */
const MAX_EXEMPLAR_LABEL_CHARS = 128;

const CHAR_LF = 10;
const CHAR_CR = 13;
const CHAR_SPACE = 32;
const CHAR_QUOTE = 34;
const CHAR_HASH = 35;
const CHAR_COMMA = 44;
const CHAR_EQUALS = 61;
const CHAR_BACKSLASH = 92;
const CHAR_BRACE_OPEN = 123;
const CHAR_BRACE_CLOSE = 125;

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const MISSING_EOF =
  'unexpected end of input; an OpenMetrics body must end with the line "# EOF"';

/**
 * Parses an OpenMetrics 1.0 text exposition into metric families, in the
 * order of the body. Throws {@link ExpositionError} (with the line) for
 * anything the format forbids; does not check timestamps or duplicate series
 * across families.
 */
export function parseOpenMetrics(
  body: Uint8Array,
  options: OpenMetricsParseOptions = {},
): MetricFamily[] {
  const text = decodeUtf8(body);
  const ctx: Context = {
    utf8Names: options.utf8Names ?? false,
    limits: options.limits ?? NO_TOKEN_LIMITS,
    families: [],
    taken: new Map(),
    family: undefined,
  };
  let pos = 0;
  let line = 0;
  while (pos < text.length) {
    line++;
    const newline = text.indexOf("\n", pos);
    const end = newline === -1 ? text.length : newline;
    if (end - pos === 5 && text.startsWith("# EOF", pos)) {
      if (end + 1 < text.length) {
        throw new ExpositionError(line + 1, 'unexpected content after "# EOF"');
      }
      finishFamily(ctx);
      return ctx.families;
    }
    if (newline === -1) throw new ExpositionError(line, MISSING_EOF);
    if (end === pos) {
      throw new ExpositionError(line, "blank lines are not allowed");
    }
    if (text.charCodeAt(end - 1) === CHAR_CR) {
      throw new ExpositionError(
        line,
        'lines must end with "\\n", not "\\r\\n"',
      );
    }
    const reader: LineReader = { text, pos, end, line };
    if (text.charCodeAt(pos) === CHAR_HASH) {
      readMetadata(ctx, reader);
    } else {
      addSample(ctx, readSample(reader, ctx), line);
    }
    pos = end + 1;
  }
  throw new ExpositionError(line + 1, MISSING_EOF);
}

/** The whole body as a string; OpenMetrics is UTF-8 without a BOM. */
function decodeUtf8(body: Uint8Array): string {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    const offset = invalidUtf8Offset(body);
    let line = 1;
    for (let i = 0; i < offset; i++) if (body[i] === CHAR_LF) line++;
    const byte = (body[offset] ?? 0).toString(16).padStart(2, "0");
    throw new ExpositionError(
      line,
      `invalid UTF-8 (byte 0x${byte} at offset ${offset}); OpenMetrics text must be UTF-8`,
    );
  }
  if (text.charCodeAt(0) === 0xfeff) {
    throw new ExpositionError(1, "a byte order mark is not allowed");
  }
  return text;
}

/** Offset of the first byte that is not part of valid UTF-8 (RFC 3629). */
function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const first = bytes[i] ?? 0;
    if (first < 0x80) {
      i++;
      continue;
    }
    let more: number;
    let codePoint: number;
    if (first >= 0xc2 && first <= 0xdf) {
      more = 1;
      codePoint = first & 0x1f;
    } else if ((first & 0xf0) === 0xe0) {
      more = 2;
      codePoint = first & 0x0f;
    } else if (first >= 0xf0 && first <= 0xf4) {
      more = 3;
      codePoint = first & 0x07;
    } else {
      return i;
    }
    for (let k = 1; k <= more; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    const overlong = (more === 2 && codePoint < 0x800) ||
      (more === 3 && codePoint < 0x10000);
    const surrogate = codePoint >= 0xd800 && codePoint <= 0xdfff;
    if (overlong || surrogate || codePoint > 0x10ffff) return i;
    i += more + 1;
  }
  return bytes.length;
}

// ---------------------------------------------------------------------------
// Reading a line

/** One line being read: `pos` advances, `end` is the index of its "\n". */
interface LineReader {
  readonly text: string;
  pos: number;
  readonly end: number;
  readonly line: number;
}

const quote = JSON.stringify;

function fail(reader: LineReader, detail: string): never {
  throw new ExpositionError(reader.line, detail);
}

function failLine(line: number, detail: string): never {
  throw new ExpositionError(line, detail);
}

/** Fails with "expected …, found <the character at pos>". */
function failExpected(reader: LineReader, expected: string): never {
  let found = "end of line";
  if (reader.pos < reader.end) {
    const codePoint = reader.text.codePointAt(reader.pos) ?? 0;
    found = quote(String.fromCodePoint(codePoint));
  }
  fail(reader, `expected ${expected}, found ${found}`);
}

function peek(reader: LineReader): number {
  return reader.pos < reader.end ? reader.text.charCodeAt(reader.pos) : -1;
}

function isMetricNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 ||
    c === 58;
}

function isMetricNameChar(c: number): boolean {
  return isMetricNameStart(c) || (c >= 48 && c <= 57);
}

function isLabelNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isLabelNameChar(c: number): boolean {
  return isLabelNameStart(c) || (c >= 48 && c <= 57);
}

// The three scanners below are spelled out rather than sharing one with a
// predicate argument: a per-character indirect call costs about a third of
// the parse time.

/** `[a-zA-Z0-9_:]*` from `pos` (metric name characters, also units). */
function readMetricName(reader: LineReader): string {
  const { text, end } = reader;
  const start = reader.pos;
  let i = start;
  while (i < end && isMetricNameChar(text.charCodeAt(i))) i++;
  reader.pos = i;
  return text.slice(start, i);
}

/** `[a-zA-Z0-9_]*` from `pos`. */
function readLabelName(reader: LineReader): string {
  const { text, end } = reader;
  const start = reader.pos;
  let i = start;
  while (i < end && isLabelNameChar(text.charCodeAt(i))) i++;
  reader.pos = i;
  return text.slice(start, i);
}

/** Up to the next space or the end of the line. */
function readToken(reader: LineReader): string {
  const { text, end } = reader;
  const start = reader.pos;
  let i = start;
  while (i < end && text.charCodeAt(i) !== CHAR_SPACE) i++;
  reader.pos = i;
  return text.slice(start, i);
}

/**
 * Reads a `"…"` string at `pos` and unescapes it: `\\`, `\"` and `\n`; any
 * other escaped character keeps its backslash (ABNF `BS normal-char`).
 * `what` (and `labelName`, for a label value) describe it if it is unclosed;
 * the message is only built then, as this runs for every label.
 */
function readQuoted(
  reader: LineReader,
  what: string,
  labelName?: string,
): string {
  const { text, end } = reader;
  let i = reader.pos + 1;
  let chunkStart = i;
  let unescaped = "";
  for (;;) {
    if (i + (text.charCodeAt(i) === CHAR_BACKSLASH ? 1 : 0) >= end) {
      const subject = labelName === undefined
        ? what
        : `the value of ${what} ${quote(labelName)}`;
      fail(reader, `${subject} is missing its closing '"'`);
    }
    const c = text.charCodeAt(i);
    if (c === CHAR_QUOTE) break;
    if (c === CHAR_BACKSLASH) {
      unescaped += text.slice(chunkStart, i) + unescapeAt(text, i);
      i += 2;
      chunkStart = i;
    } else {
      i++;
    }
  }
  reader.pos = i + 1;
  return unescaped + text.slice(chunkStart, i);
}

/** The replacement for the escape sequence whose backslash is at `i`. */
function unescapeAt(text: string, i: number): string {
  switch (text.charCodeAt(i + 1)) {
    case CHAR_BACKSLASH:
      return "\\";
    case CHAR_QUOTE:
      return '"';
    case 110: // n
      return "\n";
    default:
      return text.slice(i, i + 2);
  }
}

/** HELP text: the rest of the line, escapes as in {@link readQuoted}. */
function readHelp(reader: LineReader): string {
  const { text, end } = reader;
  let chunkStart = reader.pos;
  let unescaped = "";
  // A lone backslash at the very end stays as it is (client_python does so).
  for (let i = reader.pos; i < end - 1; i++) {
    if (text.charCodeAt(i) === CHAR_BACKSLASH) {
      unescaped += text.slice(chunkStart, i) + unescapeAt(text, i);
      chunkStart = ++i + 1;
    }
  }
  reader.pos = end;
  return unescaped + text.slice(chunkStart, end);
}

// ---------------------------------------------------------------------------
// Numbers

/**
 * Whether `token` is an ABNF `realnumber`: `[SIGN] 1*DIGIT ["." *DIGIT]` or
 * `[SIGN] *DIGIT "." 1*DIGIT`, then an optional `e [SIGN] 1*DIGIT`. Linear,
 * so a long token cannot make a regular expression backtrack.
 */
function isRealNumber(token: string): boolean {
  let i = 0;
  let c = token.charCodeAt(0);
  if (c === 43 || c === 45) c = token.charCodeAt(++i);
  let digits = 0;
  while (c >= 48 && c <= 57) {
    digits++;
    c = token.charCodeAt(++i);
  }
  if (c === 46) {
    c = token.charCodeAt(++i);
    while (c >= 48 && c <= 57) {
      digits++;
      c = token.charCodeAt(++i);
    }
  }
  if (digits === 0) return false;
  if (c === 101 || c === 69) {
    c = token.charCodeAt(++i);
    if (c === 43 || c === 45) c = token.charCodeAt(++i);
    const exponentStart = i;
    while (c >= 48 && c <= 57) c = token.charCodeAt(++i);
    if (i === exponentStart) return false;
  }
  return i === token.length;
}

// ABNF: `[SIGN] ("inf" / "infinity")` and `"nan"`, case-insensitive.
const SPECIAL_NUMBER_RE = /^(?:[+-]?inf(?:inity)?|nan)$/i;

/**
 * An ABNF `number`, or undefined. The syntax is checked here in linear time;
 * parseGoFloat (the same syntax, Go's) converts and refuses float64 overflow.
 */
function toNumber(token: string): number | undefined {
  const syntaxOk = isRealNumber(token) ||
    (token.length <= 9 && SPECIAL_NUMBER_RE.test(token));
  return syntaxOk ? parseGoFloat(token) : undefined;
}

/** A sample or exemplar value. */
function parseValue(reader: LineReader, what: string): number {
  const token = readToken(reader);
  if (token.length > MAX_NUMBER_BYTES) {
    fail(reader, `expected a number as ${what}, got ${tooLongNumber(token)}`);
  }
  const value = toNumber(token);
  if (value !== undefined) return value;
  if (isRealNumber(token)) {
    fail(reader, `${what} ${quote(token)} is out of the float64 range`);
  }
  fail(reader, `expected a number as ${what}, got ${quote(token)}`);
}

/** How an overlong number token is shown: its start and its length. */
function tooLongNumber(token: string): string {
  return `${
    quote(token.slice(0, QUOTED_PREFIX_BYTES))
  }… (a token of ${token.length} characters; no number literal is longer than ${MAX_NUMBER_BYTES})`;
}

interface Timestamp {
  readonly seconds: number;
  readonly ms: number;
}

/** An ABNF `timestamp`: a finite `realnumber` of seconds. */
function parseTimestamp(reader: LineReader, what: string): Timestamp {
  const token = readToken(reader);
  if (token.length > MAX_NUMBER_BYTES) {
    fail(reader, `expected ${what} in seconds, got ${tooLongNumber(token)}`);
  }
  if (!isRealNumber(token)) {
    fail(reader, `expected ${what} in seconds, got ${quote(token)}`);
  }
  const seconds = parseGoFloat(token);
  const ms = seconds === undefined ? NaN : secondsToMs(token, seconds);
  if (seconds === undefined || !Number.isFinite(ms)) {
    fail(reader, `${what} ${quote(token)} is out of range`);
  }
  return { seconds, ms };
}

/**
 * Seconds → whole milliseconds, truncated toward zero. Scales the decimal
 * text by 10³ before converting, so that no binary rounding creeps in.
 */
function secondsToMs(token: string, seconds: number): number {
  let e = token.indexOf("e");
  if (e === -1) e = token.indexOf("E");
  let scaled: number;
  if (e === -1) {
    scaled = Number(`${token}e3`);
  } else {
    const exponent = Number(token.slice(e + 1));
    scaled = Number.isSafeInteger(exponent)
      ? Number(`${token.slice(0, e)}e${exponent + 3}`)
      : seconds * 1000;
  }
  const ms = Math.trunc(scaled);
  return ms === 0 ? 0 : ms; // no -0
}

// ---------------------------------------------------------------------------
// Sample lines

interface SampleLine {
  readonly name: string;
  readonly labels: Label[];
  readonly value: number;
  readonly valueText: string;
  /** Seconds, for the ordering checks. */
  readonly timestamp: number | undefined;
  readonly timestampMs: number | undefined;
  readonly exemplar: Exemplar | undefined;
}

/** `metricname [labels] SP number [SP timestamp] [exemplar]` */
function readSample(reader: LineReader, ctx: Context): SampleLine {
  const { utf8Names, limits } = ctx;
  let name: string | undefined;
  if (isMetricNameStart(peek(reader))) {
    name = readMetricName(reader);
    checkMetricName(name, limits);
  } else if (peek(reader) !== CHAR_BRACE_OPEN) {
    failExpected(reader, 'a metric name or "#" at the start of the line');
  }
  let labels: Label[] = [];
  if (peek(reader) === CHAR_BRACE_OPEN) {
    const acceptName = name === undefined && utf8Names;
    const read = readLabels(reader, {
      utf8Names,
      acceptName,
      what: "label",
      limits,
      metric: name ?? "",
    });
    labels = read.labels;
    if (name === undefined && read.name !== undefined) {
      checkMetricName(read.name, limits);
    }
    name ??= read.name;
  }
  if (name === undefined) fail(reader, "the metric name is missing");
  if (peek(reader) !== CHAR_SPACE) {
    failExpected(reader, `a space and a value after ${quote(name)}`);
  }
  reader.pos++;
  const valueStart = reader.pos;
  const value = parseValue(reader, "value");
  const valueText = reader.text.slice(valueStart, reader.pos);
  let timestamp: Timestamp | undefined;
  let exemplar: Exemplar | undefined;
  if (reader.pos < reader.end) {
    reader.pos++; // the space after the value
    if (peek(reader) !== CHAR_HASH) {
      timestamp = parseTimestamp(reader, "a timestamp");
      if (reader.pos < reader.end) {
        reader.pos++;
        if (peek(reader) !== CHAR_HASH) {
          failExpected(
            reader,
            'the end of the line or " # {…}" after the timestamp',
          );
        }
      }
    }
    if (reader.pos < reader.end) exemplar = readExemplar(reader, utf8Names);
  }
  return {
    name,
    labels,
    value,
    valueText,
    timestamp: timestamp?.seconds,
    timestampMs: timestamp?.ms,
    exemplar,
  };
}

/** `# {labels} number [SP timestamp]`, `pos` at the "#". */
function readExemplar(reader: LineReader, utf8Names: boolean): Exemplar {
  const { text } = reader;
  if (
    reader.pos + 2 >= reader.end ||
    text.charCodeAt(reader.pos + 1) !== CHAR_SPACE ||
    text.charCodeAt(reader.pos + 2) !== CHAR_BRACE_OPEN
  ) {
    fail(reader, 'expected an exemplar " # {labels} value" after the sample');
  }
  reader.pos += 2;
  const options = {
    utf8Names,
    acceptName: false,
    what: "exemplar label",
    limits: undefined,
    metric: "",
  };
  const { labels } = readLabels(reader, options);
  let chars = 0;
  for (const label of labels) chars += label.name.length + label.value.length;
  if (chars > MAX_EXEMPLAR_LABEL_CHARS) {
    // String lengths count UTF-16 units; count code points only when needed.
    chars = 0;
    for (const { name, value } of labels) {
      chars += [...name].length + [...value].length;
    }
    if (chars > MAX_EXEMPLAR_LABEL_CHARS) {
      fail(
        reader,
        `exemplar labels have ${chars} characters, more than ${MAX_EXEMPLAR_LABEL_CHARS}`,
      );
    }
  }
  if (peek(reader) !== CHAR_SPACE) {
    failExpected(reader, "a space and a value after the exemplar labels");
  }
  reader.pos++;
  const value = parseValue(reader, "exemplar value");
  if (reader.pos >= reader.end) return { labels, value };
  reader.pos++;
  const timestamp = parseTimestamp(reader, "an exemplar timestamp");
  if (reader.pos < reader.end) {
    failExpected(reader, "the end of the line after the exemplar timestamp");
  }
  return { labels, value, timestampMs: timestamp.ms };
}

interface LabelsOptions {
  readonly utf8Names: boolean;
  /** A quoted string alone (`{"name",…}`) is the metric name. */
  readonly acceptName: boolean;
  readonly what: string;
  /** For a sample's labels (exemplar labels have their own limit). */
  readonly limits: TokenLimits | undefined;
  /** The sample's metric name, for messages ("" if not known yet). */
  readonly metric: string;
}

/** Lists shorter than this are scanned for duplicates; longer ones use a Set. */
const NAME_SET_MIN = 16;

/** `{` [label *("," label)] `}` at `pos`: the ABNF has no trailing comma. */
function readLabels(
  reader: LineReader,
  options: LabelsOptions,
): { labels: Label[]; name: string | undefined } {
  const { what } = options;
  const labels: Label[] = [];
  // Label names, once the list is long: checking each new name against
  // every earlier one made a line of 80k labels take 20 s.
  let names: Set<string> | undefined;
  let name: string | undefined;
  reader.pos++; // {
  if (peek(reader) === CHAR_BRACE_CLOSE) {
    reader.pos++;
    return { labels, name };
  }
  for (;;) {
    let labelName: string;
    if (peek(reader) === CHAR_QUOTE && options.utf8Names) {
      labelName = readQuoted(reader, "a quoted name");
      const next = peek(reader);
      if (
        options.acceptName && (next === CHAR_COMMA || next === CHAR_BRACE_CLOSE)
      ) {
        if (name !== undefined) fail(reader, "the metric name is given twice");
        if (labelName === "") fail(reader, "the metric name is empty");
        name = labelName;
        reader.pos++;
        if (next === CHAR_BRACE_CLOSE) return { labels, name };
        if (peek(reader) === CHAR_BRACE_CLOSE) {
          failExpected(reader, `a ${what} name`);
        }
        continue;
      }
      if (labelName === "") fail(reader, `a ${what} name is empty`);
    } else if (isLabelNameStart(peek(reader))) {
      labelName = readLabelName(reader);
    } else if (peek(reader) === CHAR_QUOTE) {
      failExpected(
        reader,
        `a ${what} name (quoted names need UTF-8 names enabled)`,
      );
    } else {
      failExpected(reader, `a ${what} name`);
    }
    if (peek(reader) !== CHAR_EQUALS) {
      failExpected(reader, `'=' after ${what} name ${quote(labelName)}`);
    }
    reader.pos++;
    if (peek(reader) !== CHAR_QUOTE) {
      failExpected(
        reader,
        `'"' to start the value of ${what} ${quote(labelName)}`,
      );
    }
    const value = readQuoted(reader, what, labelName);
    if (labelName === "__name__") {
      fail(reader, 'label name "__name__" is reserved');
    }
    if (options.limits !== undefined) {
      checkLabelLength(options.limits, options.metric, labelName, value);
    }
    let duplicate = false;
    if (names !== undefined) {
      duplicate = names.has(labelName);
    } else {
      for (const label of labels) duplicate ||= label.name === labelName;
    }
    if (duplicate) fail(reader, `duplicate ${what} name ${quote(labelName)}`);
    labels.push({ name: labelName, value });
    if (names !== undefined) names.add(labelName);
    else if (labels.length >= NAME_SET_MIN) {
      names = new Set(labels.map((label) => label.name));
    }
    const next = peek(reader);
    if (next === CHAR_BRACE_CLOSE) {
      reader.pos++;
      return { labels, name };
    }
    if (next !== CHAR_COMMA) {
      failExpected(
        reader,
        `',' or '}' after the value of ${what} ${quote(labelName)}`,
      );
    }
    reader.pos++;
    if (peek(reader) === CHAR_BRACE_CLOSE) {
      failExpected(reader, `a ${what} name`);
    }
  }
}

// ---------------------------------------------------------------------------
// Metadata lines

type MetadataKind = "HELP" | "TYPE" | "UNIT";

/** `# TYPE|HELP|UNIT name …`; any other "#" line is an error. */
function readMetadata(ctx: Context, reader: LineReader): void {
  const { text } = reader;
  const kind = text.startsWith("# HELP ", reader.pos)
    ? "HELP"
    : text.startsWith("# TYPE ", reader.pos)
    ? "TYPE"
    : text.startsWith("# UNIT ", reader.pos)
    ? "UNIT"
    : undefined;
  if (kind === undefined) {
    const start = quote(
      text.slice(reader.pos, Math.min(reader.end, reader.pos + 16)),
    );
    const allowed = '"# HELP", "# TYPE", "# UNIT" and "# EOF"';
    fail(
      reader,
      `unexpected line starting with ${start}; the only "#" lines allowed are ${allowed}`,
    );
  }
  reader.pos += 7;
  let name: string;
  if (peek(reader) === CHAR_QUOTE && ctx.utf8Names) {
    name = readQuoted(reader, "the quoted metric name");
    if (name === "") fail(reader, "the metric name is empty");
  } else if (isMetricNameStart(peek(reader))) {
    name = readMetricName(reader);
  } else {
    failExpected(reader, `a metric name after "# ${kind}"`);
  }
  checkMetricName(name, ctx.limits);
  if (peek(reader) !== CHAR_SPACE) {
    const what =
      { HELP: "the help text", TYPE: "a type", UNIT: "a unit" }[kind];
    failExpected(reader, `a space and ${what} after ${quote(name)}`);
  }
  reader.pos++;
  const family = familyForMetadata(ctx, name, kind, reader.line);
  switch (kind) {
    case "TYPE": {
      const type = text.slice(reader.pos, reader.end);
      if (!Object.hasOwn(ROLES, type)) {
        fail(
          reader,
          type === "untyped"
            ? 'unknown metric type "untyped"; OpenMetrics calls it "unknown"'
            : `unknown metric type ${
              quote(type)
            }; expected one of ${TYPE_LIST}`,
        );
      }
      family.type = type as OmType; // checked against ROLES' keys just above
      for (const [suffix] of ROLES[family.type]) {
        if (suffix !== "") claimName(ctx, family, name + suffix, reader.line);
      }
      checkUnitAllowed(family, reader.line);
      return;
    }
    case "HELP": {
      const help = readHelp(reader);
      family.help = help === "" ? undefined : help;
      return;
    }
    case "UNIT": {
      const unit = readMetricName(reader);
      if (reader.pos < reader.end) {
        failExpected(reader, "a unit of [a-zA-Z0-9_:]");
      }
      if (unit !== "" && !name.endsWith(`_${unit}`)) {
        const [u, n, suffix] = [quote(unit), quote(name), quote(`_${unit}`)];
        fail(
          reader,
          `unit ${u} is not a suffix of the metric name ${n}; the name must end in ${suffix}`,
        );
      }
      family.unit = unit === "" ? undefined : unit;
      checkUnitAllowed(family, reader.line);
      return;
    }
    default:
      return unreachable(kind);
  }
}

/** The family a metadata line describes; a new one unless it is the current. */
function familyForMetadata(
  ctx: Context,
  name: string,
  kind: MetadataKind,
  line: number,
): FamilyState {
  let family = ctx.family;
  if (family === undefined || family.name !== name) {
    finishFamily(ctx);
    family = startFamily(ctx, name, line, "metadata");
  } else if (family.hasSamples) {
    const family = quote(name);
    failLine(
      line,
      `${kind} line for metric family ${family} after its samples; metadata must come first`,
    );
  }
  if (family.seen.has(kind)) {
    failLine(line, `second ${kind} line for metric family ${quote(name)}`);
  }
  family.seen.add(kind);
  return family;
}

function checkUnitAllowed(family: FamilyState, line: number): void {
  const { type } = family;
  if (family.unit !== undefined && (type === "info" || type === "stateset")) {
    failLine(
      line,
      `${type} metric family ${quote(family.name)} must not have a unit`,
    );
  }
}

// ---------------------------------------------------------------------------
// Families and MetricPoints

interface Context {
  readonly utf8Names: boolean;
  readonly limits: TokenLimits;
  readonly families: MetricFamily[];
  /** Every sample name a family seen so far can use → that family's name. */
  readonly taken: Map<string, string>;
  family: FamilyState | undefined;
}

interface FamilyState {
  readonly name: string;
  /** undefined until a TYPE line or the first sample (then "unknown"). */
  type: OmType | undefined;
  help: string | undefined;
  unit: string | undefined;
  readonly seen: Set<MetadataKind>;
  hasSamples: boolean;
  readonly scalars: ScalarMetric[];
  readonly summaries: SummaryMetric[];
  readonly histograms: HistogramMetric[];
  /** Keys of the metrics seen so far, to catch interleaving. */
  readonly groups: Set<string>;
  point: PointState | undefined;
}

/**
 * One MetricPoint being assembled: the consecutive samples of one metric
 * (same labels apart from `le`/`quantile`/the state) and one timestamp.
 */
interface PointState {
  readonly groupKey: string;
  /** The labels that identify the metric, in the order of the first sample. */
  readonly groupLabels: readonly Label[];
  readonly timestamp: number | undefined;
  readonly timestampMs: number | undefined;
  /** The metric's own labels (without `le`, `quantile`). */
  readonly labels: readonly Label[];
  /** Sample identities within the point, to catch duplicates. */
  seen: string | string[] | Set<string> | undefined;
  lastLine: number;
  total: number | undefined;
  exemplar: Exemplar | undefined;
  createdMs: number | undefined;
  count: number | undefined;
  sum: number | undefined;
  readonly quantiles: Quantile[];
  readonly buckets: Bucket[];
  negativeBucket: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function startFamily(
  ctx: Context,
  name: string,
  line: number,
  from: "metadata" | "sample",
): FamilyState {
  const owner = ctx.taken.get(name);
  if (owner === name) {
    const family = quote(name);
    failLine(
      line,
      `metric family ${family} appears a second time; the lines of a family must be contiguous`,
    );
  }
  if (owner !== undefined) {
    const [n, o] = [quote(name), quote(owner)];
    failLine(
      line,
      from === "sample"
        ? `sample ${n} belongs to the earlier metric family ${o}; the lines of a family must be contiguous`
        : `metric family ${n} clashes with the earlier family ${o}, which can have samples named ${n}`,
    );
  }
  ctx.taken.set(name, name);
  const family: FamilyState = {
    name,
    type: undefined,
    help: undefined,
    unit: undefined,
    seen: new Set(),
    hasSamples: false,
    scalars: [],
    summaries: [],
    histograms: [],
    groups: new Set(),
    point: undefined,
  };
  ctx.family = family;
  return family;
}

/** Reserves a suffixed sample name for a family whose TYPE just arrived. */
function claimName(
  ctx: Context,
  family: FamilyState,
  sampleName: string,
  line: number,
): void {
  const owner = ctx.taken.get(sampleName);
  if (owner !== undefined) {
    const [f, o, n] = [quote(family.name), quote(owner), quote(sampleName)];
    failLine(
      line,
      `${family.type} metric family ${f} clashes with the earlier family ${o}: both can have samples named ${n}`,
    );
  }
  ctx.taken.set(sampleName, family.name);
}

/** The role of `name` in `family`, or undefined if it starts another family. */
function roleOf(family: FamilyState, name: string): Role | undefined {
  const base = family.name;
  if (!name.startsWith(base)) return undefined;
  // Compared in place: slicing the suffix off would allocate per sample.
  const roles = ROLES[family.type ?? "unknown"];
  for (let i = 0; i < roles.length; i++) {
    const [suffix, role] = roles[i] ?? ["", "value"];
    if (name.length === base.length + suffix.length && name.endsWith(suffix)) {
      return role;
    }
  }
  return undefined;
}

function addSample(ctx: Context, sample: SampleLine, line: number): void {
  let family = ctx.family;
  let role = family && roleOf(family, sample.name);
  if (family === undefined || role === undefined) {
    if (family !== undefined && ctx.taken.get(sample.name) === family.name) {
      const { name } = family;
      const names = ROLES[family.type ?? "unknown"]
        .map(([suffix]) => quote(name + suffix));
      const [n, f] = [quote(sample.name), quote(name)];
      failLine(
        line,
        `sample ${n} does not fit ${family.type} metric family ${f}, whose samples are named ${
          names.join(", ")
        }`,
      );
    }
    finishFamily(ctx);
    family = startFamily(ctx, sample.name, line, "sample");
    role = "value";
  }
  family.type ??= "unknown";
  family.hasSamples = true;

  // The label with a meaning for the role: le, quantile or the state.
  const special = role === "bucket"
    ? "le"
    : role === "quantile"
    ? "quantile"
    : family.type === "stateset"
    ? family.name
    : undefined;
  const specialValue = special === undefined
    ? undefined
    : labelValue(sample.labels, special);
  const bound = checkLabels(family, role, sample, specialValue, line);
  checkValue(family, role, sample, line);
  if (sample.exemplar !== undefined && role !== "total" && role !== "bucket") {
    const n = quote(sample.name);
    failLine(
      line,
      `exemplars are allowed only on counter "_total" and histogram "_bucket" samples, not on ${n}`,
    );
  }

  // MetricPoint boundaries and order (spec "Metric", "MetricPoint").
  let point = family.point;
  const samePoint = point !== undefined &&
    (family.type === "info" || sameGroup(point, sample.labels, special));
  const groupKey = samePoint && point !== undefined
    ? point.groupKey
    : family.type === "info"
    ? ""
    : labelsKey(sample.labels, special);
  if (point?.groupKey === groupKey) {
    if ((sample.timestamp === undefined) !== (point.timestamp === undefined)) {
      const series = seriesText(family.name, sample.labels);
      failLine(
        line,
        `some samples of ${series} have a timestamp and others do not`,
      );
    }
    if (
      sample.timestamp !== undefined && point.timestamp !== undefined &&
      sample.timestamp < point.timestamp && family.type !== "info"
    ) {
      const series = seriesText(family.name, sample.labels);
      failLine(line, `the timestamps of ${series} go backwards`);
    }
  } else if (family.groups.has(groupKey)) {
    const series = seriesText(family.name, sample.labels);
    failLine(
      line,
      `${series} appears again after other metrics; the samples of a metric must be contiguous`,
    );
  }
  if (point?.groupKey !== groupKey || point.timestamp !== sample.timestamp) {
    if (point !== undefined) finishPoint(family, point);
    point = startPoint(family, sample, groupKey, special);
  }
  const seriesKey = family.type === "info"
    ? labelsKey(sample.labels, undefined)
    : specialValue === undefined
    ? role
    : `${role}\u0000${specialValue}`;
  if (!markSeen(point, seriesKey)) {
    // With timestamps this may be distinct instants truncated alike; the
    // reference parser keeps the first sample then.
    if (sample.timestamp !== undefined) return;
    const series = seriesText(sample.name, sample.labels);
    failLine(line, `duplicate sample ${series}`);
  }
  point.lastLine = line;
  addToPoint(family, point, role, sample, bound, line);
}

/**
 * Checks the labels the role needs (`le`, `quantile`, the state label) and
 * returns `le` or `quantile` as a number (0 for other roles).
 */
function checkLabels(
  family: FamilyState,
  role: Role,
  sample: SampleLine,
  specialValue: string | undefined,
  line: number,
): number {
  const { name, type } = family;
  switch (role) {
    case "bucket": {
      if (specialValue === undefined) {
        failLine(
          line,
          `histogram bucket ${quote(sample.name)} has no "le" label`,
        );
      }
      const le = labelNumber(specialValue, "le", line);
      if (Number.isNaN(le)) failLine(line, '"le" must not be NaN');
      if (le === Infinity && specialValue !== "+Inf") {
        // Canonical numbers (spec "Considerations: Canonical Numbers").
        failLine(
          line,
          `write "le" of the +Inf bucket as "+Inf", not ${quote(specialValue)}`,
        );
      }
      return le;
    }
    case "quantile": {
      if (specialValue === undefined) {
        failLine(
          line,
          `summary sample ${quote(sample.name)} has no "quantile" label`,
        );
      }
      const quantile = labelNumber(specialValue, "quantile", line);
      if (!(quantile >= 0 && quantile <= 1)) {
        failLine(
          line,
          `"quantile" must be between 0 and 1, got ${quote(specialValue)}`,
        );
      }
      return quantile;
    }
    case "value":
      if (type === "stateset" && specialValue === undefined) {
        const [n, f] = [quote(sample.name), quote(name)];
        failLine(
          line,
          `stateset sample ${n} has no label ${f} naming its state`,
        );
      }
      return 0;
    default: {
      const histogram = type === "histogram" || type === "gaugehistogram";
      if (histogram && labelValue(sample.labels, "le") !== undefined) {
        failLine(
          line,
          `"le" is reserved for the buckets of histogram ${quote(name)}`,
        );
      }
      if (
        type === "summary" &&
        labelValue(sample.labels, "quantile") !== undefined
      ) {
        failLine(
          line,
          `"quantile" is reserved for the quantiles of summary ${quote(name)}`,
        );
      }
      return 0;
    }
  }
}

/** Values the spec forbids for the role (client_python checks the same). */
function checkValue(
  family: FamilyState,
  role: Role,
  sample: SampleLine,
  line: number,
): void {
  const { value, valueText } = sample;
  switch (role) {
    case "total":
    case "sum":
    case "count":
    case "gcount":
    case "bucket":
      // Counters "semantically" (spec: Counter, Histogram, Summary).
      if (Number.isNaN(value)) {
        failLine(line, `${quote(sample.name)} must not be NaN`);
      }
      if (value < 0) {
        failLine(
          line,
          `${quote(sample.name)} must not be negative, got ${valueText}`,
        );
      }
      if (
        (role === "count" || role === "gcount" || role === "bucket") &&
        !Number.isInteger(value)
      ) {
        failLine(
          line,
          `${quote(sample.name)} must be an integer, got ${valueText}`,
        );
      }
      return;
    case "gsum":
      if (Number.isNaN(value)) {
        failLine(line, `${quote(sample.name)} must not be NaN`);
      }
      return;
    case "quantile":
      if (value < 0) {
        failLine(
          line,
          `quantile values must not be negative, got ${valueText}`,
        );
      }
      return;
    case "value":
      if (family.type === "stateset" && value !== 0 && value !== 1) {
        failLine(line, `stateset values must be 0 or 1, got ${valueText}`);
      }
      if (family.type === "info" && value !== 1) {
        failLine(line, `info values must be 1, got ${valueText}`);
      }
      return;
    case "created":
      if (!Number.isFinite(value)) {
        failLine(
          line,
          `${
            quote(sample.name)
          } must be a timestamp in seconds, got ${valueText}`,
        );
      }
      return;
    default:
      return unreachable(role);
  }
}

function startPoint(
  family: FamilyState,
  sample: SampleLine,
  groupKey: string,
  special: string | undefined,
): PointState {
  family.groups.add(groupKey);
  const groupLabels = special === undefined
    ? sample.labels
    : sample.labels.filter((label) => label.name !== special);
  const point: PointState = {
    groupKey,
    groupLabels,
    timestamp: sample.timestamp,
    timestampMs: sample.timestampMs,
    labels: family.type === "stateset" ? sample.labels : groupLabels,
    seen: undefined,
    lastLine: 0,
    total: undefined,
    exemplar: undefined,
    createdMs: undefined,
    count: undefined,
    sum: undefined,
    quantiles: [],
    buckets: [],
    negativeBucket: false,
  };
  family.point = point;
  return point;
}

/** Whether `labels` without `skip` are the point's labels, in the same order. */
function sameGroup(
  point: PointState,
  labels: readonly Label[],
  skip: string | undefined,
): boolean {
  const group = point.groupLabels;
  let i = 0;
  for (const label of labels) {
    if (label.name === skip) continue;
    const other = group[i++];
    if (other?.name !== label.name || other.value !== label.value) return false;
  }
  return i === group.length;
}

/** Records a sample identity in the point; false if it was there already. */
function markSeen(point: PointState, key: string): boolean {
  // Most points hold one to a dozen samples: no Set until it pays.
  const { seen } = point;
  if (seen === undefined) {
    point.seen = key;
  } else if (typeof seen === "string") {
    if (seen === key) return false;
    point.seen = [seen, key];
  } else if (Array.isArray(seen)) {
    if (seen.includes(key)) return false;
    if (seen.length < 16) seen.push(key);
    else point.seen = new Set([...seen, key]);
  } else {
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}

/** Adds a checked sample to its point (scalar samples go straight out). */
function addToPoint(
  family: FamilyState,
  point: PointState,
  role: Role,
  sample: SampleLine,
  bound: number,
  line: number,
): void {
  switch (role) {
    case "value": {
      const metric: Mutable<ScalarMetric> = {
        labels: sample.labels,
        value: sample.value,
      };
      if (sample.timestampMs !== undefined) {
        metric.timestampMs = sample.timestampMs;
      }
      family.scalars.push(metric);
      return;
    }
    case "total":
      point.total = sample.value;
      point.exemplar = sample.exemplar;
      return;
    case "created":
      point.createdMs = secondsToMs(sample.valueText, sample.value);
      return;
    case "count":
    case "gcount":
      point.count = sample.value;
      return;
    case "sum":
    case "gsum":
      point.sum = sample.value;
      return;
    case "quantile":
      point.quantiles.push({ quantile: bound, value: sample.value });
      return;
    case "bucket": {
      const previous = point.buckets.at(-1);
      const le = labelValue(sample.labels, "le");
      if (previous !== undefined && !(bound > previous.upperBound)) {
        const [f, l, before] = [
          quote(family.name),
          quote(le ?? ""),
          previous.upperBound,
        ];
        failLine(
          line,
          `buckets of histogram ${f} must be sorted by increasing "le"; le=${l} comes after le=${before}`,
        );
      }
      if (previous !== undefined && sample.value < previous.cumulativeCount) {
        const [l, f, before] = [
          quote(le ?? ""),
          quote(family.name),
          previous.cumulativeCount,
        ];
        failLine(
          line,
          `bucket le=${l} of histogram ${f} counts ${sample.value}, less than the bucket before it (${before})`,
        );
      }
      if (bound < 0) point.negativeBucket = true;
      const bucket: Mutable<Bucket> = {
        upperBound: bound,
        cumulativeCount: sample.value,
      };
      if (sample.exemplar !== undefined) bucket.exemplar = sample.exemplar;
      point.buckets.push(bucket);
      return;
    }
    default:
      return unreachable(role);
  }
}

/** Checks a complete MetricPoint and adds it to its family's metrics. */
function finishPoint(family: FamilyState, point: PointState): void {
  const line = point.lastLine;
  switch (family.type) {
    case undefined:
    case "gauge":
    case "unknown":
    case "stateset":
    case "info":
      return; // added sample by sample
    case "counter": {
      if (point.total === undefined) {
        failLine(
          line,
          `counter ${
            seriesText(family.name, point.labels)
          } has a "_created" sample but no "_total" sample`,
        );
      }
      const metric: Mutable<ScalarMetric> = {
        labels: point.labels,
        value: point.total,
      };
      if (point.exemplar !== undefined) metric.exemplar = point.exemplar;
      if (point.createdMs !== undefined) {
        metric.createdTimestampMs = point.createdMs;
      }
      if (point.timestampMs !== undefined) {
        metric.timestampMs = point.timestampMs;
      }
      family.scalars.push(metric);
      return;
    }
    case "summary": {
      const metric: Mutable<SummaryMetric> = {
        labels: point.labels,
        sampleCount: point.count ?? 0,
        sampleSum: point.sum ?? 0,
        quantiles: point.quantiles,
      };
      if (point.createdMs !== undefined) {
        metric.createdTimestampMs = point.createdMs;
      }
      if (point.timestampMs !== undefined) {
        metric.timestampMs = point.timestampMs;
      }
      family.summaries.push(metric);
      return;
    }
    case "histogram":
    case "gaugehistogram": {
      const { type } = family;
      const gauge = type === "gaugehistogram";
      const count = gauge ? "_gcount" : "_count";
      const sum = gauge ? "_gsum" : "_sum";
      const inf = point.buckets.at(-1);
      if (inf === undefined || inf.upperBound !== Infinity) {
        failLine(
          line,
          `${type} ${
            seriesText(family.name, point.labels)
          } has no bucket with le="+Inf"`,
        );
      }
      if (point.count !== undefined && point.count !== inf.cumulativeCount) {
        failLine(
          line,
          `${count} of ${type} ${
            seriesText(family.name, point.labels)
          } is ${point.count}, but its +Inf bucket counts ${inf.cumulativeCount}`,
        );
      }
      if (point.sum !== undefined && point.count === undefined) {
        failLine(
          line,
          `${type} ${
            seriesText(family.name, point.labels)
          } has ${sum} but no ${count}`,
        );
      }
      if (point.sum === undefined && point.count !== undefined) {
        failLine(
          line,
          `${type} ${
            seriesText(family.name, point.labels)
          } has ${count} but no ${sum}`,
        );
      }
      if (!gauge && point.negativeBucket && point.sum !== undefined) {
        failLine(
          line,
          `histogram ${
            seriesText(family.name, point.labels)
          } has a bucket with a negative "le", so it must not have _sum`,
        );
      }
      if (gauge && !point.negativeBucket && (point.sum ?? 0) < 0) {
        failLine(
          line,
          `_gsum of ${
            seriesText(family.name, point.labels)
          } is negative, but no bucket has a negative "le"`,
        );
      }
      const metric: Mutable<HistogramMetric> = {
        labels: point.labels,
        sampleCount: point.count ?? inf.cumulativeCount,
        sampleSum: point.sum ?? 0,
        buckets: point.buckets,
      };
      if (point.createdMs !== undefined) {
        metric.createdTimestampMs = point.createdMs;
      }
      if (point.timestampMs !== undefined) {
        metric.timestampMs = point.timestampMs;
      }
      family.histograms.push(metric);
      return;
    }
    default:
      return unreachable(family.type);
  }
}

/** Ends the current family and adds it to the result unless it is empty. */
function finishFamily(ctx: Context): void {
  const family = ctx.family;
  if (family === undefined) return;
  ctx.family = undefined;
  if (family.point !== undefined) finishPoint(family, family.point);
  const { name, help, unit } = family;
  const base = unit === undefined ? { help } : { help, unit };
  const type = family.type ?? "unknown";
  let result: MetricFamily;
  switch (type) {
    case "counter":
      result = {
        ...base,
        name: `${name}_total`,
        type,
        metrics: family.scalars,
      };
      break;
    case "gauge":
    case "stateset":
      result = { ...base, name, type: "gauge", metrics: family.scalars };
      break;
    case "info":
      result = {
        ...base,
        name: `${name}_info`,
        type: "gauge",
        metrics: family.scalars,
      };
      break;
    case "unknown":
      result = { ...base, name, type: "untyped", metrics: family.scalars };
      break;
    case "summary":
      result = { ...base, name, type, metrics: family.summaries };
      break;
    case "histogram":
    case "gaugehistogram":
      result = { ...base, name, type, metrics: family.histograms };
      break;
    default:
      return unreachable(type);
  }
  if (result.metrics.length > 0) ctx.families.push(result);
}

// ---------------------------------------------------------------------------
// Labels

function labelValue(
  labels: readonly Label[],
  name: string,
): string | undefined {
  for (const label of labels) if (label.name === name) return label.value;
  return undefined;
}

function labelNumber(text: string, name: string, line: number): number {
  const value = toNumber(text);
  if (value === undefined) {
    const [n, t] = [quote(name), quote(text)];
    failLine(line, `expected a number as the value of label ${n}, got ${t}`);
  }
  return value;
}

/**
 * A key for a label set that ignores label order, leaving out `skip`.
 * Length prefixes keep it unambiguous: names and values may hold any
 * character.
 */
function labelsKey(labels: readonly Label[], skip: string | undefined): string {
  let sorted = labels;
  let previous = "";
  for (const { name } of labels) {
    if (name === skip) continue;
    if (name < previous) {
      sorted = labels.toSorted((a, b) => a.name < b.name ? -1 : 1);
      break;
    }
    previous = name;
  }
  let key = "";
  for (const { name, value } of sorted) {
    if (name !== skip) key += `${name.length}:${name}${value.length}:${value}`;
  }
  return key;
}

/**
 * Refuses a metric name over the limit of a label value (token_limits.ts).
 * Names are slices of the body's text, so nothing was copied yet.
 */
function checkMetricName(name: string, limits: TokenLimits): void {
  const max = limits.maxLabelValueBytes;
  if (name.length * 3 <= max) return;
  const bytes = utf8Length(name);
  if (bytes <= max) return;
  throw new TokenTooLongError({
    reason: "label_value_too_long",
    metric: name.slice(0, 4 * QUOTED_PREFIX_BYTES),
    label: undefined,
    bytes,
    limit: max,
  });
}

/** Refuses a sample's label name or value over its limit. */
function checkLabelLength(
  limits: TokenLimits,
  metric: string,
  name: string,
  value: string,
): void {
  const { maxLabelNameBytes, maxLabelValueBytes } = limits;
  if (name.length * 3 > maxLabelNameBytes) {
    const bytes = utf8Length(name);
    if (bytes > maxLabelNameBytes) {
      throw new TokenTooLongError({
        reason: "label_name_too_long",
        metric,
        label: name.slice(0, 4 * QUOTED_PREFIX_BYTES),
        bytes,
        limit: maxLabelNameBytes,
      });
    }
  }
  if (value.length * 3 > maxLabelValueBytes) {
    const bytes = utf8Length(value);
    if (bytes > maxLabelValueBytes) {
      throw new TokenTooLongError({
        reason: "label_value_too_long",
        metric,
        label: name,
        bytes,
        limit: maxLabelValueBytes,
      });
    }
  }
}

/** `"name"{a="1",b="2"}` for messages. */
function seriesText(name: string, labels: readonly Label[]): string {
  if (labels.length === 0) return quote(name);
  const pairs = labels.map((label) => `${label.name}=${quote(label.value)}`);
  return `${quote(name)}{${pairs.join(",")}}`;
}
