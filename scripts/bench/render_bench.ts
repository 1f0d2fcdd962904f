/**
 * Scrape-side costs at 100k series: text rendering, series sorting and the
 * protobuf codec. Run with `deno bench -A scripts/bench/render_bench.ts`.
 * @module
 */

import type {
  HistogramMetric,
  Label,
  MetricFamily,
  ScalarMetric,
} from "../../src/exposition/model.ts";
import { decodeDelimited } from "../../src/exposition/protobuf_decode.ts";
import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import { compareSeries } from "../../src/exposition/sort.ts";
import {
  renderFamilies,
  renderMetric,
} from "../../src/exposition/text_render.ts";

const SERIES = 100_000;

function seriesLabels(i: number): Label[] {
  return [
    { name: "instance", value: `host-${i % 1000}.example.org:9100` },
    { name: "job", value: `batch-${Math.floor(i / 1000)}` },
    { name: "path", value: `/api/v1/items/${i}` },
  ];
}

const GAUGES: ScalarMetric[] = Array.from({ length: SERIES }, (_, i) => ({
  labels: seriesLabels(i),
  value: i % 7 === 0 ? 1795487705.8604121 : i * 0.25,
}));
const GAUGE_FAMILY: MetricFamily = {
  name: "job_last_success_seconds",
  help: "Last time the job succeeded.",
  type: "gauge",
  metrics: GAUGES,
};

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HISTOGRAMS: HistogramMetric[] = Array.from(
  { length: SERIES / 10 },
  (_, i) => ({
    labels: seriesLabels(i),
    sampleCount: 1000 + i,
    sampleSum: i * 1.5,
    buckets: BOUNDS.map((upperBound, b) => ({
      upperBound,
      cumulativeCount: (b + 1) * 90 + i,
    })),
  }),
);
const HISTOGRAM_FAMILY: MetricFamily = {
  name: "job_duration_seconds",
  help: "Duration.",
  type: "histogram",
  metrics: HISTOGRAMS,
};

const SHUFFLED = GAUGES.map((m) => m.labels).sort((a, b) =>
  (a[2]?.value.length ?? 0) - (b[2]?.value.length ?? 0) ||
  ((a[0]?.value ?? "") < (b[0]?.value ?? "") ? 1 : -1)
);

const PROTOBUF_BODY = encodeDelimited([GAUGE_FAMILY]);

Deno.bench("renderFamilies: 100k gauge series", { group: "render" }, () => {
  renderFamilies([GAUGE_FAMILY]);
});

Deno.bench(
  "renderMetric: 100k gauge series one by one (render cache fill)",
  { group: "render" },
  () => {
    for (const metric of GAUGES) {
      renderMetric(GAUGE_FAMILY.name, "gauge", metric);
    }
  },
);

Deno.bench(
  "renderFamilies: 10k histograms × 11 buckets (140k lines)",
  { group: "render" },
  () => {
    renderFamilies([HISTOGRAM_FAMILY]);
  },
);

Deno.bench("compareSeries: sort 100k series", { group: "sort" }, () => {
  SHUFFLED.slice().sort(compareSeries);
});

Deno.bench("encodeDelimited: 100k gauge series", { group: "protobuf" }, () => {
  encodeDelimited([GAUGE_FAMILY]);
});

Deno.bench("decodeDelimited: 100k gauge series", { group: "protobuf" }, () => {
  decodeDelimited(PROTOBUF_BODY);
});
