/**
 * Writes the Pushgateway's persistence file (`--persistence.file`) directly,
 * so the gateway benchmark can start Debian's Pushgateway 1.5.1 with a
 * million series restored in seconds instead of preloading it by HTTP pushes
 * (each of which re-gathers the whole store: O(n²) over the preload).
 *
 * The file is what `DiskMetricStore.persist` (prometheus/pushgateway v1.5.1
 * `storage/diskmetricstore.go`) writes: one `encoding/gob` stream of a
 * `GroupingKeyToMetricGroup`, i.e. `map[string]MetricGroup` keyed by
 * `groupingKeyFor(labels)` (label names sorted, names and values joined by
 * 0xff), where each `MetricGroup` holds its grouping `Labels` and
 * `Metrics map[string]TimestampedMetricFamily`; a `TimestampedMetricFamily`
 * is a `time.Time` (gob-encoded by its `MarshalBinary`) and a
 * `*GobbableMetricFamily`, gob-encoded as `proto.Marshal` of the
 * `io.prometheus.client.MetricFamily`.
 *
 * The stream starts with gob's type definitions, which depend only on those
 * Go types: {@link GOB_TYPE_DEFINITIONS} holds them as 1.5.1 wrote them in a
 * real snapshot; this module then encodes the one value message after them.
 * As a push would, every group also gets `push_time_seconds` (the push time)
 * and `push_failure_time_seconds` (0), and the pushed metrics carry the
 * grouping labels and an `instance` label (`sanitizeLabels`).
 *
 * CLI: `deno run -A scripts/bench/pg_snapshot.ts --groups N --out FILE`
 * writes workload groups 0..N-1 (`preloadPath`/`preloadBody`).
 * @module
 */

import { parseText } from "../../src/exposition/text_parse.ts";
import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import type { Label, MetricFamily } from "../../src/exposition/model.ts";
import { parseGroupingKey } from "../../src/push/grouping_key.ts";
import { preloadBody, preloadPath } from "./workload.ts";

/** One grouping key's state, as after a successful push. */
export interface SnapshotGroup {
  /** Grouping labels, job first, e.g. `{ job: "backup", instance: "db1" }`. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Families as the Pushgateway stores them after a push: encoded
   * `io.prometheus.client.MetricFamily` messages (not length-delimited),
   * keyed by name, without `push_time_seconds`/`push_failure_time_seconds`
   * (the writer adds them). {@link familiesFromText} makes them.
   */
  readonly families: ReadonlyMap<string, Uint8Array>;
  /** Push time, ms since epoch. */
  readonly pushedAtMs: number;
}

/**
 * Gob type definitions of `GroupingKeyToMetricGroup` as Pushgateway 1.5.1
 * sends them before the value (type ids 65–92; the map is id 71), copied
 * from a snapshot it wrote. Base64.
 */
const GOB_TYPE_DEFINITIONS_B64 =
  "Kf+NBAEBGEdyb3VwaW5nS2V5VG9NZXRyaWNHcm91cAH/jgABDAH/ggAAJf+BAwEC/4IAAQIBBkxhYmVscwH/hAABB01ldHJpY3MB/4wAAAAh/4MEAQERbWFwW3N0cmluZ11zdHJpbmcB/4QAAQwBDAAAMf+LBAEBIE5hbWVUb1RpbWVzdGFtcGVkTWV0cmljRmFtaWx5TWFwAf+MAAEMAf+GAAA1/4UDAQL/hgABAgEJVGltZXN0YW1wAf+IAAEUR29iYmFibGVNZXRyaWNGYW1pbHkB/4oAAAAQ/4cFAQEEVGltZQH/iAAAAAr/iQUBAv+QAAAADf+3AgEC/7gAAf+SAAD/qf+RAwEC/5IAAQoBBUxhYmVsAf+YAAEFR2F1Z2UB/5oAAQdDb3VudGVyAf+cAAEHU3VtbWFyeQH/ogABB1VudHlwZWQB/6gAAQlIaXN0b2dyYW0B/6oAAQtUaW1lc3RhbXBNcwEEAAEUWFhYX05vVW5rZXllZExpdGVyYWwB/5YAARBYWFhfdW5yZWNvZ25pemVkAQoAAQ1YWFhfc2l6ZWNhY2hlAQQAAAAw/5cCAQEhW10qaW9fcHJvbWV0aGV1c19jbGllbnQuTGFiZWxQYWlyAf+YAAH/lAAAYP+TAwEC/5QAAQUBBE5hbWUBDAABBVZhbHVlAQwAARRYWFhfTm9VbmtleWVkTGl0ZXJhbAH/lgABEFhYWF91bnJlY29nbml6ZWQBCgABDVhYWF9zaXplY2FjaGUBBAAAABX/lQMBAQlzdHJ1Y3Qge30B/5YAAABe/5kDAQEFR2F1Z2UB/5oAAQQBBVZhbHVlAQgAARRYWFhfTm9VbmtleWVkTGl0ZXJhbAH/lgABEFhYWF91bnJlY29nbml6ZWQBCgABDVhYWF9zaXplY2FjaGUBBAAAAG7/mwMBAQdDb3VudGVyAf+cAAEFAQVWYWx1ZQEIAAEIRXhlbXBsYXIB/54AARRYWFhfTm9VbmtleWVkTGl0ZXJhbAH/lgABEFhYWF91bnJlY29nbml6ZWQBCgABDVhYWF9zaXplY2FjaGUBBAAAAHv/nQMBAQhFeGVtcGxhcgH/ngABBgEFTGFiZWwB/5gAAQVWYWx1ZQEIAAEJVGltZXN0YW1wAf+gAAEUWFhYX05vVW5rZXllZExpdGVyYWwB/5YAARBYWFhfdW5yZWNvZ25pemVkAQoAAQ1YWFhfc2l6ZWNhY2hlAQQAAABu/58DAQEJVGltZXN0YW1wAf+gAAEFAQdTZWNvbmRzAQQAAQVOYW5vcwEEAAEUWFhYX05vVW5rZXllZExpdGVyYWwB/5YAARBYWFhfdW5yZWNvZ25pemVkAQoAAQ1YWFhfc2l6ZWNhY2hlAQQAAAD/gv+hAwEBB1N1bW1hcnkB/6IAAQYBC1NhbXBsZUNvdW50AQYAAQlTYW1wbGVTdW0BCAABCFF1YW50aWxlAf+mAAEUWFhYX05vVW5rZXllZExpdGVyYWwB/5YAARBYWFhfdW5yZWNvZ25pemVkAQoAAQ1YWFhfc2l6ZWNhY2hlAQQAAAAv/6UCAQEgW10qaW9fcHJvbWV0aGV1c19jbGllbnQuUXVhbnRpbGUB/6YAAf+kAABk/6MDAQL/pAABBQEIUXVhbnRpbGUBCAABBVZhbHVlAQgAARRYWFhfTm9VbmtleWVkTGl0ZXJhbAH/lgABEFhYWF91bnJlY29nbml6ZWQBCgABDVhYWF9zaXplY2FjaGUBBAAAAGD/pwMBAQdVbnR5cGVkAf+oAAEEAQVWYWx1ZQEIAAEUWFhYX05vVW5rZXllZExpdGVyYWwB/5YAARBYWFhfdW5yZWNvZ25pemVkAQoAAQ1YWFhfc2l6ZWNhY2hlAQQAAAD+AUX/qQMBAQlIaXN0b2dyYW0B/6oAAREBC1NhbXBsZUNvdW50AQYAARBTYW1wbGVDb3VudEZsb2F0AQgAAQlTYW1wbGVTdW0BCAABBkJ1Y2tldAH/rgABBlNjaGVtYQEEAAENWmVyb1RocmVzaG9sZAEIAAEJWmVyb0NvdW50AQYAAQ5aZXJvQ291bnRGbG9hdAEIAAEMTmVnYXRpdmVTcGFuAf+yAAENTmVnYXRpdmVEZWx0YQH/tAABDU5lZ2F0aXZlQ291bnQB/7YAAQxQb3NpdGl2ZVNwYW4B/7IAAQ1Qb3NpdGl2ZURlbHRhAf+0AAENUG9zaXRpdmVDb3VudAH/tgABFFhYWF9Ob1Vua2V5ZWRMaXRlcmFsAf+WAAEQWFhYX3VucmVjb2duaXplZAEKAAENWFhYX3NpemVjYWNoZQEEAAAALf+tAgEBHltdKmlvX3Byb21ldGhldXNfY2xpZW50LkJ1Y2tldAH/rgAB/6wAAP+X/6sDAQL/rAABBwEPQ3VtdWxhdGl2ZUNvdW50AQYAARRDdW11bGF0aXZlQ291bnRGbG9hdAEIAAEKVXBwZXJCb3VuZAEIAAEIRXhlbXBsYXIB/54AARRYWFhfTm9VbmtleWVkTGl0ZXJhbAH/lgABEFhYWF91bnJlY29nbml6ZWQBCgABDVhYWF9zaXplY2FjaGUBBAAAADH/sQIBASJbXSppb19wcm9tZXRoZXVzX2NsaWVudC5CdWNrZXRTcGFuAf+yAAH/sAAAY/+vAwEC/7AAAQUBBk9mZnNldAEEAAEGTGVuZ3RoAQYAARRYWFhfTm9VbmtleWVkTGl0ZXJhbAH/lgABEFhYWF91bnJlY29nbml6ZWQBCgABDVhYWF9zaXplY2FjaGUBBAAAABX/swIBAQdbXWludDY0Af+0AAEEAAAX/7UCAQEJW11mbG9hdDY0Af+2AAEIAAA=";

/** The gob type definitions every snapshot starts with (2,141 bytes). */
export const GOB_TYPE_DEFINITIONS: Uint8Array = Uint8Array.from(
  atob(GOB_TYPE_DEFINITIONS_B64),
  (c) => c.charCodeAt(0),
);

/** Gob type id of `GroupingKeyToMetricGroup` in {@link GOB_TYPE_DEFINITIONS}. */
const MAP_TYPE_ID = 71;

const PUSH_METRIC_NAME = "push_time_seconds";
const PUSH_METRIC_HELP =
  "Last Unix time when changing this group in the Pushgateway succeeded.";
const PUSH_FAILED_METRIC_NAME = "push_failure_time_seconds";
const PUSH_FAILED_METRIC_HELP =
  "Last Unix time when changing this group in the Pushgateway failed.";

/** Seconds from 0001-01-01T00:00:00Z (Go's time.Time zero) to the Unix epoch. */
const UNIX_TO_INTERNAL = 62_135_596_800;

const UTF8 = new TextEncoder();

// ---------------------------------------------------------------------------
// A growable byte buffer with gob's and protobuf's primitive encodings.

class Bytes {
  #buf = new Uint8Array(1 << 12);
  #view = new DataView(this.#buf.buffer);
  length = 0;

  #room(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.#room(1);
    this.#buf[this.length++] = b;
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
  }

  /** Gob unsigned integer: < 128 in one byte, else -(byte count) then big-endian. */
  gobUint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`gob uint out of range: ${n}`);
    }
    if (n < 128) {
      this.byte(n);
      return;
    }
    const be: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) {
      be.unshift(rest % 256);
    }
    this.byte(256 - be.length);
    for (const b of be) this.byte(b);
  }

  /** Gob byte slice or string: length, then the bytes. */
  gobBytes(b: Uint8Array): void {
    this.gobUint(b.length);
    this.bytes(b);
  }

  gobString(s: string): void {
    this.gobBytes(UTF8.encode(s));
  }

  /** Protobuf varint (non-negative, safe integers). */
  varint(n: number): void {
    let rest = n;
    while (rest >= 0x80) {
      this.byte((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.byte(rest);
  }

  /** Protobuf length-delimited field. */
  pbBytes(field: number, b: Uint8Array): void {
    this.varint((field << 3) | 2);
    this.varint(b.length);
    this.bytes(b);
  }

  /** Little-endian float64, as protobuf's fixed64 `double`. */
  float64le(x: number): void {
    this.#room(8);
    this.#view.setFloat64(this.length, x, true);
    this.length += 8;
  }

  int64be(x: bigint): void {
    this.#room(8);
    this.#view.setBigInt64(this.length, x, false);
    this.length += 8;
  }

  int32be(x: number): void {
    this.#room(4);
    this.#view.setInt32(this.length, x, false);
    this.length += 4;
  }

  int16be(x: number): void {
    this.#room(2);
    this.#view.setInt16(this.length, x, false);
    this.length += 2;
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }
}

// ---------------------------------------------------------------------------
// What a push stores.

/** Names sorted by UTF-16 code units, which for label names is byte order. */
function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The label pairs `sanitizeLabels` leaves on a metric: grouping label values
 * override the metric's own, missing grouping labels are added, `instance`
 * is added as "" if absent, and the pairs are sorted by name.
 */
export function sanitizedLabels(
  labels: readonly Label[],
  grouping: Readonly<Record<string, string>>,
): Label[] {
  const out = new Map<string, string>();
  for (const l of labels) out.set(l.name, l.value);
  for (const [name, value] of Object.entries(grouping)) out.set(name, value);
  if (!out.has("instance")) out.set("instance", "");
  return [...out].map(([name, value]) => ({ name, value })).sort(byName);
}

/** `family` with the labels of every metric sanitized for `grouping`. */
function sanitizeFamily(
  family: MetricFamily,
  grouping: Readonly<Record<string, string>>,
): MetricFamily {
  // Each branch keeps the family's own metric type for the union.
  switch (family.type) {
    case "summary":
      return {
        ...family,
        metrics: family.metrics.map((m) => ({
          ...m,
          labels: sanitizedLabels(m.labels, grouping),
        })),
      };
    case "histogram":
    case "gaugehistogram":
      return {
        ...family,
        metrics: family.metrics.map((m) => ({
          ...m,
          labels: sanitizedLabels(m.labels, grouping),
        })),
      };
    default:
      return {
        ...family,
        metrics: family.metrics.map((m) => ({
          ...m,
          labels: sanitizedLabels(m.labels, grouping),
        })),
      };
  }
}

/** Strips the varint length prefix of one delimited message. */
function undelimit(delimited: Uint8Array): Uint8Array {
  let i = 0;
  while ((delimited[i] ?? 0) & 0x80) i++;
  return delimited.subarray(i + 1);
}

/**
 * The families a successful text push of `body` to the grouping key `labels`
 * leaves in the Pushgateway, as {@link SnapshotGroup.families}: parsed as
 * its text parser does, labels sanitized as `sanitizeLabels` does, each
 * encoded as one `MetricFamily` message.
 *
 * @throws {ExpositionError} if the body does not parse.
 * @throws {RangeError} if a sample has a timestamp (the Pushgateway refuses it).
 */
export function familiesFromText(
  body: string | Uint8Array,
  labels: Readonly<Record<string, string>>,
): Map<string, Uint8Array> {
  const bytes = typeof body === "string" ? UTF8.encode(body) : body;
  const out = new Map<string, Uint8Array>();
  for (const family of parseText(bytes)) {
    for (const m of family.metrics) {
      if (m.timestampMs !== undefined) {
        throw new RangeError("pushed metrics must not have timestamps");
      }
    }
    const encoded = encodeDelimited([sanitizeFamily(family, labels)]);
    out.set(family.name, undelimit(encoded));
  }
  return out;
}

/**
 * The grouping labels of a push URL path, `/metrics/job/<job>/<name>/<value>…`
 * (`@base64` values decoded), job first, then the others sorted by name.
 *
 * @throws {RangeError} if the path is not a valid push path.
 */
export function groupingLabelsFromPath(path: string): Record<string, string> {
  const prefix = "/metrics/";
  const key = path.startsWith(prefix)
    ? parseGroupingKey(path.slice(prefix.length))
    : undefined;
  if (key === undefined) throw new RangeError(`not a push path: ${path}`);
  const labels: Record<string, string> = { job: key.job };
  for (const l of key.labels) if (l.name !== "job") labels[l.name] = l.value;
  return labels;
}

/** The `push_time_seconds` or `push_failure_time_seconds` family message. */
function timestampGauge(
  name: string,
  help: string,
  grouping: Readonly<Record<string, string>>,
  value: number,
): Uint8Array {
  const metric = new Bytes();
  for (const l of sanitizedLabels([], grouping)) {
    const pair = new Bytes();
    pair.pbBytes(1, UTF8.encode(l.name));
    pair.pbBytes(2, UTF8.encode(l.value));
    metric.pbBytes(1, pair.finish());
  }
  const gauge = new Bytes();
  gauge.byte((1 << 3) | 1);
  gauge.float64le(value);
  metric.pbBytes(2, gauge.finish());
  const family = new Bytes();
  family.pbBytes(1, UTF8.encode(name));
  family.pbBytes(2, UTF8.encode(help));
  family.byte(3 << 3);
  family.byte(1); // GAUGE
  family.pbBytes(4, metric.finish());
  return family.finish();
}

/** `groupingKeyFor`: sorted names and values joined by 0xff. */
function groupingKeyBytes(
  labels: Readonly<Record<string, string>>,
): Uint8Array {
  const names = Object.keys(labels).sort();
  const out = new Bytes();
  names.forEach((name, i) => {
    if (i > 0) out.byte(0xff);
    out.bytes(UTF8.encode(name));
    out.byte(0xff);
    out.bytes(UTF8.encode(labels[name] ?? ""));
  });
  return out.finish();
}

/** `time.Time.MarshalBinary` (version 1, UTC) of a Unix time in ms. */
function goTimeBinary(ms: number): Uint8Array {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`bad push time ${ms}`);
  const sec = Math.floor(ms / 1000);
  const out = new Bytes();
  out.byte(1);
  out.int64be(BigInt(sec + UNIX_TO_INTERNAL));
  out.int32be((ms - sec * 1000) * 1_000_000);
  out.int16be(-1); // UTC
  return out.finish();
}

/** Gob encoding of one map entry: grouping key and `MetricGroup`. */
function encodeGroup(group: SnapshotGroup): Uint8Array {
  if (group.labels.job === undefined) {
    throw new RangeError("a group needs a job label");
  }
  const out = new Bytes();
  out.gobBytes(groupingKeyBytes(group.labels));
  // MetricGroup field 1: Labels map[string]string.
  const names = Object.keys(group.labels);
  out.gobUint(1);
  out.gobUint(names.length);
  for (const name of names) {
    out.gobString(name);
    out.gobString(group.labels[name] ?? "");
  }
  // MetricGroup field 2: Metrics map[string]TimestampedMetricFamily.
  const families = new Map(group.families);
  families.delete(PUSH_METRIC_NAME);
  families.delete(PUSH_FAILED_METRIC_NAME);
  // float64(t.UnixNano()) / 1e9, as newTimestampGauge computes it.
  const pushTime = (group.pushedAtMs * 1e6) / 1e9;
  families.set(
    PUSH_METRIC_NAME,
    timestampGauge(PUSH_METRIC_NAME, PUSH_METRIC_HELP, group.labels, pushTime),
  );
  families.set(
    PUSH_FAILED_METRIC_NAME,
    timestampGauge(
      PUSH_FAILED_METRIC_NAME,
      PUSH_FAILED_METRIC_HELP,
      group.labels,
      0,
    ),
  );
  const time = goTimeBinary(group.pushedAtMs);
  out.gobUint(1);
  out.gobUint(families.size);
  for (const [name, message] of families) {
    out.gobString(name);
    out.gobUint(1); // field 1: Timestamp (a GobEncoder: its bytes)
    out.gobBytes(time);
    out.gobUint(1); // field 2: GobbableMetricFamily (proto.Marshal bytes)
    out.gobBytes(message);
    out.byte(0); // end of TimestampedMetricFamily
  }
  out.byte(0); // end of MetricGroup
  return out.finish();
}

/**
 * The snapshot as a list of chunks whose concatenation is the file: the type
 * definitions, the value message header, then one chunk per group. Groups
 * must have distinct grouping labels (the file is a map).
 */
export function encodeSnapshotChunks(
  groups: Iterable<SnapshotGroup>,
): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let entriesLength = 0;
  for (const group of groups) {
    const entry = encodeGroup(group);
    entries.push(entry);
    entriesLength += entry.length;
  }
  const body = new Bytes();
  body.gobUint(MAP_TYPE_ID * 2); // type id, a gob int (positive: a value)
  body.byte(0); // a top-level non-struct value is sent as field delta 0
  body.gobUint(entries.length);
  const head = new Bytes();
  head.gobUint(body.length + entriesLength); // message length
  head.bytes(body.finish());
  return [GOB_TYPE_DEFINITIONS, head.finish(), ...entries];
}

/** The whole persistence file of `groups` in one array. */
export function encodeSnapshot(groups: Iterable<SnapshotGroup>): Uint8Array {
  const chunks = encodeSnapshotChunks(groups);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Workload group `g` (`preloadPath`/`preloadBody`) pushed at `pushedAtMs`. */
export function workloadGroup(g: number, pushedAtMs: number): SnapshotGroup {
  const labels = groupingLabelsFromPath(preloadPath(g));
  return {
    labels,
    families: familiesFromText(preloadBody(g), labels),
    pushedAtMs,
  };
}

/** Workload groups `0..count-1`, all pushed at `pushedAtMs`. */
export function* workloadGroups(
  count: number,
  pushedAtMs: number,
): Generator<SnapshotGroup> {
  for (let g = 0; g < count; g++) yield workloadGroup(g, pushedAtMs);
}

// ---------------------------------------------------------------------------
// CLI.

const USAGE =
  "usage: deno run -A scripts/bench/pg_snapshot.ts --groups N --out FILE";

function parseArgs(args: readonly string[]): { groups: number; out: string } {
  let groups: number | undefined;
  let out: string | undefined;
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (flag === "--groups" && value !== undefined && /^\d+$/.test(value)) {
      groups = Number(value);
    } else if (flag === "--out" && value !== undefined) {
      out = value;
    } else {
      throw new RangeError(USAGE);
    }
  }
  if (groups === undefined || out === undefined) throw new RangeError(USAGE);
  return { groups, out };
}

async function main(): Promise<void> {
  const { groups, out } = parseArgs(Deno.args);
  const started = performance.now();
  const chunks = encodeSnapshotChunks(workloadGroups(groups, Date.now()));
  // Write beside the target, then rename, as the Pushgateway itself does.
  const temp = `${out}.in_progress`;
  let bytes = 0;
  {
    using file = await Deno.open(temp, {
      write: true,
      create: true,
      truncate: true,
    });
    for (const chunk of chunks) {
      for (let at = 0; at < chunk.length;) {
        at += await file.write(chunk.subarray(at));
      }
      bytes += chunk.length;
    }
  }
  await Deno.rename(temp, out);
  const seconds = (performance.now() - started) / 1000;
  await Deno.stderr.write(UTF8.encode(
    `wrote ${out}: ${groups} groups, ${bytes} bytes in ${
      seconds.toFixed(2)
    } s\n`,
  ));
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    await Deno.stderr.write(
      UTF8.encode(`${error instanceof Error ? error.message : error}\n`),
    );
    Deno.exit(2);
  }
}
