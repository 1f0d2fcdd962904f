/**
 * `GET /api/v1/metrics` (docs/compatibility.md, JSON API): every group with
 * its families, in the Pushgateway's shape, streamed a piece at a time; and
 * the same body made whole, which the tests compare it with.
 * @module
 */

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
import type { LoadedFamily } from "../store/store.ts";
import type { GroupState, StoredFamily } from "../store/view.ts";
import { PUSH_FAILURE_TIME_HELP, PUSH_TIME_HELP } from "../store/view.ts";
import { goJson, type Json, rfc3339Nano, struct } from "./go_json.ts";
import { encodeText, slicedStream } from "./sliced_stream.ts";

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
