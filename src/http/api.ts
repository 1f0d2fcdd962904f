/**
 * The JSON API under `/api/v1/` (docs/compatibility.md, JSON API): `status` and `metrics` in the
 * Pushgateway's exact shapes, serialised like Go's encoding/json (map keys
 * sorted, no whitespace, `<`, `>`, `&` escaped, RFC 3339 times with
 * nanoseconds).
 * @module
 */

import type { LitestreamSync } from "../store/litestream.ts";
import { formatGoFloat } from "../exposition/float.ts";
import type {
  HistogramMetric,
  Label,
  Metric,
  MetricFamily,
  NativeHistogram,
  SummaryMetric,
} from "../exposition/model.ts";
import { PROTO_TYPE_NAMES, unreachable } from "../exposition/model.ts";
import { nativeBuckets } from "../exposition/native_buckets.ts";
import {
  familyPages,
  page,
  PAGE_ROWS,
  type PagedSampleRow,
  type ReadFamiliesRows,
  type ReadSampleRows,
  SMALL_FAMILY_ROWS,
} from "../store/family_pages.ts";
import type { LoadedFamily, Store } from "../store/store.ts";
import type { GroupState, StoredFamily } from "../store/view.ts";
import { PUSH_FAILURE_TIME_HELP, PUSH_TIME_HELP } from "../store/view.ts";
import {
  BRANCH,
  BUILD_DATE,
  BUILD_USER,
  REVISION,
  VERSION,
} from "../version.ts";
import { encodeText, slicedStream } from "./sliced_stream.ts";
import { type GroupScope, inScope } from "../push/group_scope.ts";

export const API_HEADERS = {
  "Access-Control-Allow-Headers": "Accept, Authorization, Content-Type, Origin",
  "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Expose-Headers": "Date",
  "Cache-Control": "no-cache, no-store, must-revalidate",
} as const;

/**
 * A JSON value. Plain objects are Go maps (keys sorted on output); a `Map`
 * is a Go struct (fields in insertion order, as Go declares them).
 */
export type Json =
  | string
  | number
  | boolean
  | null
  | readonly Json[]
  | ReadonlyMap<string, Json>
  | { readonly [key: string]: Json };

/** A Go struct: fields in the given order, undefined ones omitted. */
export function struct(
  fields: Record<string, Json | undefined>,
): ReadonlyMap<string, Json> {
  const out = new Map<string, Json>();
  for (const [k, v] of Object.entries(fields)) {
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

/** Go encoding/json output: map keys sorted, struct fields in order, HTML-safe escapes. */
export function goJson(value: Json): string {
  if (typeof value === "string") return goString(value);
  // Numbers and booleans have no character to escape.
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  // Loops rather than map and join: /api/v1/metrics of 100k groups spent
  // a fifth of its time here.
  let out = "";
  if (value instanceof Map) {
    for (const [k, v] of value) {
      out += `${out === "" ? "{" : ","}${goString(k)}:${goJson(v)}`;
    }
    return out === "" ? "{}" : `${out}}`;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      out += `${i === 0 ? "[" : ","}${goJson(value[i] as Json)}`;
    }
    return out === "" ? "[]" : `${out}]`;
  }
  const object = value as { readonly [key: string]: Json };
  for (const k of Object.keys(object).sort()) {
    out += `${out === "" ? "{" : ","}${goString(k)}:${
      goJson(object[k] as Json)
    }`;
  }
  return out === "" ? "{}" : `${out}}`;
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/;
const HTML_UNSAFE_ALL = /[<>&\u2028\u2029]/g;

/** A JSON string as Go writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped. */
function goString(value: string): string {
  const quoted = JSON.stringify(value);
  if (!HTML_UNSAFE.test(quoted)) return quoted;
  return quoted.replace(
    HTML_UNSAFE_ALL,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

const lastSecond = { whole: NaN, base: "" };

/** RFC 3339 with nanoseconds, trailing zeros trimmed, in UTC (Go's time.Time JSON). */
export function rfc3339Nano(seconds: number): string {
  const whole = Math.floor(seconds);
  const nanos = Math.round((seconds - whole) * 1e9);
  // Times of one response fall in few seconds: the date of the last one is
  // kept (a Date and its ISO string per time were a twentieth of
  // /api/v1/metrics at 100k groups).
  if (whole !== lastSecond.whole) {
    lastSecond.base = new Date(whole * 1000).toISOString().slice(0, 19);
    lastSecond.whole = whole;
  }
  const base = lastSecond.base;
  if (nanos === 0) return `${base}Z`;
  const fraction = String(Math.min(nanos, 999_999_999)).padStart(9, "0")
    .replace(/0+$/, "");
  return `${base}.${fraction}Z`;
}

export function jsonResponse(body: Json): Response {
  return new Response(goJson(body), {
    headers: { ...API_HEADERS, "Content-Type": "application/json" },
  });
}

/**
 * `GET /api/v1/metrics` of the store's current groups, streamed; with a
 * scope limited by selectors, of the groups in it.
 */
export function metricsResponse(store: Store, scope?: GroupScope): Response {
  const view = store.view;
  const groups = [...view.groups()].filter((g) => inScope(g.key.labels, scope));
  const body = metricsStream(groups, {
    families: (group) =>
      view.group(group.id) === group ? [...group.families.values()] : undefined,
    readRows: store.familyRowsAfter.bind(store),
    readSmall: store.familiesRows.bind(store),
  });
  return new Response(body, {
    headers: { ...API_HEADERS, "Content-Type": "application/json" },
  });
}

export interface StatusInfo {
  readonly flags: Readonly<Record<string, string>>;
  /** Unix seconds. */
  readonly startTime: number;
  /**
   * Set only while Litestream replicates the database, so that the
   * Pushgateway's shape is unchanged otherwise (docs/operations.md, "Beyond one machine").
   */
  readonly replication?: LitestreamSync;
}

export function statusBody(info: StatusInfo): Json {
  return struct({
    status: "success",
    data: struct({
      build_information: {
        branch: BRANCH,
        buildDate: BUILD_DATE,
        buildUser: BUILD_USER,
        goVersion: `deno${Deno.version.deno}`,
        revision: REVISION,
        version: VERSION,
      },
      flags: { ...info.flags },
      start_time: rfc3339Nano(info.startTime),
      replication: info.replication && struct({
        replicated_by: "litestream",
        generation: info.replication.generation ?? undefined,
        last_sync_time: info.replication.lastSyncMs === null
          ? undefined
          : rfc3339Nano(info.replication.lastSyncMs / 1000),
      }),
    }),
  });
}

/**
 * `GET /api/v1/metrics`: every group, flat map of its families (docs/compatibility.md, JSON API).
 * `families` reads a group's families with their values (from the database).
 */
export function metricsBody(
  groups: Iterable<GroupState>,
  families: (group: GroupState) => readonly LoadedFamily[],
): Json {
  const data: Json[] = [];
  for (const group of groups) data.push(groupJson(group, families(group)));
  return struct({ status: "success", data });
}

/** Where {@link metricsStream} finds a group's families and their rows. */
export interface MetricsSource {
  /** A group's families as it holds them now; undefined once it is gone. */
  readonly families: (
    group: GroupState,
  ) => readonly StoredFamily[] | undefined;
  readonly readRows: ReadSampleRows;
  /** Small families' rows, many families a read; else one read each. */
  readonly readSmall?: ReadFamiliesRows;
}

/**
 * `GET /api/v1/metrics` as a stream of the same bytes as
 * `goJson(metricsBody(…))`, made a piece (a group's key, a page of a
 * family's metrics) at a time and sent by slicedStream in reads of 64 KiB,
 * each pausing after 5 ms of work: a big store, or one group of a million
 * series, is never one string, and the event loop is free between reads
 * (README "Endpoints").
 *
 * The groups are the view's when the response began; one deleted before
 * its turn is left out. A family's metrics are those of the rows it pointed
 * to when its turn came. Small families are read ahead, a page of rows for
 * many groups at a time (one read each cost more than the rows at 100k
 * groups); a family replaced since is read again at its turn.
 */
export function metricsStream(
  groups: readonly GroupState[],
  source: MetricsSource,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  return slicedStream(encodeText(metricsPieces(groups, source)), {
    gzip: false,
  });
}

/** The pieces of {@link metricsStream}: a group's object split at its keys. */
function* metricsPieces(
  groups: readonly GroupState[],
  source: MetricsSource,
): Generator<string, void, undefined> {
  yield '{"status":"success","data":[';
  let first = true;
  let ahead: ReadAhead = { rows: new Map(), end: 0 };
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i] as GroupState;
    if (i >= ahead.end) ahead = readAhead(groups, i, source);
    const families = source.families(group);
    if (families === undefined) continue;
    // The group's own keys win over a family of the same name, as in
    // groupJson.
    const own = groupJson(group, []);
    const byName = new Map(families.map((f) => [f.name, f]));
    // As goJson orders a plain object's keys.
    const keys = [...new Set([...byName.keys(), ...Object.keys(own)])].sort();
    let prefix = first ? "{" : ",{";
    first = false;
    for (const key of keys) {
      const stored = Object.hasOwn(own, key) ? undefined : byName.get(key);
      if (stored === undefined) {
        yield `${prefix}${goJson(key)}:${goJson(own[key] as Json)}`;
      } else {
        yield* familyPieces(
          `${prefix}${goJson(key)}:`,
          stored,
          source,
          ahead.rows.get(stored),
        );
      }
      prefix = ",";
    }
    yield "}";
  }
  yield "]}";
}

/** Rows of small families read ahead, and the group they go up to. */
interface ReadAhead {
  readonly rows: ReadonlyMap<StoredFamily, readonly PagedSampleRow[]>;
  readonly end: number;
}

/** Groups read ahead at most, when they have few small families. */
const READ_AHEAD_GROUPS = 256;

/**
 * The rows of the small families of `groups` from `from` on, about a page
 * of them (PAGE_ROWS) in one read, by family; at least one group.
 */
function readAhead(
  groups: readonly GroupState[],
  from: number,
  source: MetricsSource,
): ReadAhead {
  const rows = new Map<StoredFamily, PagedSampleRow[]>();
  if (source.readSmall === undefined) return { rows, end: groups.length };
  const byRow = new Map<number, PagedSampleRow[]>();
  let total = 0;
  let end = from;
  for (
    ;
    end < groups.length && total < PAGE_ROWS &&
    end - from < READ_AHEAD_GROUPS;
    end++
  ) {
    for (const stored of source.families(groups[end] as GroupState) ?? []) {
      if (stored.keys.length > SMALL_FAMILY_ROWS) continue;
      const list: PagedSampleRow[] = [];
      rows.set(stored, list);
      byRow.set(stored.rowId, list);
      total += stored.keys.length;
    }
  }
  if (byRow.size > 0) {
    for (const row of source.readSmall([...byRow.keys()])) {
      byRow.get(row.familyRow)?.push(row);
    }
  }
  return { rows, end };
}

/**
 * `familyJson` of `stored`, its metrics a page at a time, or from `rows`
 * (all of them, read ahead).
 */
function* familyPieces(
  prefix: string,
  stored: StoredFamily,
  source: MetricsSource,
  rows: readonly PagedSampleRow[] | undefined,
): Generator<string, void, undefined> {
  const head = goJson(struct({
    time_stamp: rfc3339Nano(stored.pushedAt),
    type: PROTO_TYPE_NAMES[stored.type],
    help: stored.help ? stored.help : undefined,
  }));
  yield `${prefix}${head.slice(0, -1)},"metrics":[`;
  let separator = "";
  const pages = rows === undefined
    ? familyPages(source.readRows, stored)
    : [page(stored, rows)];
  for (const { family } of pages) {
    let text = "";
    for (const metric of family.metrics as readonly Metric[]) {
      text += separator + goJson(metricJson(family, metric));
      separator = ",";
    }
    yield text;
  }
  yield "]}";
}

export function groupJson(
  group: GroupState,
  families: readonly LoadedFamily[],
): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const loaded of families) {
    out[loaded.family.name] = familyJson(loaded.family, loaded.pushedAt);
  }
  const meta = (help: string, value: number, at: number): Json =>
    struct({
      time_stamp: rfc3339Nano(at),
      type: "GAUGE",
      help,
      metrics: [{
        labels: labelsJson(group.metadataLabels),
        value: formatGoFloat(value),
      }],
    });
  out["push_time_seconds"] = meta(
    PUSH_TIME_HELP,
    group.pushTime,
    group.pushTimeWrittenAt,
  );
  out["push_failure_time_seconds"] = meta(
    PUSH_FAILURE_TIME_HELP,
    group.failureTime,
    group.failureTimeWrittenAt,
  );
  out["labels"] = labelsJson(group.key.labels);
  out["last_push_successful"] = group.failureTime <= group.pushTime;
  return out;
}

function familyJson(family: MetricFamily, pushedAt: number): Json {
  return struct({
    time_stamp: rfc3339Nano(pushedAt),
    type: PROTO_TYPE_NAMES[family.type],
    help: family.help ? family.help : undefined,
    metrics: family.metrics.map((m: Metric) => metricJson(family, m)),
  });
}

function labelsJson(labels: readonly Label[]): { [key: string]: string } {
  const out: { [key: string]: string } = {};
  for (const l of labels) out[l.name] = l.value;
  return out;
}

function metricJson(family: MetricFamily, metric: Metric): Json {
  const labels = labelsJson(metric.labels);
  switch (family.type) {
    case "counter":
    case "gauge":
    case "untyped": {
      const m = metric as { value: number };
      return { labels, value: formatGoFloat(m.value) };
    }
    case "summary": {
      const m = metric as SummaryMetric;
      const quantiles: { [key: string]: string } = {};
      for (const q of m.quantiles) {
        quantiles[formatGoFloat(q.quantile)] = formatGoFloat(q.value);
      }
      return {
        labels,
        count: formatUint64(m.sampleCount), // a uint64 upstream
        sum: formatGoFloat(m.sampleSum),
        quantiles,
      };
    }
    case "histogram": {
      const m = metric as HistogramMetric;
      const float = (m.sampleCountFloat ?? 0) > 0 ||
        (m.native?.zeroCountFloat ?? 0) > 0;
      const count = float
        ? formatGoFloat(m.sampleCountFloat ?? 0)
        : formatUint64(m.sampleCount);
      const sum = formatGoFloat(m.sampleSum);
      const native = m.native;
      // Upstream shows native buckets whenever the histogram has spans.
      if (
        native && native.positiveSpans.length + native.negativeSpans.length > 0
      ) {
        return {
          labels,
          count,
          sum,
          buckets: nativeBucketsJson(native, float),
        };
      }
      const buckets: { [key: string]: string } = {};
      for (const b of m.buckets) {
        buckets[formatGoFloat(b.upperBound)] = float
          ? formatGoFloat(b.cumulativeCount)
          : formatUint64(b.cumulativeCount);
      }
      return { labels, count, sum, buckets };
    }
    case "gaugehistogram":
      // The newest Pushgateway has no case for GAUGE_HISTOGRAM and falls
      // through to a scalar value, which is 0: reproduced as it is.
      return { labels, value: "0" };
    default:
      return unreachable(family);
  }
}

/**
 * Native histogram buckets as the newest Pushgateway renders them
 * (docs/compatibility.md, JSON API): `[boundaryKind, "lower", "upper", "count"]`.
 */
function nativeBucketsJson(native: NativeHistogram, float: boolean): Json[] {
  return nativeBuckets(native).map((b) => [
    b.boundaries,
    formatGoFloat(b.lower),
    formatGoFloat(b.upper),
    float ? formatGoFloat(b.count) : formatUint64(b.count),
  ]);
}

/** Go's fmt of a uint64: plain digits, never an exponent. */
export function formatUint64(value: number): string {
  if (Number.isSafeInteger(value) && value >= 0) return String(value);
  if (Number.isFinite(value) && value >= 0) {
    return BigInt(Math.trunc(value)).toString();
  }
  return formatGoFloat(value);
}
