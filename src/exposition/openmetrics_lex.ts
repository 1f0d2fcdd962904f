/**
 * The OpenMetrics text as lines: reading a line, its names, quoted strings,
 * numbers and timestamps, and sample lines with their labels and exemplars,
 * each failing with the parser's message. Metadata lines are read with these
 * readers in openmetrics_metadata.ts.
 * @module
 */

import { parseGoFloat } from "./float.ts";
import { type Exemplar, ExpositionError, type Label } from "./model.ts";
import {
  MAX_NUMBER_BYTES,
  QUOTED_PREFIX_BYTES,
  type TokenLimits,
} from "./token_limits.ts";
import {
  CHAR_BACKSLASH,
  CHAR_BRACE_CLOSE,
  CHAR_BRACE_OPEN,
  CHAR_COMMA,
  CHAR_EQUALS,
  CHAR_HASH,
  CHAR_QUOTE,
  CHAR_SPACE,
  checkLabelLength,
  checkMetricName,
  type Context,
  MAX_EXEMPLAR_LABEL_CHARS,
  quote,
} from "./openmetrics_state.ts";

// ---------------------------------------------------------------------------
// Reading a line

/** One line being read: `pos` advances, `end` is the index of its "\n". */
export interface LineReader {
  readonly text: string;
  pos: number;
  readonly end: number;
  readonly line: number;
}

export function fail(reader: LineReader, detail: string): never {
  throw new ExpositionError(reader.line, detail);
}

/** Fails with "expected …, found <the character at pos>". */
export function failExpected(reader: LineReader, expected: string): never {
  let found = "end of line";
  if (reader.pos < reader.end) {
    const codePoint = reader.text.codePointAt(reader.pos) ?? 0;
    found = quote(String.fromCodePoint(codePoint));
  }
  fail(reader, `expected ${expected}, found ${found}`);
}

export function peek(reader: LineReader): number {
  return reader.pos < reader.end ? reader.text.charCodeAt(reader.pos) : -1;
}

export function isMetricNameStart(c: number): boolean {
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
export function readMetricName(reader: LineReader): string {
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
export function readQuoted(
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
export function readHelp(reader: LineReader): string {
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
export function toNumber(token: string): number | undefined {
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
export function secondsToMs(token: string, seconds: number): number {
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

export interface SampleLine {
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
export function readSample(reader: LineReader, ctx: Context): SampleLine {
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
