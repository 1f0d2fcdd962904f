import assert from "node:assert/strict";
import fc from "fast-check";
import client from "prom-client";
import {
  ExpositionError,
  type MetricFamily,
} from "../../src/exposition/model.ts";
import { parseOpenMetrics } from "../../src/exposition/openmetrics_parse.ts";

const encoder = new TextEncoder();

function parse(
  text: string,
  options?: { utf8Names?: boolean },
): MetricFamily[] {
  return parseOpenMetrics(encoder.encode(text), options);
}

// ---------------------------------------------------------------------------
// Bodies recorded from real clients.

/**
 * prometheus_client 0.16.0 (Debian python3-prometheus-client),
 * `prometheus_client.openmetrics.exposition.generate_latest` over a Counter
 * with an exemplar, a Gauge with a unit, a Histogram with an exemplar, a
 * Summary, an Info, an Enum and custom GaugeHistogram and Unknown families.
 */
const PYTHON_CLIENT_BODY = [
  "# HELP http_requests Total HTTP requests.",
  "# TYPE http_requests counter",
  'http_requests_total{code="200",method="get"} 3.0 # {trace_id="abc123"} 3.0 1795608699.2438614',
  'http_requests_created{code="200",method="get"} 1.7956086992438529e+09',
  'http_requests_total{code="500",method="post"} 1.0',
  'http_requests_created{code="500",method="post"} 1.795608699243876e+09',
  '# HELP queue_depth_bytes Depth \\"of\\" the\\nqueue \\\\ now.',
  "# TYPE queue_depth_bytes gauge",
  "# UNIT queue_depth_bytes bytes",
  "queue_depth_bytes -0.5",
  "# HELP request_latency_seconds Latency.",
  "# TYPE request_latency_seconds histogram",
  'request_latency_seconds_bucket{le="0.1",path="/api"} 1.0 # {trace_id="def456"} 0.05 1795608699.2439623',
  'request_latency_seconds_bucket{le="1.0",path="/api"} 1.0',
  'request_latency_seconds_bucket{le="10.0",path="/api"} 2.0',
  'request_latency_seconds_bucket{le="+Inf",path="/api"} 2.0',
  'request_latency_seconds_count{path="/api"} 2.0',
  'request_latency_seconds_sum{path="/api"} 3.05',
  'request_latency_seconds_created{path="/api"} 1.7956086992439353e+09',
  "# HELP job_duration_seconds Duration.",
  "# TYPE job_duration_seconds summary",
  "job_duration_seconds_count 1.0",
  "job_duration_seconds_sum 1.5",
  "job_duration_seconds_created 1.7956086992439783e+09",
  "# HELP build Build information.",
  "# TYPE build info",
  'build_info{revision="abc",version="1.2.3"} 1.0',
  "# HELP task_state State.",
  "# TYPE task_state stateset",
  'task_state{task_state="starting"} 0.0',
  'task_state{task_state="running"} 1.0',
  "# HELP queue_wait_seconds Time items wait.",
  "# TYPE queue_wait_seconds gaugehistogram",
  "# UNIT queue_wait_seconds seconds",
  'queue_wait_seconds_bucket{le="0.5",queue="q1"} 3.0',
  'queue_wait_seconds_bucket{le="1.0",queue="q1"} 4.0',
  'queue_wait_seconds_bucket{le="+Inf",queue="q1"} 6.0',
  'queue_wait_seconds_gcount{queue="q1"} 6.0',
  'queue_wait_seconds_gsum{queue="q1"} 4.2',
  "# HELP legacy_value Legacy.",
  "# TYPE legacy_value unknown",
  "legacy_value NaN",
  "# EOF",
].join("\n") + "\n";

/**
 * prom-client 15.1.3 with `new Registry(Registry.OPENMETRICS_CONTENT_TYPE)`:
 * a Counter and a Histogram with exemplars, a Gauge, a Summary.
 */
const PROM_CLIENT_BODY = [
  "# HELP jobs_processed Jobs processed.",
  "# TYPE jobs_processed counter",
  'jobs_processed_total{queue="a\\"b"} 2 # {traceId="abc123"} 2 1795608703.813',
  "# HELP temperature_celsius Temp\\\\erature\\nnow",
  "# TYPE temperature_celsius gauge",
  'temperature_celsius{room="hall"} 21.5',
  "# HELP payload_size_bytes Payload size.",
  "# TYPE payload_size_bytes histogram",
  'payload_size_bytes_bucket{le="100",route="/x"} 0',
  'payload_size_bytes_bucket{le="1000",route="/x"} 1 # {traceId="t1"} 250 1795608703.814',
  'payload_size_bytes_bucket{le="+Inf",route="/x"} 2 # {traceId="t2"} 5000 1795608703.814',
  'payload_size_bytes_sum{route="/x"} 5250',
  'payload_size_bytes_count{route="/x"} 2',
  "# HELP render_seconds Render time.",
  "# TYPE render_seconds summary",
  'render_seconds{quantile="0.5"} 0.375',
  'render_seconds{quantile="0.99"} 0.5',
  "render_seconds_sum 0.75",
  "render_seconds_count 2",
  "# EOF",
].join("\n") + "\n";

Deno.test("parseOpenMetrics() maps a prometheus_client (Python) body", () => {
  const created = 1795608699243; // every _created and exemplar is this ms
  const expected: MetricFamily[] = [
    {
      name: "http_requests_total",
      type: "counter",
      help: "Total HTTP requests.",
      metrics: [
        {
          labels: [{ name: "code", value: "200" }, {
            name: "method",
            value: "get",
          }],
          value: 3,
          exemplar: {
            labels: [{ name: "trace_id", value: "abc123" }],
            value: 3,
            timestampMs: created,
          },
          createdTimestampMs: created,
        },
        {
          labels: [{ name: "code", value: "500" }, {
            name: "method",
            value: "post",
          }],
          value: 1,
          createdTimestampMs: created,
        },
      ],
    },
    {
      name: "queue_depth_bytes",
      type: "gauge",
      help: 'Depth "of" the\nqueue \\ now.',
      unit: "bytes",
      metrics: [{ labels: [], value: -0.5 }],
    },
    {
      name: "request_latency_seconds",
      type: "histogram",
      help: "Latency.",
      metrics: [{
        labels: [{ name: "path", value: "/api" }],
        sampleCount: 2,
        sampleSum: 3.05,
        buckets: [
          {
            upperBound: 0.1,
            cumulativeCount: 1,
            exemplar: {
              labels: [{ name: "trace_id", value: "def456" }],
              value: 0.05,
              timestampMs: created,
            },
          },
          { upperBound: 1, cumulativeCount: 1 },
          { upperBound: 10, cumulativeCount: 2 },
          { upperBound: Infinity, cumulativeCount: 2 },
        ],
        createdTimestampMs: created,
      }],
    },
    {
      name: "job_duration_seconds",
      type: "summary",
      help: "Duration.",
      metrics: [{
        labels: [],
        sampleCount: 1,
        sampleSum: 1.5,
        quantiles: [],
        createdTimestampMs: created,
      }],
    },
    {
      name: "build_info",
      type: "gauge",
      help: "Build information.",
      metrics: [{
        labels: [{ name: "revision", value: "abc" }, {
          name: "version",
          value: "1.2.3",
        }],
        value: 1,
      }],
    },
    {
      name: "task_state",
      type: "gauge",
      help: "State.",
      metrics: [
        { labels: [{ name: "task_state", value: "starting" }], value: 0 },
        { labels: [{ name: "task_state", value: "running" }], value: 1 },
      ],
    },
    {
      name: "queue_wait_seconds",
      type: "gaugehistogram",
      help: "Time items wait.",
      unit: "seconds",
      metrics: [{
        labels: [{ name: "queue", value: "q1" }],
        sampleCount: 6,
        sampleSum: 4.2,
        buckets: [
          { upperBound: 0.5, cumulativeCount: 3 },
          { upperBound: 1, cumulativeCount: 4 },
          { upperBound: Infinity, cumulativeCount: 6 },
        ],
      }],
    },
    {
      name: "legacy_value",
      type: "untyped",
      help: "Legacy.",
      metrics: [{ labels: [], value: NaN }],
    },
  ];
  assert.deepEqual(parse(PYTHON_CLIENT_BODY), expected);
});

Deno.test("parseOpenMetrics() maps a prom-client body", () => {
  const expected: MetricFamily[] = [
    {
      name: "jobs_processed_total",
      type: "counter",
      help: "Jobs processed.",
      metrics: [{
        labels: [{ name: "queue", value: 'a"b' }],
        value: 2,
        exemplar: {
          labels: [{ name: "traceId", value: "abc123" }],
          value: 2,
          timestampMs: 1795608703813,
        },
      }],
    },
    {
      name: "temperature_celsius",
      type: "gauge",
      help: "Temp\\erature\nnow",
      metrics: [{ labels: [{ name: "room", value: "hall" }], value: 21.5 }],
    },
    {
      name: "payload_size_bytes",
      type: "histogram",
      help: "Payload size.",
      metrics: [{
        labels: [{ name: "route", value: "/x" }],
        sampleCount: 2,
        sampleSum: 5250,
        buckets: [
          { upperBound: 100, cumulativeCount: 0 },
          {
            upperBound: 1000,
            cumulativeCount: 1,
            exemplar: {
              labels: [{ name: "traceId", value: "t1" }],
              value: 250,
              timestampMs: 1795608703814,
            },
          },
          {
            upperBound: Infinity,
            cumulativeCount: 2,
            exemplar: {
              labels: [{ name: "traceId", value: "t2" }],
              value: 5000,
              timestampMs: 1795608703814,
            },
          },
        ],
      }],
    },
    {
      name: "render_seconds",
      type: "summary",
      help: "Render time.",
      metrics: [{
        labels: [],
        sampleCount: 2,
        sampleSum: 0.75,
        quantiles: [{ quantile: 0.5, value: 0.375 }, {
          quantile: 0.99,
          value: 0.5,
        }],
      }],
    },
  ];
  assert.deepEqual(parse(PROM_CLIENT_BODY), expected);
});

Deno.test("parseOpenMetrics() reads what prom-client renders now", async () => {
  const registry = new client.Registry<client.OpenMetricsContentType>();
  registry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
  const counter = new client.Counter({
    name: "live_jobs",
    help: "Jobs.",
    labelNames: ["queue"],
    registers: [registry],
    enableExemplars: true,
  });
  // prom-client types exemplar labels as the metric's own label names.
  const exemplarLabels: Record<string, string> = { traceId: "x" };
  counter.inc({ labels: { queue: "q" }, value: 4, exemplarLabels });
  const histogram = new client.Histogram({
    name: "live_seconds",
    help: "Seconds.",
    buckets: [0.5, 1],
    registers: [registry],
  });
  histogram.observe(0.7);
  new client.Gauge({
    name: "live_gauge",
    help: "Gauge.",
    registers: [registry],
  })
    .set(-2);

  const families = parse(await registry.metrics());
  assert.deepEqual(
    families.map((f) => [f.name, f.type, f.metrics.length]),
    [
      ["live_jobs_total", "counter", 1],
      ["live_seconds", "histogram", 1],
      ["live_gauge", "gauge", 1],
    ],
  );
  const [jobs, seconds] = families;
  assert.equal(jobs?.type, "counter");
  if (jobs?.type === "counter") {
    assert.equal(jobs.metrics[0]?.value, 4);
    assert.deepEqual(jobs.metrics[0]?.exemplar?.labels, [{
      name: "traceId",
      value: "x",
    }]);
  }
  if (seconds?.type === "histogram") {
    assert.deepEqual(
      seconds.metrics[0]?.buckets.map((b) => [b.upperBound, b.cumulativeCount]),
      [[0.5, 0], [1, 1], [Infinity, 1]],
    );
  }
});

// ---------------------------------------------------------------------------
// Mapping rules, one case each.

const GOOD_BODIES: readonly {
  name: string;
  body: string;
  expected: MetricFamily[];
  utf8Names?: boolean;
}[] = [
  {
    name: "counter family named after its _total samples, _created as a field",
    body:
      "# TYPE foo counter\nfoo_total 17.0\nfoo_created 1520430000.123\n# EOF\n",
    expected: [{
      name: "foo_total",
      type: "counter",
      help: undefined,
      metrics: [{ labels: [], value: 17, createdTimestampMs: 1520430000123 }],
    }],
  },
  {
    name: "timestamps converted to exact milliseconds, truncated toward zero",
    body: [
      "# TYPE foo gauge",
      'foo{a="1"} 1 1520879607.789',
      'foo{a="2"} 1 1.5e3',
      'foo{a="3"} 1 -1.0019',
      'foo{a="4"} 1 0.0009',
      'foo{a="5"} 1 12345678901234567890.1234567890',
      "# EOF",
      "",
    ].join("\n"),
    expected: [{
      name: "foo",
      type: "gauge",
      help: undefined,
      metrics: [
        {
          labels: [{ name: "a", value: "1" }],
          value: 1,
          timestampMs: 1520879607789,
        },
        { labels: [{ name: "a", value: "2" }], value: 1, timestampMs: 1500000 },
        { labels: [{ name: "a", value: "3" }], value: 1, timestampMs: -1001 },
        { labels: [{ name: "a", value: "4" }], value: 1, timestampMs: 0 },
        {
          labels: [{ name: "a", value: "5" }],
          value: 1,
          timestampMs: 12345678901234567890123,
        },
      ],
    }],
  },
  {
    name: "no TYPE and unknown both untyped",
    body: 'a 1\n# TYPE b unknown\nb{x="y"} -Inf\n# EOF',
    expected: [
      {
        name: "a",
        type: "untyped",
        help: undefined,
        metrics: [{ labels: [], value: 1 }],
      },
      {
        name: "b",
        type: "untyped",
        help: undefined,
        metrics: [{ labels: [{ name: "x", value: "y" }], value: -Infinity }],
      },
    ],
  },
  {
    name: "empty HELP and UNIT as absent, families without samples dropped",
    body:
      "# HELP a \n# UNIT a \n# TYPE b gauge\n# HELP b x\n# TYPE c gauge\n# HELP c \nc 1\n# EOF\n",
    expected: [{
      name: "c",
      type: "gauge",
      help: undefined,
      metrics: [{ labels: [], value: 1 }],
    }],
  },
  {
    name: "escapes in HELP and label values; unknown escapes kept as written",
    body: [
      "# TYPE a gauge",
      '# HELP a one\\\\two\\nthree \\"four\\" \\t five\\',
      'a{b="x\\\\y\\nz\\"w\\zq",c="tab\there # { } =,"} 1',
      "# EOF",
      "",
    ].join("\n"),
    expected: [{
      name: "a",
      type: "gauge",
      help: 'one\\two\nthree "four" \\t five\\',
      metrics: [{
        labels: [{ name: "b", value: 'x\\y\nz"w\\zq' }, {
          name: "c",
          value: "tab\there # { } =,",
        }],
        value: 1,
      }],
    }],
  },
  {
    name: "histogram without _count and _sum, labels in any order",
    body: [
      "# TYPE h histogram",
      'h_bucket{x="1",le="1"} 0',
      'h_bucket{le="+Inf",x="1"} 2',
      'h_bucket{x="2",le="+Inf"} 1',
      'h_count{x="2"} 1',
      'h_sum{x="2"} -0',
      "# EOF",
      "",
    ].join("\n"),
    expected: [{
      name: "h",
      type: "histogram",
      help: undefined,
      metrics: [
        {
          labels: [{ name: "x", value: "1" }],
          sampleCount: 2,
          sampleSum: 0,
          buckets: [{ upperBound: 1, cumulativeCount: 0 }, {
            upperBound: Infinity,
            cumulativeCount: 2,
          }],
        },
        {
          labels: [{ name: "x", value: "2" }],
          sampleCount: 1,
          sampleSum: -0,
          buckets: [{ upperBound: Infinity, cumulativeCount: 1 }],
        },
      ],
    }],
  },
  {
    name: "summary quantiles parsed as floats, in the given order",
    body: [
      "# TYPE s summary",
      's{quantile="0.99"} 2',
      's{quantile="0.50"} NaN',
      "s_count 3",
      "s_created 0",
      "# EOF",
      "",
    ].join("\n"),
    expected: [{
      name: "s",
      type: "summary",
      help: undefined,
      metrics: [{
        labels: [],
        sampleCount: 3,
        sampleSum: 0,
        quantiles: [{ quantile: 0.99, value: 2 }, {
          quantile: 0.5,
          value: NaN,
        }],
        createdTimestampMs: 0,
      }],
    }],
  },
  {
    name: "info and stateset as gauges",
    body: [
      "# TYPE i info",
      'i_info{v="1"} 1',
      "# TYPE s stateset",
      's{s="a",x="1"} 1',
      's{s="b",x="1"} 0',
      "# EOF",
      "",
    ].join("\n"),
    expected: [
      {
        name: "i_info",
        type: "gauge",
        help: undefined,
        metrics: [{ labels: [{ name: "v", value: "1" }], value: 1 }],
      },
      {
        name: "s",
        type: "gauge",
        help: undefined,
        metrics: [
          {
            labels: [{ name: "s", value: "a" }, { name: "x", value: "1" }],
            value: 1,
          },
          {
            labels: [{ name: "s", value: "b" }, { name: "x", value: "1" }],
            value: 0,
          },
        ],
      },
    ],
  },
  {
    name: "a sample not fitting the TYPE starts an unknown family",
    body: "# TYPE a gauge\na 1\na_total 2\n# EOF\n",
    expected: [
      {
        name: "a",
        type: "gauge",
        help: undefined,
        metrics: [{ labels: [], value: 1 }],
      },
      {
        name: "a_total",
        type: "untyped",
        help: undefined,
        metrics: [{ labels: [], value: 2 }],
      },
    ],
  },
  {
    name: "quoted UTF-8 names when enabled",
    body: [
      '# TYPE "my.metric" counter',
      '# HELP "my.metric" Dotted.',
      '{"my.metric_total","label.name"="v",plain="p"} 1',
      '{"other.metric"} 2',
      "# EOF",
      "",
    ].join("\n"),
    utf8Names: true,
    expected: [
      {
        name: "my.metric_total",
        type: "counter",
        help: "Dotted.",
        metrics: [{
          labels: [{ name: "label.name", value: "v" }, {
            name: "plain",
            value: "p",
          }],
          value: 1,
        }],
      },
      {
        name: "other.metric",
        type: "untyped",
        help: undefined,
        metrics: [{ labels: [], value: 2 }],
      },
    ],
  },
];

Deno.test("parseOpenMetrics() maps each OpenMetrics type to the model", async (t) => {
  for (const c of GOOD_BODIES) {
    await t.step(c.name, () => {
      const options = c.utf8Names === undefined
        ? {}
        : { utf8Names: c.utf8Names };
      assert.deepEqual(parse(c.body, options), c.expected);
    });
  }
});

Deno.test("parseOpenMetrics() keeps several points of one metric apart", () => {
  // Only possible with timestamps, which the push validator rejects later.
  const families = parse("# TYPE a gauge\na 1 1\na 2 2\n# EOF\n");
  assert.deepEqual(families[0]?.metrics, [
    { labels: [], value: 1, timestampMs: 1000 },
    { labels: [], value: 2, timestampMs: 2000 },
  ]);
});

// ---------------------------------------------------------------------------
// Properties

function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll(
    '"',
    '\\"',
  );
}

Deno.test("parseOpenMetrics() reads back any escaped label value", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (value) => {
      const body = `a{v="${escapeLabelValue(value)}"} 1\n# EOF\n`;
      const [family] = parse(body);
      assert.equal(family?.metrics[0]?.labels[0]?.value, value);
    }),
    { seed: 4242, numRuns: 500 },
  );
});

Deno.test("parseOpenMetrics() throws only ExpositionError for random input", () => {
  const line = fc.oneof(
    fc.constantFrom(
      "# TYPE a counter",
      "# TYPE a histogram",
      "# TYPE a summary",
      "# TYPE a stateset",
      "# HELP a x",
      "# UNIT a_s s",
      "a_total 1",
      'a_bucket{le="+Inf"} 1',
      'a{quantile="0.5"} 1',
      "a_count 1",
      "a_sum 1",
      'a{a="x"} 1 # {t="1"} 1 1',
      "a 1 1",
      "# EOF",
      "",
    ),
    fc.string({ maxLength: 30 }),
  );
  fc.assert(
    fc.property(
      fc.array(line, { maxLength: 12 }),
      fc.uint8Array({ maxLength: 4 }),
      (lines, noise) => {
        const text = lines.join("\n");
        const bodies = [
          encoder.encode(text),
          Uint8Array.of(...encoder.encode(text), ...noise),
        ];
        for (const body of bodies) {
          try {
            parseOpenMetrics(body);
          } catch (error) {
            if (!(error instanceof ExpositionError)) throw error;
            assert.ok(error.line >= 1);
          }
        }
      },
    ),
    { seed: 1729, numRuns: 2000 },
  );
});
