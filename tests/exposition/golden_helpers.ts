/**
 * Builds the scrape a Pushgateway would serve after a list of pushes, without
 * a server: a small stand-in for the store's merge, just enough for the golden
 * cases (docs/compatibility.md, Grouping keys). The real merge lives in
 * `src/store/`.
 */

import type {
  Label,
  Metric,
  MetricFamily,
} from "../../src/exposition/model.ts";
import { decodeDelimited } from "../../src/exposition/protobuf_decode.ts";
import { requestFormat } from "../../src/exposition/negotiate.ts";
import {
  compareNames,
  compareSeries,
  sortLabels,
} from "../../src/exposition/sort.ts";
import { parseText } from "../../src/exposition/text_parse.ts";
import type { GoldenPush } from "../golden/cases.ts";

const PUSH_TIME = "push_time_seconds";
const PUSH_FAILURE_TIME = "push_failure_time_seconds";

/** A stand-in push time: any non-zero value, normalised to `<time>` later. */
const SOME_PUSH_TIME = 1795487705.8604121;

function decodeBase64Url(text: string): string {
  // The Pushgateway accepts padded and unpadded values (docs/compatibility.md,
  // Grouping keys).
  const standard = text.replaceAll("=", "").replaceAll("-", "+")
    .replaceAll("_", "/");
  const padded = standard + "=".repeat((4 - (standard.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/** `/metrics/job/<job>{/<name>/<value>}` with `@base64` values → labels. */
export function groupingLabels(path: string): Label[] {
  const parts = path.replace(/^\/metrics\//, "").split("/");
  const labels = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const rawName = parts[i] ?? "";
    const rawValue = decodeURIComponent(parts[i + 1] ?? "");
    if (rawName.endsWith("@base64")) {
      labels.set(rawName.slice(0, -7), decodeBase64Url(rawValue));
    } else {
      labels.set(rawName, rawValue);
    }
  }
  return [...labels].map(([name, value]) => ({ name, value }));
}

/**
 * Grouping labels (docs/compatibility.md, Validation) override or join the
 * series' labels, `instance` is added empty when missing, labels end up
 * sorted by name.
 */
export function sanitizeLabels(
  labels: readonly Label[],
  grouping: readonly Label[],
): readonly Label[] {
  const merged = new Map<string, string>();
  for (const label of labels) merged.set(label.name, label.value);
  for (const label of grouping) merged.set(label.name, label.value);
  if (!merged.has("instance")) merged.set("instance", "");
  return sortLabels([...merged].map(([name, value]) => ({ name, value })));
}

function withLabels<M extends Metric>(metric: M, labels: readonly Label[]): M {
  return { ...metric, labels };
}

function sanitizeFamily(
  family: MetricFamily,
  grouping: readonly Label[],
): MetricFamily {
  switch (family.type) {
    case "counter":
    case "gauge":
    case "untyped":
      return {
        ...family,
        metrics: family.metrics.map((m) =>
          withLabels(m, sanitizeLabels(m.labels, grouping))
        ),
      };
    case "summary":
      return {
        ...family,
        metrics: family.metrics.map((m) =>
          withLabels(m, sanitizeLabels(m.labels, grouping))
        ),
      };
    case "histogram":
    case "gaugehistogram":
      return {
        ...family,
        metrics: family.metrics.map((m) =>
          withLabels(m, sanitizeLabels(m.labels, grouping))
        ),
      };
  }
}

function metadataFamily(
  name: string,
  help: string,
  grouping: readonly Label[],
  value: number,
): MetricFamily {
  return {
    name,
    help,
    type: "gauge",
    metrics: [{ labels: sanitizeLabels([], grouping), value }],
  };
}

function decodeBody(push: GoldenPush): MetricFamily[] {
  const body = typeof push.body === "string"
    ? new TextEncoder().encode(push.body)
    : push.body;
  switch (requestFormat(push.contentType ?? null)) {
    case "protobuf":
      return decodeDelimited(body);
    case "text":
      return parseText(body);
    case "openmetrics":
      throw new Error("golden cases do not push OpenMetrics");
  }
}

interface Group {
  readonly grouping: readonly Label[];
  families: Map<string, MetricFamily>;
}

/** The families `GET /metrics` shows after `pushes`, merged and sorted. */
export function expectedScrape(
  pushes: readonly GoldenPush[],
): MetricFamily[] {
  const groups = new Map<string, Group>();
  for (const push of pushes) {
    const grouping = sortLabels(groupingLabels(push.path));
    const key = JSON.stringify(grouping);
    const group = groups.get(key) ??
      { grouping, families: new Map<string, MetricFamily>() };
    groups.set(key, group);
    const pushed = decodeBody(push).map((f) => sanitizeFamily(f, grouping));
    // A PUT replaces every family (docs/compatibility.md, Methods and status
    // codes).
    if (push.method === "PUT") group.families = new Map();
    for (const family of pushed) group.families.set(family.name, family);
    // Metadata of a successful push (docs/compatibility.md, Metadata metrics).
    group.families.set(
      PUSH_TIME,
      metadataFamily(
        PUSH_TIME,
        "Last Unix time when changing this group in the Pushgateway succeeded.",
        grouping,
        SOME_PUSH_TIME,
      ),
    );
    group.families.set(
      PUSH_FAILURE_TIME,
      metadataFamily(
        PUSH_FAILURE_TIME,
        "Last Unix time when changing this group in the Pushgateway failed.",
        grouping,
        0,
      ),
    );
  }
  return mergeGroups([...groups.values()].map((g) => [...g.families.values()]));
}

/**
 * Families of all groups (docs/compatibility.md, Scrapes) merged by name
 * (first HELP and TYPE seen win; the golden cases never conflict), sorted by
 * name, series sorted.
 */
export function mergeGroups(
  groups: readonly (readonly MetricFamily[])[],
): MetricFamily[] {
  const merged = new Map<string, MetricFamily>();
  for (const families of groups) {
    for (const family of families) {
      const seen = merged.get(family.name);
      merged.set(
        family.name,
        seen === undefined ? family : appendMetrics(seen, family),
      );
    }
  }
  return [...merged.values()]
    .sort((a, b) => compareNames(a.name, b.name))
    .map(sortSeries);
}

function appendMetrics(into: MetricFamily, from: MetricFamily): MetricFamily {
  if (into.type !== from.type) {
    throw new Error(`golden case mixes types for ${into.name}`);
  }
  // The type check above makes the metric kinds agree.
  return {
    ...into,
    metrics: [...into.metrics, ...from.metrics],
  } as MetricFamily;
}

function sortSeries(family: MetricFamily): MetricFamily {
  const byLabels = (a: Metric, b: Metric) => compareSeries(a.labels, b.labels);
  return {
    ...family,
    metrics: [...family.metrics].sort(byLabels),
  } as MetricFamily;
}
