import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { send, startTestGateway } from "../test_utils.ts";
import {
  checkLabelLengths,
  ReadDeadlines,
  ReadTimeoutError,
  utf8Length,
} from "../../src/http/limits.ts";
import type { PushLimits } from "../../src/http/limits.ts";
import { makeGroupingKey } from "../../src/push/grouping_key.ts";

function series(n: number, name = "s"): string {
  let text = "";
  for (let i = 0; i < n; i++) text += `${name}{i="${i}"} ${i}\n`;
  return text;
}

async function refusals(url: string): Promise<string[]> {
  const text = (await send(`${url}/metrics`)).text;
  return text.split("\n").filter((l) =>
    l.startsWith("pushvault_push_refused_total{")
  );
}

async function lastHistory(
  url: string,
): Promise<{ status: number; error: string | null }> {
  const res = await send(`${url}/api/v1/history?limit=1`);
  const body = JSON.parse(res.text) as {
    data: { status: number; error: string | null }[];
  };
  const row = body.data[0];
  assert.ok(row, res.text);
  return row;
}

Deno.test("--push.max-series-per-push passes a push at the limit and refuses one over it", async () => {
  await using gw = await startTestGateway(["--push.max-series-per-push=3"]);
  const at = await send(`${gw.url}/metrics/job/a`, {
    method: "PUT",
    body: series(3),
  });
  assert.equal(at.status, 200);
  const over = await send(`${gw.url}/metrics/job/a`, {
    method: "PUT",
    body: series(4),
  });
  assert.equal(over.status, 413);
  assert.equal(
    over.text,
    "push carries 4 series, more than the limit of 3 (--push.max-series-per-push); split it into several groups\n",
  );
  assert.equal((await lastHistory(gw.url)).status, 413);
  assert.deepEqual(await refusals(gw.url), [
    'pushvault_push_refused_total{reason="too_many_series"} 1',
  ]);
});

Deno.test("--push.max-label-name-length and value length count UTF-8 bytes at the edge", async (t) => {
  await using gw = await startTestGateway([
    // Every series carries `instance` (8 bytes), added by the gateway.
    "--push.max-label-name-length=8",
    "--push.max-label-value-length=4",
  ]);
  const cases = [
    { name: "a name of 8 bytes", body: 'm{abcdefgh="v"} 1\n', status: 200 },
    { name: "a name of 9 bytes", body: 'm{abcdefghi="v"} 1\n', status: 400 },
    { name: "a value of 4 ASCII bytes", body: 'm{a="abcd"} 1\n', status: 200 },
    { name: "a value of 4 UTF-8 bytes", body: 'm{a="a€"} 1\n', status: 200 },
    { name: "a value of 5 UTF-8 bytes", body: 'm{a="ab€"} 1\n', status: 400 },
    {
      name: "a value of 2 emoji (8 bytes)",
      body: 'm{a="😀😀"} 1\n',
      status: 400,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const res = await send(`${gw.url}/metrics/job/j`, {
        method: "PUT",
        body: c.body,
      });
      assert.equal(res.status, c.status, res.text);
    });
  }
  await t.step("a grouping label value over the limit", async () => {
    const res = await send(`${gw.url}/metrics/job/j/instance/abcde`, {
      method: "PUT",
      body: "",
    });
    assert.equal(res.status, 400);
    assert.equal(
      res.text,
      'value of label "instance" of the grouping key is 5 bytes long, more than the limit of 4 (--push.max-label-value-length)\n',
    );
  });
  await t.step("the message names metric and label", async () => {
    const res = await send(`${gw.url}/metrics/job/j`, {
      method: "PUT",
      body: 'm{abcdefghi="v"} 1\n',
    });
    assert.equal(
      res.text,
      'label name "abcdefghi" of metric "m" is 9 bytes long, more than the limit of 8 (--push.max-label-name-length)\n',
    );
  });
  await t.step("a metric name is limited as a label value", async () => {
    const res = await send(`${gw.url}/metrics/job/j`, {
      method: "PUT",
      body: "abcde 1\n",
    });
    assert.equal(res.status, 400);
    assert.equal(
      res.text,
      'metric name "abcde" is 5 bytes long, more than the limit of 4 (--push.max-label-value-length)\n',
    );
  });
  assert.deepEqual(await refusals(gw.url), [
    'pushvault_push_refused_total{reason="label_name_too_long"} 2',
    'pushvault_push_refused_total{reason="label_value_too_long"} 4',
  ]);
});

Deno.test("--storage.max-series answers 507 when a push would fill the store", async () => {
  // A new group holds its series plus push_time_seconds and
  // push_failure_time_seconds.
  await using gw = await startTestGateway(["--storage.max-series=5"]);
  const put = (job: string, n: number) =>
    send(`${gw.url}/metrics/job/${job}`, { method: "PUT", body: series(n) });
  assert.equal((await put("a", 3)).status, 200, "exactly at the limit");
  const full = await put("b", 1);
  assert.equal(full.status, 507);
  assert.equal(
    full.text,
    "the store is full: it holds 5 series and this push would bring it to 8, over the limit of 5 (--storage.max-series); delete groups or raise the limit\n",
  );
  assert.equal((await put("a", 3)).status, 200, "a replacement adds nothing");
  assert.equal((await put("a", 1)).status, 200, "a smaller push passes");
  assert.equal((await put("a", 4)).status, 507, "one over after shrinking");
  assert.deepEqual(await refusals(gw.url), [
    'pushvault_push_refused_total{reason="store_full"} 2',
  ]);
  assert.equal((await lastHistory(gw.url)).status, 507);
});

Deno.test("--storage.max-body-bytes passes a body at the limit and refuses one byte more", async () => {
  await using gw = await startTestGateway(["--storage.max-body-bytes=100"]);
  const body = (n: number) => `x ${"1".repeat(n - 3)}\n`;
  assert.equal(body(100).length, 100);
  const at = await send(`${gw.url}/metrics/job/b`, {
    method: "PUT",
    body: body(100),
  });
  assert.equal(at.status, 200, at.text);
  const over = await send(`${gw.url}/metrics/job/b`, {
    method: "PUT",
    body: body(101),
  });
  assert.equal(over.status, 413);
  assert.equal(over.text, "request body exceeds the limit of 100 bytes\n");
  const gzipped = await send(`${gw.url}/metrics/job/b`, {
    method: "PUT",
    body: new Uint8Array(gzipSync(body(101))),
    headers: { "Content-Encoding": "gzip" },
  });
  assert.equal(gzipped.status, 413);
  assert.equal(
    gzipped.text,
    "decompressed request body exceeds the limit of 100 bytes\n",
  );
  assert.deepEqual(await refusals(gw.url), [
    'pushvault_push_refused_total{reason="body_too_large"} 2',
  ]);
});

Deno.test("a gzip bomb of 1 GiB of zeros gets 413 and is never inflated past the limit", async () => {
  // 1024 gzip members of 1 MiB of zeros each: 1 GiB once inflated, about
  // 1 MiB on the wire (a reader must follow concatenated members, as Go's).
  const member = gzipSync(new Uint8Array(1024 * 1024), { level: 9 });
  const bomb = new Uint8Array(member.length * 1024);
  for (let i = 0; i < 1024; i++) bomb.set(member, i * member.length);
  assert.ok(bomb.length < 2 * 1024 * 1024);
  await using gw = await startTestGateway(); // the default 64 MiB limit
  const before = Deno.memoryUsage().rss;
  const res = await send(`${gw.url}/metrics/job/bomb`, {
    method: "PUT",
    body: bomb,
    headers: { "Content-Encoding": "gzip" },
  });
  assert.equal(res.status, 413);
  assert.equal(
    res.text,
    "decompressed request body exceeds the limit of 67108864 bytes\n",
  );
  // Not a timing or exact-memory assertion: inflating it all would need 1 GiB.
  assert.ok(Deno.memoryUsage().rss - before < 512 * 1024 * 1024);
});

/** Writes `parts` to a raw connection (pausing where a part is a number) and reads the answer. */
async function raw(
  url: string,
  parts: readonly (string | Uint8Array | number)[],
): Promise<{ response: string; written: number }> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  let written = 0;
  const reading = (async () => {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      const text = new TextDecoder().decode(
        new Uint8Array(chunks.flatMap((c) => [...c])),
      );
      // One full response is enough.
      const head = text.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      if (head >= 0 && length && text.length >= head + 4 + Number(length)) {
        return text;
      }
    }
    return new TextDecoder().decode(
      new Uint8Array(chunks.flatMap((c) => [...c])),
    );
  })();
  try {
    for (const part of parts) {
      if (typeof part === "number") {
        await new Promise((resolve) => setTimeout(resolve, part));
        continue;
      }
      const bytes = typeof part === "string"
        ? new TextEncoder().encode(part)
        : part;
      try {
        await conn.write(bytes);
        written += bytes.length;
      } catch {
        break; // the server closed the connection
      }
    }
    return { response: await reading, written };
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

Deno.test("--web.read-timeout answers 408 to a client that stops sending its body", async (t) => {
  await using gw = await startTestGateway(["--web.read-timeout=200ms"]);
  // A small body with Content-Length is read in one piece, any other as a
  // stream (http/request_body.ts): both are timed.
  const stalled = {
    "with Content-Length":
      "PUT /metrics/job/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nslow 1\n",
    "chunked":
      "PUT /metrics/job/slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nslow 1\n\r\n",
  };
  let refused = 0;
  for (const [name, head] of Object.entries(stalled)) {
    await t.step(name, async () => {
      const { response } = await raw(gw.url, [head]);
      assert.match(response, /^HTTP\/1\.1 408 /);
      assert.match(
        response,
        /request body not received within 0\.2s \(--web\.read-timeout\)\n$/,
      );
      assert.deepEqual(await refusals(gw.url), [
        `pushvault_push_refused_total{reason="read_timeout"} ${++refused}`,
      ]);
    });
  }
  const scrape = await send(`${gw.url}/metrics`);
  assert.doesNotMatch(scrape.text, /^slow/m);
});

Deno.test("a body framed both by Content-Length and chunked is refused before it is read", async () => {
  // http/request_body.ts reads a body with a small Content-Length whole,
  // trusting that it cannot grow past it: a chunked body behind a small
  // Content-Length must never reach it.
  await using gw = await startTestGateway(["--storage.max-body-bytes=1KiB"]);
  const chunk = `big_metric 1\n${"#".repeat(4000)}\n`;
  const { response } = await raw(gw.url, [
    `PUT /metrics/job/smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n${
      chunk.length.toString(16)
    }\r\n${chunk}\r\n0\r\n\r\n`,
  ]);
  assert.match(response, /^HTTP\/1\.1 400 /);
  const scrape = await send(`${gw.url}/metrics`);
  assert.doesNotMatch(scrape.text, /big_metric|smuggled/);
});

Deno.test("a body over the limit is answered 413 before the client has sent it all", async () => {
  await using gw = await startTestGateway(["--storage.max-body-bytes=64KiB"]);
  const chunk = new TextEncoder().encode(`${"#".repeat(1023)}\n`);
  const parts: (Uint8Array | string | number)[] = [
    `PUT /metrics/job/big HTTP/1.1\r\nHost: x\r\nContent-Length: ${
      1024 ** 3
    }\r\n\r\n`,
  ];
  // 256 KiB in small writes; the server answers after 64 KiB.
  for (let i = 0; i < 256; i++) parts.push(chunk);
  const { response } = await raw(gw.url, parts);
  assert.match(response, /^HTTP\/1\.1 413 /);
  assert.match(response, /request body exceeds the limit of 65536 bytes\n$/);
});

Deno.test("checkLabelLengths() checks the grouping key and every series", () => {
  const limits: PushLimits = {
    maxSeriesPerPush: 10,
    maxLabelNameLength: 3,
    maxLabelValueLength: 3,
    maxSeries: 0,
    readTimeoutMs: 0,
  };
  const key = makeGroupingKey(new Map([["job", "j"]]));
  checkLabelLengths([], key, limits);
  assert.throws(
    () =>
      checkLabelLengths(
        [{
          name: "m",
          help: undefined,
          type: "gauge",
          metrics: [{ labels: [{ name: "abcd", value: "" }], value: 1 }],
        }],
        key,
        limits,
      ),
    { name: "LimitError", status: 400, reason: "label_name_too_long" },
  );
});

Deno.test("utf8Length() counts UTF-8 bytes as TextEncoder does", () => {
  for (const s of ["", "abc", "é", "€", "😀", "a😀b€", "\ud800", "\udc00x"]) {
    assert.equal(utf8Length(s), new TextEncoder().encode(s).length, s);
  }
});

Deno.test("ReadDeadlines expires only the reads still watched past their time", async () => {
  const deadlines = new ReadDeadlines(40);
  try {
    const expired: string[] = [];
    const stopFast = deadlines.watch(() => expired.push("fast"));
    deadlines.watch((error) => {
      assert.ok(error instanceof ReadTimeoutError);
      assert.equal(error.status, 408);
      expired.push("slow");
    });
    stopFast(); // the fast body ended in time
    // Bounded wait: the deadline (40 ms) plus a few ticks (5 ms each).
    for (let i = 0; i < 100 && expired.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(expired, ["slow"]);
  } finally {
    deadlines.close();
  }
});

Deno.test("ReadDeadlines with 0 watches nothing", () => {
  const deadlines = new ReadDeadlines(0);
  const stop = deadlines.watch(() => {
    throw new Error("must not expire");
  });
  stop();
  deadlines.close();
});
