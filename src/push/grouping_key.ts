/**
 * Push URL → grouping key (docs/compatibility.md, Grouping keys). Pure: no HTTP
 * objects, no store. Error messages are the Pushgateway's, word for word
 * (docs/compatibility.md, Methods and status codes).
 *
 * Deviation (docs/compatibility.md, Deliberate differences): a grouping label
 * value that is not valid UTF-8 is refused here with 400, instead of creating a
 * group that poisons the store.
 * @module
 */

import { LABEL_NAME_RE } from "../exposition/model.ts";
import type { Label } from "../exposition/model.ts";
import { PushError } from "./push_error.ts";

export interface GroupingKey {
  /** Sorted by name; always contains `job`. */
  readonly labels: readonly Label[];
  /**
   * Canonical, human-readable and unique: `{instance="db1",job="backup"}`;
   * a name that is not a legacy one is quoted: `{"a.b"="1",job="x"}`.
   */
  readonly id: string;
  readonly job: string;
}

export interface GroupingKeyOptions {
  /**
   * `--push.enable-utf8-names`: `U__` label names are unescaped
   * (docs/compatibility.md, UTF-8 names).
   */
  readonly utf8Names?: boolean;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses the part of a push path after `/metrics/`, already percent-decoded:
 * `job/<job>{/<name>/<value>}` or `job@base64/<job>{...}`. Returns undefined
 * when the path is not a push path at all (the caller answers 404).
 */
export function parseGroupingKey(
  path: string,
  options: GroupingKeyOptions = {},
): GroupingKey | undefined {
  // Jobs push to the same groups again and again: each path is parsed once
  // (keys are immutable, so one object serves every push of the group).
  const cache = options.utf8Names === true ? UTF8_KEYS : KEYS;
  const cached = cache.get(path);
  if (cached !== undefined) return cached;
  const key = parseUncached(path, options);
  if (key !== undefined) {
    if (cache.size >= KEYS_MAX) cache.clear();
    cache.set(path, key);
  }
  return key;
}
const KEYS = new Map<string, GroupingKey>();
const UTF8_KEYS = new Map<string, GroupingKey>();
const KEYS_MAX = 10_000;

function parseUncached(
  path: string,
  options: GroupingKeyOptions,
): GroupingKey | undefined {
  let jobEncoded: boolean;
  let rest: string;
  if (path.startsWith("job/")) {
    jobEncoded = false;
    rest = path.slice(4);
  } else if (path.startsWith("job@base64/")) {
    jobEncoded = true;
    rest = path.slice(11);
  } else {
    return undefined;
  }
  const slash = rest.indexOf("/");
  const jobRaw = slash < 0 ? rest : rest.slice(0, slash);
  const labelPath = slash < 0 ? "" : rest.slice(slash);
  if (jobRaw === "") return undefined; // `/metrics/job/` is not a route

  let job = jobRaw;
  if (jobEncoded) {
    const decoded = decodeBase64Url(jobRaw);
    if (decoded instanceof Base64Error) {
      // Go reports the job decoded so far (the complete quanta before the bad one).
      const soFar = new TextDecoder().decode(decoded.decodedSoFar);
      throw new PushError(
        "invalid",
        `invalid base64 encoding in job name ${
          JSON.stringify(soFar)
        }: illegal base64 data at input byte ${decoded.offset}`,
      );
    }
    job = utf8OrThrow(decoded, "job", jobRaw);
  }
  if (job === "") throw new PushError("invalid", "job name is required");

  const labels = new Map<string, string>();
  for (const [name, value] of parseLabelPath(labelPath, options)) {
    labels.set(name, value); // later pairs win, no error
  }
  labels.set("job", job); // the job segment always wins
  return makeGroupingKey(labels);
}

/** Builds a key from label pairs (used by imports and tests too). */
export function makeGroupingKey(
  labels: ReadonlyMap<string, string>,
): GroupingKey {
  const sorted = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
  const job = labels.get("job") ?? "";
  return { labels: sorted, id: groupingKeyId(sorted), job };
}

/**
 * `{a="1",job="x"}` for labels already sorted by name. Injective: the store
 * and the view know a group by this string alone, so two label sets must
 * never share it (README "The database"). Values are quoted and escaped; a
 * name is written bare only when it is a legacy name (`[a-zA-Z_][a-zA-Z0-9_]*`,
 * which cannot hold `=`, `,` or `"`), otherwise quoted and escaped as
 * Prometheus' UTF-8 exposition quotes it: with `--push.enable-utf8-names` the
 * name `a="1",b` would else turn `{a="1",b="2",job="x"}` into someone else's
 * group. Legacy-named groups keep the key they always had.
 */
export function groupingKeyId(sorted: readonly Label[]): string {
  let id = "{";
  for (let i = 0; i < sorted.length; i++) {
    const { name, value } = sorted[i] as Label;
    const quotedName = LABEL_NAME_RE.test(name)
      ? name
      : `"${escapeLabelText(name)}"`;
    id += `${i > 0 ? "," : ""}${quotedName}="${escapeLabelText(value)}"`;
  }
  return `${id}}`;
}

/** The text format's escapes for a quoted label value (or UTF-8 name). */
function escapeLabelText(text: string): string {
  return text.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function* parseLabelPath(
  labelPath: string,
  options: GroupingKeyOptions,
): Generator<[string, string]> {
  if (labelPath.length <= 1) return; // absent or a single trailing slash
  const parts = labelPath.slice(1).split("/");
  if (parts.length % 2 !== 0) {
    throw new PushError(
      "invalid",
      `odd number of components in label string "${labelPath}"`,
    );
  }
  for (let i = 0; i < parts.length; i += 2) {
    let name = parts[i] ?? "";
    let value = parts[i + 1] ?? "";
    let encoded = false;
    if (name.endsWith("@base64")) {
      name = name.slice(0, -7);
      encoded = true;
    }
    name = checkLabelName(name, options);
    if (encoded) {
      const decoded = decodeBase64Url(value);
      if (decoded instanceof Base64Error) {
        throw new PushError(
          "invalid",
          `invalid base64 encoding for label ${name}=${
            JSON.stringify(value)
          }: illegal base64 data at input byte ${decoded.offset}`,
        );
      }
      value = utf8OrThrow(decoded, name, value);
    }
    yield [name, value];
  }
}

function checkLabelName(name: string, options: GroupingKeyOptions): string {
  if (options.utf8Names) {
    const unescaped = name.startsWith("U__") ? unescapeUtf8Name(name) : name;
    if (unescaped !== "" && !name.startsWith("__")) return unescaped;
  } else if (LABEL_NAME_RE.test(name) && !name.startsWith("__")) {
    return name;
  }
  throw new PushError("invalid", `improper label name ${JSON.stringify(name)}`);
}

/**
 * Undoes the `U__` escaping of prometheus/common `model.UnescapeName`:
 * `__` → `_`, `_<hex>_` → that code point. An invalid sequence leaves the
 * whole name as it was (docs/compatibility.md, UTF-8 names).
 */
export function unescapeUtf8Name(name: string): string {
  const body = name.slice(3);
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== "_") {
      out += c;
      continue;
    }
    if (body[i + 1] === "_") {
      out += "_";
      i++;
      continue;
    }
    const end = body.indexOf("_", i + 1);
    if (end < 0) return name;
    const hex = body.slice(i + 1, end);
    if (!/^[0-9a-fA-F]+$/.test(hex)) return name;
    const code = parseInt(hex, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return name;
    out += String.fromCodePoint(code);
    i = end;
  }
  return out;
}

function utf8OrThrow(bytes: Uint8Array, name: string, raw: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new PushError(
      "invalid",
      `invalid UTF-8 in the value of grouping label ${name} (base64 ${
        JSON.stringify(raw)
      }): label values must be valid UTF-8`,
    );
  }
}

const B64_VALUES = (() => {
  const table = new Int16Array(128).fill(-1);
  const alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/** Where Go's base64 decoder stops, and what it had decoded by then. */
export class Base64Error {
  constructor(readonly offset: number, readonly decodedSoFar: Uint8Array) {}
}

/**
 * Base64url as the Pushgateway decodes it: every trailing `=` stripped, then
 * unpadded, lenient about trailing bits, CR and LF skipped. Returns the bytes,
 * or where Go's decoder would report illegal data.
 */
export function decodeBase64Url(text: string): Uint8Array | Base64Error {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d) end--;
  const out = new Uint8Array(Math.floor((end * 3) / 4) + 3);
  let length = 0;
  let buffer = 0;
  let bits = 0;
  let quantumStart = 0;
  let inQuantum = 0;
  let complete = 0; // bytes of the quanta decoded whole
  const fail = (offset: number) =>
    new Base64Error(offset, out.slice(0, complete));
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x0a || code === 0x0d) continue;
    const v = code < 128 ? (B64_VALUES[code] ?? -1) : -1;
    if (v < 0) return fail(i);
    if (inQuantum === 0) {
      quantumStart = i;
      complete = length;
    }
    inQuantum = (inQuantum + 1) % 4;
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[length++] = (buffer >> bits) & 0xff;
    }
  }
  if (inQuantum === 1) { // a lone sextet cannot make a byte
    complete = length;
    return fail(quantumStart);
  }
  return out.subarray(0, length);
}
