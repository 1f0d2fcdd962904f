import assert from "node:assert/strict";
import {
  acceptsGzip,
  PROTOBUF_COMPACT_TEXT_CONTENT_TYPE,
  PROTOBUF_DELIMITED_CONTENT_TYPE,
  PROTOBUF_TEXT_CONTENT_TYPE,
  requestFormat,
  RESPONSE_CONTENT_TYPE,
  responseFormat,
  TEXT_CONTENT_TYPE,
} from "../../src/exposition/negotiate.ts";
import type {
  RequestFormat,
  ResponseFormat,
} from "../../src/exposition/negotiate.ts";

const PB = "application/vnd.google.protobuf";
const PROTO = "proto=io.prometheus.client.MetricFamily";

const CONTENT_TYPES: readonly {
  name: string;
  header: string | null;
  format: RequestFormat;
}[] = [
  { name: "missing header", header: null, format: "text" },
  { name: "empty header", header: "", format: "text" },
  {
    name: "text 0.0.4",
    header: "text/plain; version=0.0.4; charset=utf-8",
    format: "text",
  },
  { name: "JSON", header: "application/json", format: "text" },
  {
    name: "delimited protobuf",
    header: `${PB}; ${PROTO}; encoding=delimited`,
    format: "protobuf",
  },
  {
    name: "parameters reordered, no spaces",
    header: `${PB};encoding=delimited;${PROTO}`,
    format: "protobuf",
  },
  {
    name: "upper-case type and parameter names",
    header:
      "Application/VND.Google.Protobuf; PROTO=io.prometheus.client.MetricFamily; Encoding=delimited",
    format: "protobuf",
  },
  {
    name: "quoted parameter values",
    header:
      `${PB}; proto="io.prometheus.client.MetricFamily"; encoding="delimited"`,
    format: "protobuf",
  },
  {
    name: "trailing semicolon",
    header: `${PB}; ${PROTO}; encoding=delimited;`,
    format: "protobuf",
  },
  {
    name: "repeated equal parameter",
    header: `${PB}; ${PROTO}; encoding=delimited; encoding=delimited`,
    format: "protobuf",
  },
  {
    name: "upper-case parameter value is not protobuf",
    header: `${PB}; ${PROTO}; encoding=DELIMITED`,
    format: "text",
  },
  {
    name: "protobuf without encoding",
    header: `${PB}; ${PROTO}`,
    format: "text",
  },
  {
    name: "protobuf text encoding",
    header: `${PB}; ${PROTO}; encoding=text`,
    format: "text",
  },
  {
    name: "protobuf without proto",
    header: `${PB}; encoding=delimited`,
    format: "text",
  },
  {
    name: "conflicting duplicate parameter makes the header invalid",
    header: `${PB}; ${PROTO}; encoding=delimited; encoding=text`,
    format: "text",
  },
  {
    name: "malformed parameter makes the header invalid",
    header: `${PB}; ${PROTO}; encoding=delimited; junk`,
    format: "text",
  },
  { name: "garbage", header: "@@@ not a type", format: "text" },
  {
    name: "OpenMetrics",
    header: "application/openmetrics-text; version=1.0.0; charset=utf-8",
    format: "openmetrics",
  },
  {
    name: "OpenMetrics without parameters, upper case",
    header: "Application/OpenMetrics-Text",
    format: "openmetrics",
  },
];

Deno.test("requestFormat() picks the push body format from Content-Type", async (t) => {
  for (const c of CONTENT_TYPES) {
    await t.step(c.name, () => {
      assert.equal(requestFormat(c.header), c.format);
    });
  }
});

const ACCEPTS: readonly {
  name: string;
  header: string | null;
  format: ResponseFormat;
}[] = [
  { name: "missing header", header: null, format: "text" },
  { name: "empty header", header: "", format: "text" },
  { name: "text/plain", header: "text/plain", format: "text" },
  { name: "JSON", header: "application/json", format: "text" },
  { name: "*/*", header: "*/*", format: "text" },
  {
    name: "OpenMetrics is never served",
    header: "application/openmetrics-text; version=1.0.0",
    format: "text",
  },
  {
    name: "text/plain with another version",
    header: "text/plain;version=1.0.0",
    format: "text",
  },
  {
    name: "delimited protobuf",
    header: `${PB};${PROTO};encoding=delimited`,
    format: "protobuf-delimited",
  },
  {
    name: "protobuf text",
    header: `${PB};${PROTO};encoding=text`,
    format: "protobuf-text",
  },
  {
    name: "protobuf compact text",
    header: `${PB};${PROTO};encoding=compact-text`,
    format: "protobuf-compact-text",
  },
  {
    name: "Prometheus' scrape Accept header prefers protobuf",
    header:
      `${PB};${PROTO};encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1`,
    format: "protobuf-delimited",
  },
  {
    name: "higher q wins regardless of order",
    header: `text/plain;q=0.5, ${PB};${PROTO};encoding=delimited;q=0.9`,
    format: "protobuf-delimited",
  },
  {
    name: "text first at equal q wins",
    header: `text/plain, ${PB};${PROTO};encoding=delimited`,
    format: "text",
  },
  {
    name: "unusable clauses are skipped",
    header:
      `text/html, text/plain;version=9, ${PB};${PROTO};encoding=delimited;q=0.1`,
    format: "protobuf-delimited",
  },
  {
    name: "protobuf with an unknown encoding is skipped",
    header: `${PB};${PROTO};encoding=json, ${PB};${PROTO};encoding=text;q=0.5`,
    format: "protobuf-text",
  },
  {
    name: "protobuf without proto is skipped",
    header: `${PB};encoding=delimited`,
    format: "text",
  },
  {
    name: "q=0 does not exclude a clause (upstream quirk)",
    header: `${PB};${PROTO};encoding=delimited;q=0`,
    format: "protobuf-delimited",
  },
  {
    name: "media type is case-sensitive (goautoneg)",
    header: `Application/vnd.google.protobuf;${PROTO};encoding=delimited`,
    format: "text",
  },
  {
    name: "spaces around parameters are trimmed",
    header: `${PB} ; ${PROTO} ; encoding = delimited`,
    format: "protobuf-delimited",
  },
  {
    name: "a malformed q counts as 0",
    header:
      `${PB};${PROTO};encoding=delimited;q=x, text/plain;version=0.0.4;q=0.1`,
    format: "text",
  },
];

Deno.test("responseFormat() negotiates the scrape format like expfmt", async (t) => {
  for (const c of ACCEPTS) {
    await t.step(c.name, () => {
      assert.equal(responseFormat(c.header), c.format);
    });
  }
});

Deno.test("RESPONSE_CONTENT_TYPE holds the Pushgateway's exact strings", () => {
  assert.equal(TEXT_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(
    PROTOBUF_DELIMITED_CONTENT_TYPE,
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
  );
  assert.equal(
    PROTOBUF_TEXT_CONTENT_TYPE,
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text",
  );
  assert.equal(
    PROTOBUF_COMPACT_TEXT_CONTENT_TYPE,
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=compact-text",
  );
  assert.equal(
    RESPONSE_CONTENT_TYPE["protobuf-delimited"],
    PROTOBUF_DELIMITED_CONTENT_TYPE,
  );
  assert.equal(RESPONSE_CONTENT_TYPE.text, TEXT_CONTENT_TYPE);
});

const ENCODINGS: readonly {
  name: string;
  header: string | null;
  gzip: boolean;
}[] = [
  { name: "missing header", header: null, gzip: false },
  { name: "empty header", header: "", gzip: false },
  { name: "gzip", header: "gzip", gzip: true },
  { name: "browser list", header: "gzip, deflate, br, zstd", gzip: true },
  { name: "gzip;q=0", header: "gzip;q=0", gzip: false },
  { name: "gzip;q=0.000", header: "gzip;q=0.000", gzip: false },
  { name: "gzip;q=0.5", header: "gzip;q=0.5", gzip: true },
  { name: "identity preferred", header: "identity, gzip;q=0.5", gzip: false },
  { name: "gzip preferred", header: "identity;q=0.5, gzip", gzip: true },
  { name: "equal q goes to identity", header: "gzip, identity", gzip: false },
  { name: "* alone goes to identity", header: "*", gzip: false },
  {
    name: "* with identity refused still ties at q=1",
    header: "identity;q=0, *",
    gzip: false,
  },
  {
    name: "* preferred over a lower identity",
    header: "*;q=0.9, identity;q=0.1",
    gzip: false,
  },
  { name: "gzip above *", header: "*;q=0.5, gzip", gzip: true },
  { name: "deflate only", header: "deflate", gzip: false },
  { name: "value is case-sensitive", header: "GZIP", gzip: false },
  { name: "x-gzip is not gzip", header: "x-gzip", gzip: false },
  {
    name: "parsing stops at a malformed element",
    header: "deflate;level=1, gzip",
    gzip: false,
  },
  { name: "spaces around separators", header: "br ,  gzip ; q=1", gzip: true },
];

Deno.test("acceptsGzip() negotiates response compression like client_golang", async (t) => {
  for (const c of ENCODINGS) {
    await t.step(c.name, () => {
      assert.equal(acceptsGzip(c.header), c.gzip);
    });
  }
});

Deno.test("requestFormat() answers the same for a header seen before, past its cache bound", () => {
  const protobuf =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
  for (let i = 0; i < 600; i++) {
    assert.equal(requestFormat(`text/plain; version=0.0.4; n=${i}`), "text");
    assert.equal(requestFormat(protobuf), "protobuf");
    assert.equal(requestFormat("application/openmetrics-text"), "openmetrics");
  }
});
