/**
 * The engine's head parser (src/http/http1/request_head.ts) as a pure
 * function: what it reads of good heads, and the reason it gives for each
 * malformed one.
 */

import assert from "node:assert/strict";
import {
  parseRequestHead,
  type RequestHead,
} from "../../src/http/http1/request_head.ts";

/** The head's bytes, one per code unit (as they arrive). */
function bytesOf(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function parsed(text: string): RequestHead {
  const result = parseRequestHead(bytesOf(text));
  if (!result.ok) assert.fail(`refused: ${result.refusal.message}`);
  return result.head;
}

function refusal(text: string): string {
  const result = parseRequestHead(bytesOf(text));
  assert.equal(result.ok, false, `accepted: ${JSON.stringify(text)}`);
  return result.ok ? "" : result.refusal.message;
}

Deno.test("parseRequestHead() reads the request line, the fields in lower case and the framing", () => {
  const head = parsed(
    "PUT /metrics/job/a HTTP/1.1\r\nHost: x:9091\r\nCONTENT-type:  text/plain \t\r\n" +
      "Content-Length: 12\r\nX-Custom: a\r\nx-custom: b\r\nConnection: Keep-Alive, Close",
  );
  assert.equal(head.method, "PUT");
  assert.equal(head.target, "/metrics/job/a");
  assert.equal(head.minor, 1);
  assert.equal(head.host, "x:9091");
  assert.deepEqual({ ...head.headers }, {
    "host": "x:9091",
    "content-type": "text/plain",
    "content-length": "12",
    "x-custom": "a, b",
    "connection": "Keep-Alive, Close",
  });
  assert.deepEqual(head.body, { kind: "length", length: 12 });
  assert.equal(head.keepAlive, false);
  assert.equal(head.expectContinue, false);
});

Deno.test("parseRequestHead() takes bare LFs, HTTP/1.0, chunked bodies and 100-continue", () => {
  const old = parsed("GET / HTTP/1.0\nConnection: keep-alive");
  assert.equal(old.minor, 0);
  assert.equal(old.keepAlive, true);
  assert.equal(parsed("GET / HTTP/1.0").keepAlive, false);
  const chunked = parsed(
    "POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nExpect: 100-Continue\r\n",
  );
  assert.deepEqual(chunked.body, { kind: "chunked" });
  assert.equal(chunked.expectContinue, true);
  assert.equal(chunked.keepAlive, true);
  assert.deepEqual(parsed("GET / HTTP/1.1\r\nContent-Length: 0").body, {
    kind: "none",
  });
});

Deno.test("parseRequestHead() reads a target and values beyond ASCII", () => {
  // "é" in UTF-8 in the target; Latin-1 bytes in a value.
  const head = parsed(
    "GET /metrics/job/\xc3\xa9t\xc3\xa9 HTTP/1.1\r\nX-Name: caf\xe9\xa0\r\n",
  );
  assert.equal(head.target, "/metrics/job/été");
  assert.equal(head.headers["x-name"], "caf\xe9");
});

Deno.test("parseRequestHead() keeps field names such as __proto__ as fields", () => {
  const head = parsed("GET / HTTP/1.1\r\n__proto__: a\r\nconstructor: b\r\n");
  assert.equal(head.headers["__proto__"], "a");
  assert.equal(head.headers["constructor"], "b");
});

Deno.test("parseRequestHead() refuses malformed heads with the reason", () => {
  const cases: [string, string][] = [
    ["GET", "invalid request line"],
    ["GET /", "invalid request line"],
    [" / HTTP/1.1", "invalid request line"],
    ["G(T / HTTP/1.1", "invalid method"],
    ["GET / HTTP/2.0", "invalid HTTP version"],
    ["GET / http/1.1", "invalid HTTP version"],
    ["GET  HTTP/1.1", "invalid request target"],
    ["GET /a\x01b HTTP/1.1", "invalid request target"],
    ["GET /a\xa0 HTTP/1.1", "invalid request target"],
    ["GET / HTTP/1.1\r\n folded: x", "folded header line"],
    ["GET / HTTP/1.1\r\nno colon", "header line without a colon"],
    ["GET / HTTP/1.1\r\nnocolon", "header line without a colon"],
    ["GET / HTTP/1.1\r\n: x", "header line without a colon"],
    ["GET / HTTP/1.1\r\nBad Name: x", "invalid header name"],
    ["GET / HTTP/1.1\r\nX: a\x01b", "invalid header value"],
    ["GET / HTTP/1.1\r\nX: a\rb", "invalid header value"],
    [
      "PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2",
      "conflicting Content-Length",
    ],
    [
      "PUT / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked",
      "both Content-Length and Transfer-Encoding",
    ],
    [
      "PUT / HTTP/1.1\r\nTransfer-Encoding: gzip",
      "unsupported Transfer-Encoding",
    ],
    [
      "PUT / HTTP/1.0\r\nTransfer-Encoding: chunked",
      "unsupported Transfer-Encoding",
    ],
    ["PUT / HTTP/1.1\r\nContent-Length: -1", "invalid Content-Length"],
    ["PUT / HTTP/1.1\r\nContent-Length: 1 2", "invalid Content-Length"],
    [
      "PUT / HTTP/1.1\r\nContent-Length: 1234567890123456",
      "invalid Content-Length",
    ],
  ];
  for (const [head, reason] of cases) {
    assert.equal(refusal(head), reason, JSON.stringify(head));
  }
});
