/**
 * The Pushgateway's `/api/v1/metrics` JSON (docs/compatibility.md, JSON API) → groups of metric
 * families with their push times, for `pushvault import`. Pure; throws
 * ImportError naming the group and family that cannot be read.
 *
 * Native histogram buckets are not recoverable from that JSON (it shows
 * bucket boundaries, not the schema and spans): such histograms keep their
 * count and sum, and a warning says so.
 * @module
 */

import { parseGoFloat } from "../exposition/float.ts";
import {
  type Bucket,
  type HistogramMetric,
  type Label,
  type MetricFamily,
  type Quantile,
  type ScalarMetric,
  type SummaryMetric,
  TYPE_BY_PROTO_NAME,
} from "../exposition/model.ts";

export class ImportError extends Error {
  override name = "ImportError";
}

export interface ImportedFamily {
  readonly family: MetricFamily;
  /** Unix seconds: the family's `time_stamp`. */
  readonly pushedAt: number;
}

export interface ImportedGroup {
  readonly labels: ReadonlyMap<string, string>;
  /** push_time_seconds and push_failure_time_seconds values. */
  readonly pushTime: number;
  readonly failureTime: number;
  readonly families: readonly ImportedFamily[];
  readonly warnings: readonly string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads the whole response body of `GET /api/v1/metrics`. */
export function parseMetricsApi(body: unknown): ImportedGroup[] {
  if (
    !isObj(body) || body["status"] !== "success" || !Array.isArray(body["data"])
  ) {
    throw new ImportError(
      'the response is not a Pushgateway /api/v1/metrics answer (expected {"status":"success","data":[...]})',
    );
  }
  return body["data"].map((g, i) => parseGroup(g, i));
}

function parseGroup(group: unknown, index: number): ImportedGroup {
  if (!isObj(group) || !isObj(group["labels"])) {
    throw new ImportError(`group #${index + 1}: has no "labels" object`);
  }
  const labels = new Map<string, string>();
  for (const [k, v] of Object.entries(group["labels"])) {
    if (typeof v !== "string") {
      throw new ImportError(`group #${index + 1}: label ${k} is not a string`);
    }
    labels.set(k, v);
  }
  const name = describe(labels);
  if (!labels.get("job")) {
    throw new ImportError(`group ${name}: has no job label`);
  }
  const families: ImportedFamily[] = [];
  const warnings: string[] = [];
  let pushTime = 0;
  let failureTime = 0;
  for (const [key, value] of Object.entries(group)) {
    if (key === "labels" || key === "last_push_successful") continue;
    const where = `group ${name}, family ${key}`;
    if (!isObj(value)) throw new ImportError(`${where}: not an object`);
    const imported = parseFamily(key, value, where, warnings);
    if (key === "push_time_seconds" || key === "push_failure_time_seconds") {
      const m = imported.family.metrics[0] as ScalarMetric | undefined;
      if (key === "push_time_seconds") pushTime = m?.value ?? 0;
      else failureTime = m?.value ?? 0;
      continue;
    }
    families.push(imported);
  }
  return { labels, pushTime, failureTime, families, warnings };
}

function parseFamily(
  name: string,
  f: Obj,
  where: string,
  warnings: string[],
): ImportedFamily {
  const type = TYPE_BY_PROTO_NAME[String(f["type"])];
  if (!type) {
    throw new ImportError(
      `${where}: unknown type ${JSON.stringify(f["type"])}`,
    );
  }
  const stamp = typeof f["time_stamp"] === "string"
    ? Date.parse(f["time_stamp"])
    : NaN;
  if (Number.isNaN(stamp)) {
    throw new ImportError(`${where}: missing or bad time_stamp`);
  }
  const help = typeof f["help"] === "string" ? f["help"] : undefined;
  if (!Array.isArray(f["metrics"])) {
    throw new ImportError(`${where}: "metrics" is not an array`);
  }
  const metrics = f["metrics"];
  const num = (v: unknown, what: string): number => {
    const n = typeof v === "string" ? parseGoFloat(v) : undefined;
    if (n === undefined) {
      throw new ImportError(
        `${where}: ${what} ${JSON.stringify(v)} is not a number`,
      );
    }
    return n;
  };
  const labelsOf = (m: Obj): Label[] => {
    if (!isObj(m["labels"])) {
      throw new ImportError(`${where}: a metric has no labels`);
    }
    return Object.entries(m["labels"]).map(([n, v]) => ({
      name: n,
      value: String(v),
    }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  };
  const objs = metrics.map((m) => {
    if (!isObj(m)) throw new ImportError(`${where}: a metric is not an object`);
    return m;
  });
  const pushedAt = stamp / 1000;
  switch (type) {
    case "counter":
    case "gauge":
    case "untyped": {
      const out: ScalarMetric[] = objs.map((m) => ({
        labels: labelsOf(m),
        value: num(m["value"], "value"),
      }));
      return { family: { name, help, type, metrics: out }, pushedAt };
    }
    case "summary": {
      const out: SummaryMetric[] = objs.map((m) => {
        const quantiles: Quantile[] = Object.entries(
          isObj(m["quantiles"]) ? m["quantiles"] : {},
        )
          .map(([q, v]) => ({
            quantile: num(q, "quantile"),
            value: num(v, "quantile value"),
          }))
          .sort((a, b) => a.quantile - b.quantile);
        return {
          labels: labelsOf(m),
          sampleCount: num(m["count"], "count"),
          sampleSum: num(m["sum"], "sum"),
          quantiles,
        };
      });
      return { family: { name, help, type, metrics: out }, pushedAt };
    }
    case "histogram":
    case "gaugehistogram": {
      const out: HistogramMetric[] = objs.map((m) => {
        let buckets: Bucket[] = [];
        if (Array.isArray(m["buckets"])) {
          warnings.push(
            `${where}: native histogram buckets cannot be rebuilt from the JSON API; count and sum kept`,
          );
        } else if (isObj(m["buckets"])) {
          buckets = Object.entries(m["buckets"])
            .map(([le, c]) => ({
              upperBound: num(le, "bucket bound"),
              cumulativeCount: num(c, "bucket count"),
            }))
            .sort((a, b) => a.upperBound - b.upperBound);
        }
        const count = num(m["count"], "count");
        return {
          labels: labelsOf(m),
          sampleCount: count,
          ...(Number.isInteger(count) ? {} : { sampleCountFloat: count }),
          sampleSum: num(m["sum"], "sum"),
          buckets,
        };
      });
      return { family: { name, help, type, metrics: out }, pushedAt };
    }
  }
}

/** `{instance="db1",job="backup"}` for messages. */
export function describe(labels: ReadonlyMap<string, string>): string {
  return `{${
    [...labels].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) =>
      `${k}=${JSON.stringify(v)}`
    ).join(",")
  }}`;
}
