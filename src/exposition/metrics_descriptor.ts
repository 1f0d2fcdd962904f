/**
 * The `io.prometheus.client` protobuf schema (prometheus/client_model
 * `io/prometheus/client/metrics.proto`, proto2) plus `google.protobuf.Timestamp`,
 * as a protobufjs JSON descriptor. Embedded as a module so nothing is read
 * from disk at run time.
 *
 * Faithful to the upstream file: field names, numbers, types and the enum.
 * Each message and the enum carry `edition: "proto2"`, because protobufjs
 * reads a JSON descriptor as proto3 by default, which would drop explicit
 * presence (an empty HELP would vanish) and pack repeated scalars. Data
 * only; `protobuf.ts` turns it into codecs.
 * @module
 */

/** A protobufjs JSON field descriptor. */
export interface FieldDescriptor {
  readonly type: string;
  readonly id: number;
  readonly rule?: "repeated";
}

/** A protobufjs JSON message descriptor. */
export interface MessageDescriptor {
  readonly edition: "proto2";
  readonly fields: Readonly<Record<string, FieldDescriptor>>;
}

/** A protobufjs JSON enum descriptor. */
export interface EnumDescriptor {
  readonly edition: "proto2";
  readonly values: Readonly<Record<string, number>>;
}

/** Messages and the enum of package `io.prometheus.client`. */
export const CLIENT_PACKAGE = {
  LabelPair: {
    edition: "proto2",
    fields: {
      name: { type: "string", id: 1 },
      value: { type: "string", id: 2 },
    },
  },
  MetricType: {
    edition: "proto2",
    values: {
      COUNTER: 0,
      GAUGE: 1,
      SUMMARY: 2,
      UNTYPED: 3,
      HISTOGRAM: 4,
      GAUGE_HISTOGRAM: 5,
    },
  },
  Gauge: {
    edition: "proto2",
    fields: {
      value: { type: "double", id: 1 },
    },
  },
  Counter: {
    edition: "proto2",
    fields: {
      value: { type: "double", id: 1 },
      exemplar: { type: "Exemplar", id: 2 },
      created_timestamp: { type: "google.protobuf.Timestamp", id: 3 },
    },
  },
  Quantile: {
    edition: "proto2",
    fields: {
      quantile: { type: "double", id: 1 },
      value: { type: "double", id: 2 },
    },
  },
  Summary: {
    edition: "proto2",
    fields: {
      sample_count: { type: "uint64", id: 1 },
      sample_sum: { type: "double", id: 2 },
      quantile: { rule: "repeated", type: "Quantile", id: 3 },
      created_timestamp: { type: "google.protobuf.Timestamp", id: 4 },
    },
  },
  Untyped: {
    edition: "proto2",
    fields: {
      value: { type: "double", id: 1 },
    },
  },
  Histogram: {
    edition: "proto2",
    fields: {
      sample_count: { type: "uint64", id: 1 },
      sample_count_float: { type: "double", id: 4 },
      sample_sum: { type: "double", id: 2 },
      bucket: { rule: "repeated", type: "Bucket", id: 3 },
      created_timestamp: { type: "google.protobuf.Timestamp", id: 15 },
      schema: { type: "sint32", id: 5 },
      zero_threshold: { type: "double", id: 6 },
      zero_count: { type: "uint64", id: 7 },
      zero_count_float: { type: "double", id: 8 },
      negative_span: { rule: "repeated", type: "BucketSpan", id: 9 },
      negative_delta: { rule: "repeated", type: "sint64", id: 10 },
      negative_count: { rule: "repeated", type: "double", id: 11 },
      positive_span: { rule: "repeated", type: "BucketSpan", id: 12 },
      positive_delta: { rule: "repeated", type: "sint64", id: 13 },
      positive_count: { rule: "repeated", type: "double", id: 14 },
      exemplars: { rule: "repeated", type: "Exemplar", id: 16 },
    },
  },
  Bucket: {
    edition: "proto2",
    fields: {
      cumulative_count: { type: "uint64", id: 1 },
      cumulative_count_float: { type: "double", id: 4 },
      upper_bound: { type: "double", id: 2 },
      exemplar: { type: "Exemplar", id: 3 },
    },
  },
  BucketSpan: {
    edition: "proto2",
    fields: {
      offset: { type: "sint32", id: 1 },
      length: { type: "uint32", id: 2 },
    },
  },
  Exemplar: {
    edition: "proto2",
    fields: {
      label: { rule: "repeated", type: "LabelPair", id: 1 },
      value: { type: "double", id: 2 },
      timestamp: { type: "google.protobuf.Timestamp", id: 3 },
    },
  },
  Metric: {
    edition: "proto2",
    fields: {
      label: { rule: "repeated", type: "LabelPair", id: 1 },
      gauge: { type: "Gauge", id: 2 },
      counter: { type: "Counter", id: 3 },
      summary: { type: "Summary", id: 4 },
      untyped: { type: "Untyped", id: 5 },
      histogram: { type: "Histogram", id: 7 },
      timestamp_ms: { type: "int64", id: 6 },
    },
  },
  MetricFamily: {
    edition: "proto2",
    fields: {
      name: { type: "string", id: 1 },
      help: { type: "string", id: 2 },
      type: { type: "MetricType", id: 3 },
      metric: { rule: "repeated", type: "Metric", id: 4 },
      unit: { type: "string", id: 5 },
    },
  },
} as const satisfies Readonly<
  Record<string, MessageDescriptor | EnumDescriptor>
>;

/** `google/protobuf/timestamp.proto`, the only import of metrics.proto. */
export const TIMESTAMP_MESSAGE = {
  edition: "proto2",
  fields: {
    seconds: { type: "int64", id: 1 },
    nanos: { type: "int32", id: 2 },
  },
} as const satisfies MessageDescriptor;

/** The whole schema, rooted as `Root.fromJSON` expects it. */
export const METRICS_DESCRIPTOR = {
  nested: {
    io: {
      nested: {
        prometheus: {
          nested: { client: { nested: CLIENT_PACKAGE } },
        },
      },
    },
    google: {
      nested: { protobuf: { nested: { Timestamp: TIMESTAMP_MESSAGE } } },
    },
  },
} as const;
