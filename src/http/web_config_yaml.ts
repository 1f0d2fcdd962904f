/**
 * Narrowing the YAML of `--web.config.file` to the types a key needs, with
 * an error naming the key (web_config.ts's strict reading): mappings with
 * their allowed keys, lists, strings, booleans, Go durations.
 * @module
 */

/** Throws the file's WebConfigError for `key`. */
export type Fail = (key: string, detail: string) => never;

export function mapping(
  value: unknown,
  key: string,
  fail: Fail,
  allowed?: readonly string[],
): Map<string, unknown> {
  if (value === null) return new Map();
  if (typeof value !== "object" || Array.isArray(value)) {
    return fail(key, `expected a mapping, found ${describe(value)}`);
  }
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (allowed && !allowed.includes(k)) {
      fail(
        key === "" ? k : `${key}.${k}`,
        `unknown key; expected one of: ${allowed.join(", ")}`,
      );
    }
    out.set(k, v);
  }
  return out;
}

export function list(value: unknown, key: string, fail: Fail): unknown[] {
  if (!Array.isArray(value)) {
    return fail(key, `expected a list, found ${describe(value)}`);
  }
  return value;
}

export function string(value: unknown, key: string, fail: Fail): string {
  if (typeof value !== "string") {
    return fail(key, `expected a string, found ${describe(value)}`);
  }
  return value;
}

export function optionalBool(
  value: unknown,
  key: string,
  fail: Fail,
): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") {
    return fail(key, `expected true or false, found ${describe(value)}`);
  }
  return value;
}

export function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "nothing";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}

const GO_DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration (`1s`, `1.5m`, `1h30m`), or an int of nanoseconds → ms. */
export function goDuration(value: unknown, key: string, fail: Fail): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
    return value / 1e6;
  }
  if (typeof value !== "string") {
    return fail(key, `expected a duration like 1s, found ${describe(value)}`);
  }
  if (value === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let at = 0;
  let total = 0;
  while (at < value.length) {
    re.lastIndex = at;
    const m = re.exec(value);
    if (!m) break;
    total += Number(m[1]) * (GO_DURATION_UNITS[m[2] as string] as number);
    at = re.lastIndex;
  }
  if (at !== value.length || value.length === 0) {
    fail(
      key,
      `invalid duration ${
        JSON.stringify(value)
      }; expected e.g. 1s, 500ms, 1m30s`,
    );
  }
  return total;
}
