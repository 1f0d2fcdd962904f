/**
 * The plain HTTP/1.1 engine (src/http/http1/) over a raw TCP connection to
 * a real server: keep-alive and pipelining, chunked and `Content-Length`
 * bodies, `Expect: 100-continue`, HTTP/1.0, HEAD, header names in any case,
 * and the answers' framing, one byte of a head or body at a time too.
 */

import assert from "node:assert/strict";
import { gzip } from "node:zlib";
import { promisify } from "node:util";
import { startTestGateway } from "../test_utils.ts";

interface Answer {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** A raw connection that reads answers one at a time. */
class RawClient {
  readonly #conn: Deno.TcpConn;
  #pending = "";
  #ended = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(url: string): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    return new RawClient(
      await Deno.connect({ hostname, port: Number(port) }),
    );
  }

  async send(bytes: string | Uint8Array): Promise<void> {
    const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
    for (let at = 0, i = 0; at < data.length && i < 10_000; i++) {
      at += await this.#conn.write(data.subarray(at));
    }
  }

  /** Reads until `test` is true of what is pending; false at the end. */
  async #readUntil(test: () => boolean): Promise<boolean> {
    const buffer = new Uint8Array(64 * 1024);
    for (let i = 0; i < 10_000 && !test(); i++) {
      const n = await this.#conn.read(buffer);
      if (n === null) {
        this.#ended = true;
        return test();
      }
      this.#pending += latin1.decode(buffer.subarray(0, n));
    }
    return true;
  }

  /** The next answer; a HEAD's has no body. */
  async answer(options: { head?: boolean } = {}): Promise<Answer> {
    await this.#readUntil(() => this.#pending.includes("\r\n\r\n"));
    const split = this.#pending.indexOf("\r\n\r\n");
    assert.ok(split > 0, `no answer head in ${JSON.stringify(this.#pending)}`);
    const lines = this.#pending.slice(0, split).split("\r\n");
    this.#pending = this.#pending.slice(split + 4);
    const status = Number((lines[0] as string).split(" ")[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      headers.set(
        line.slice(0, colon).toLowerCase(),
        line.slice(colon + 1).trim(),
      );
    }
    let body = "";
    const length = headers.get("content-length");
    if (options.head || status === 100 || status === 204 || status === 304) {
      body = "";
    } else if (length !== undefined) {
      const n = Number(length);
      await this.#readUntil(() => this.#pending.length >= n);
      body = this.#pending.slice(0, n);
      this.#pending = this.#pending.slice(n);
    } else if (headers.get("transfer-encoding") === "chunked") {
      for (let i = 0; i < 100_000; i++) {
        await this.#readUntil(() => this.#pending.includes("\r\n"));
        const lf = this.#pending.indexOf("\r\n");
        const size = parseInt(this.#pending.slice(0, lf), 16);
        await this.#readUntil(() => this.#pending.length >= lf + 2 + size + 2);
        body += this.#pending.slice(lf + 2, lf + 2 + size);
        this.#pending = this.#pending.slice(lf + 2 + size + 2);
        if (size === 0) break;
      }
    } else {
      await this.#readUntil(() => this.#ended);
      body = this.#pending;
      this.#pending = "";
    }
    return { status, headers, body };
  }

  /** Whether the server closed the connection (nothing else pending). */
  async closed(): Promise<boolean> {
    await this.#readUntil(() => this.#ended);
    return this.#ended && this.#pending === "";
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

function put(path: string, body: string, extra = ""): string {
  return `PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
}

async function scrape(url: string): Promise<string> {
  return await (await fetch(`${url}/metrics`)).text();
}

Deno.test("the engine answers pipelined requests in order on one keep-alive connection", async () => {
  await using gw = await startTestGateway();
  const client = await RawClient.open(gw.url);
  try {
    // Three requests in one write, the last with a body split from its head.
    await client.send(
      put("/metrics/job/a", "a_metric 1\n") +
        "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n" +
        put("/metrics/job/b", "b_metric 2\n").slice(0, -5),
    );
    await client.send("ic 2\n");
    const first = await client.answer();
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("content-length"), "0");
    assert.ok(first.headers.has("date"));
    const second = await client.answer();
    assert.equal(second.status, 200);
    assert.equal(second.body, "OK");
    const third = await client.answer();
    assert.equal(third.status, 200);
    // And the connection goes on.
    await client.send("GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await client.answer()).status, 200);
  } finally {
    client.close();
  }
  const text = await scrape(gw.url);
  assert.match(text, /^a_metric\{instance="",job="a"\} 1$/m);
  assert.match(text, /^b_metric\{instance="",job="b"\} 2$/m);
});

Deno.test("the engine reads a request sent one byte at a time", async () => {
  await using gw = await startTestGateway();
  const client = await RawClient.open(gw.url);
  try {
    const request = put("/metrics/job/bytes", "byte_metric 3\n");
    for (const byte of encoder.encode(request)) {
      await client.send(new Uint8Array([byte]));
    }
    assert.equal((await client.answer()).status, 200);
  } finally {
    client.close();
  }
  assert.match(await scrape(gw.url), /^byte_metric\{[^}]*\} 3$/m);
});

Deno.test("the engine takes a chunked body, with extensions and trailers", async () => {
  await using gw = await startTestGateway();
  const client = await RawClient.open(gw.url);
  try {
    await client.send(
      "POST /metrics/job/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;ext=1\r\nchunk\r\n" + "9\r\ned_one 4\n\r\n" +
        "0\r\nX-Trailer: y\r\n\r\n" +
        "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert.equal((await client.answer()).status, 200);
    assert.equal((await client.answer()).body, "OK");
  } finally {
    client.close();
  }
  assert.match(await scrape(gw.url), /^chunked_one\{[^}]*\} 4$/m);
});

Deno.test("the engine answers Expect: 100-continue before the body is sent", async () => {
  await using gw = await startTestGateway();
  const client = await RawClient.open(gw.url);
  try {
    const body = "continued 5\n";
    await client.send(
      `PUT /metrics/job/continue HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const interim = await client.answer();
    assert.equal(interim.status, 100);
    await client.send(body);
    assert.equal((await client.answer()).status, 200);
  } finally {
    client.close();
  }
  assert.match(await scrape(gw.url), /^continued\{[^}]*\} 5$/m);
});

Deno.test("the engine serves HTTP/1.0 and closes unless asked to keep the connection", async () => {
  await using gw = await startTestGateway();
  const plain = await RawClient.open(gw.url);
  try {
    await plain.send("GET /-/healthy HTTP/1.0\r\n\r\n");
    const answer = await plain.answer();
    assert.equal(answer.status, 200);
    assert.equal(answer.body, "OK");
    assert.ok(await plain.closed());
  } finally {
    plain.close();
  }
  const kept = await RawClient.open(gw.url);
  try {
    await kept.send(
      "GET /-/healthy HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
        "GET /-/ready HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    );
    assert.equal((await kept.answer()).body, "OK");
    assert.equal((await kept.answer()).status, 200);
  } finally {
    kept.close();
  }
});

Deno.test("the engine answers HEAD without a body and goes on with the next request", async () => {
  await using gw = await startTestGateway();
  const client = await RawClient.open(gw.url);
  try {
    await client.send(
      "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const head = await client.answer({ head: true });
    const got = await fetch(`${gw.url}/metrics`, { method: "HEAD" });
    assert.equal(head.status, got.status);
    assert.equal(await got.text(), "");
    const next = await client.answer();
    assert.equal(next.status, 200);
    assert.equal(next.body, "OK");
  } finally {
    client.close();
  }
});

Deno.test("the engine hands header fields to the routes whatever their names' case", async () => {
  await using gw = await startTestGateway();
  const body = new Uint8Array(
    await promisify(gzip)(encoder.encode("zipped_metric 6\n")),
  );
  const client = await RawClient.open(gw.url);
  try {
    await client.send(
      encoder.encode(
        `PUT /metrics/job/cased HTTP/1.1\r\nHOST: x\r\nCONTENT-ENCODING: gzip\r\ncontent-TYPE: text/plain; version=0.0.4\r\nContent-length: ${body.length}\r\n\r\n`,
      ),
    );
    await client.send(body);
    assert.equal((await client.answer()).status, 200);
    // Connection: close in any case ends the connection after the answer.
    await client.send(
      "GET /-/healthy HTTP/1.1\r\nHost: x\r\nCONNECTION: Close\r\n\r\n",
    );
    const last = await client.answer();
    assert.equal(last.headers.get("connection"), "close");
    assert.ok(await client.closed());
  } finally {
    client.close();
  }
  assert.match(await scrape(gw.url), /^zipped_metric\{[^}]*\} 6$/m);
});

Deno.test("the engine writes a large scrape whole, framed, on a kept connection", async () => {
  await using gw = await startTestGateway();
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) lines.push(`big_metric{i="${i}"} ${i}`);
  const pushed = await fetch(`${gw.url}/metrics/job/big`, {
    method: "PUT",
    body: lines.join("\n") + "\n",
  });
  await pushed.body?.cancel();
  assert.equal(pushed.status, 200);
  const client = await RawClient.open(gw.url);
  try {
    await client.send(
      "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const answer = await client.answer();
    assert.equal(answer.status, 200);
    const ours = (text: string) =>
      text.split("\n").filter((l) => l.startsWith("big_metric"));
    assert.deepEqual(ours(answer.body), ours(await scrape(gw.url)));
    assert.equal(answer.body.match(/^big_metric\{/gm)?.length, lines.length);
    assert.equal((await client.answer()).body, "OK");
  } finally {
    client.close();
  }
});
