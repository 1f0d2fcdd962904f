/**
 * Benchmarks parseText() on a small and a large push body. Run with
 * `deno bench -A scripts/bench/text_parse_bench.ts`.
 * @module
 */

import { parseText } from "../../src/exposition/text_parse.ts";

/** A body with `series` series spread over counters, gauges and a histogram. */
function makeBody(series: number): Uint8Array {
  const lines: string[] = [
    "# HELP app_requests_total Requests handled, by method and code.",
    "# TYPE app_requests_total counter",
  ];
  const counters = Math.ceil(series / 2);
  for (let i = 0; i < counters; i++) {
    lines.push(
      `app_requests_total{method="${i % 2 ? "GET" : "POST"}",code="${
        200 + (i % 5)
      }",handler="/api/v1/item/${i}"} ${i * 17}`,
    );
  }
  lines.push("# TYPE app_temperature_celsius gauge");
  const gauges = Math.ceil((series - counters) / 2);
  for (let i = 0; i < gauges; i++) {
    lines.push(
      `app_temperature_celsius{sensor="s${i}",room="r${i % 7}"} ${
        20 + i / 1000
      }`,
    );
  }
  lines.push("# TYPE app_latency_seconds histogram");
  const histograms = Math.max(1, Math.floor((series - counters - gauges) / 8));
  for (let i = 0; i < histograms; i++) {
    for (const le of ["0.005", "0.01", "0.1", "1", "10", "+Inf"]) {
      lines.push(`app_latency_seconds_bucket{route="/r${i}",le="${le}"} ${i}`);
    }
    lines.push(`app_latency_seconds_sum{route="/r${i}"} ${i * 0.25}`);
    lines.push(`app_latency_seconds_count{route="/r${i}"} ${i}`);
  }
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

const small = makeBody(10);
const large = makeBody(10_000);

Deno.bench("parseText() 10-series body", { group: "text_parse" }, () => {
  parseText(small);
});

Deno.bench("parseText() 10,000-series body", { group: "text_parse" }, () => {
  parseText(large);
});
