/**
 * Families of every metric type, for the protobuf encode and decode tests:
 * each must come back unchanged from a round trip through the wire format.
 * @module
 */

import type { MetricFamily } from "../../src/exposition/model.ts";

export const ROUND_TRIP_CASES: readonly {
  name: string;
  families: MetricFamily[];
}[] = [
  {
    name: "counter with exemplar and created timestamp",
    families: [{
      name: "c_total",
      help: "Counts.",
      type: "counter",
      metrics: [
        {
          labels: [{ name: "a", value: "1" }, { name: "b", value: "é 🙂" }],
          value: 42,
          exemplar: {
            labels: [{ name: "trace_id", value: "abc" }],
            value: 0.5,
            timestampMs: 1700000000123,
          },
          createdTimestampMs: 1600000000000,
        },
        { labels: [], value: -0 },
      ],
    }],
  },
  {
    name: "gauge and untyped with special values",
    families: [
      {
        name: "g",
        help: "",
        type: "gauge",
        metrics: [
          { labels: [{ name: "v", value: "nan" }], value: NaN },
          { labels: [{ name: "v", value: "inf" }], value: Infinity },
          { labels: [{ name: "v", value: "-inf" }], value: -Infinity },
          { labels: [{ name: "v", value: "-0" }], value: -0 },
          { labels: [{ name: "v", value: "tiny" }], value: 5e-324 },
        ],
      },
      {
        name: "u",
        help: undefined,
        type: "untyped",
        metrics: [{ labels: [], value: 1.7976931348623157e308 }],
      },
    ],
  },
  {
    name: "sample timestamps, including negative ones",
    families: [{
      name: "t",
      help: undefined,
      type: "gauge",
      metrics: [
        { labels: [{ name: "i", value: "1" }], value: 1, timestampMs: 0 },
        { labels: [{ name: "i", value: "2" }], value: 2, timestampMs: -5 },
        {
          labels: [{ name: "i", value: "3" }],
          value: 3,
          timestampMs: 1795487705860,
        },
      ],
    }],
  },
  {
    name: "summary",
    families: [{
      name: "s",
      help: "Sums.",
      type: "summary",
      unit: "seconds",
      metrics: [{
        labels: [{ name: "m", value: "get" }],
        sampleCount: 1234567,
        sampleSum: -0,
        quantiles: [{ quantile: 0.9, value: 2 }, {
          quantile: 0.5,
          value: NaN,
        }],
        createdTimestampMs: 1000,
      }, { labels: [], sampleCount: 0, sampleSum: 0, quantiles: [] }],
    }],
  },
  {
    name: "classic histogram with bucket exemplars",
    families: [{
      name: "h",
      help: "Hist.",
      type: "histogram",
      metrics: [{
        labels: [],
        sampleCount: 2 ** 53 + 2,
        sampleSum: 1e6,
        buckets: [
          {
            upperBound: 0.1,
            cumulativeCount: 1,
            exemplar: { labels: [], value: 0.05 },
          },
          { upperBound: -0, cumulativeCount: 0 },
          { upperBound: Infinity, cumulativeCount: 2 ** 53 + 2 },
        ],
      }],
    }],
  },
  {
    name: "float gauge histogram",
    families: [{
      name: "gh",
      help: undefined,
      type: "gaugehistogram",
      metrics: [{
        labels: [{ name: "x", value: "y" }],
        sampleCount: 0,
        sampleCountFloat: 2.5,
        sampleSum: 3,
        buckets: [
          { upperBound: 1, cumulativeCount: 0.5 },
          { upperBound: 2, cumulativeCount: 0 },
          { upperBound: 3, cumulativeCount: -0 },
        ],
      }],
    }],
  },
  {
    name: "native integer histogram",
    families: [{
      name: "n",
      help: "Native.",
      type: "histogram",
      metrics: [{
        labels: [],
        sampleCount: 7,
        sampleSum: -2.5,
        buckets: [],
        native: {
          schema: -4,
          zeroThreshold: 2.938735877055719e-39,
          zeroCount: 1,
          positiveSpans: [{ offset: -3, length: 2 }, {
            offset: 5,
            length: 1,
          }],
          positiveDeltas: [2, -1, 3],
          positiveCounts: [],
          negativeSpans: [{ offset: 0, length: 1 }],
          negativeDeltas: [-9007199254740991],
          negativeCounts: [],
        },
        exemplars: [{
          labels: [{ name: "t", value: "1" }],
          value: 1.5,
          timestampMs: 1700000000000,
        }],
        createdTimestampMs: 1700000000000,
      }],
    }],
  },
  {
    name: "native float histogram with a no-op span",
    families: [{
      name: "nf",
      help: undefined,
      type: "histogram",
      metrics: [{
        labels: [],
        sampleCount: 0,
        sampleCountFloat: 4.5,
        sampleSum: 1,
        buckets: [{ upperBound: 1, cumulativeCount: 4.5 }],
        native: {
          schema: 0,
          zeroThreshold: 0,
          zeroCount: 0,
          zeroCountFloat: 0.5,
          positiveSpans: [{ offset: 0, length: 0 }],
          positiveDeltas: [],
          positiveCounts: [1.5, NaN],
          negativeSpans: [],
          negativeDeltas: [],
          negativeCounts: [2.5],
        },
      }],
    }],
  },
  {
    name: "family without metrics",
    families: [{ name: "empty", help: "H", type: "counter", metrics: [] }],
  },
  {
    name: "label names predicted from the previous series, ASCII or not",
    families: [{
      name: "p",
      help: undefined,
      type: "gauge",
      metrics: [
        { labels: [{ name: "job", value: "1" }], value: 1 },
        { labels: [{ name: "job", value: "2" }], value: 2 },
        { labels: [{ name: "jab", value: "3" }], value: 3 },
        // Char codes C3 A9, like the UTF-8 bytes of "é" that follow.
        { labels: [{ name: "\u00c3\u00a9", value: "4" }], value: 4 },
        { labels: [{ name: "é", value: "5" }], value: 5 },
      ],
    }],
  },
  {
    name: "UTF-8 in HELP and label values",
    families: [{
      name: "utf8",
      help: '日本 \\ \n "q"',
      type: "gauge",
      metrics: [{
        labels: [{ name: "v", value: "\u0000\uffff𝄞" }],
        value: 1,
      }],
    }],
  },
];
