/**
 * The node:https listener's side of an exchange (tls_server.ts): a `Request`
 * from node's `IncomingMessage` (or from the raw head of a method node's
 * parser does not know), and a `Response` written to its `ServerResponse`
 * one chunk at a time.
 * @module
 */

import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";

/** The methods node's parser (llhttp) accepts; it refuses every other one. */
const PARSED_METHODS: ReadonlySet<string> = new Set(http.METHODS);

const decoder = new TextDecoder("latin1");

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The request for a complete head whose method is a valid token the parser
 * does not know, without its body; undefined for any other head.
 */
export function unknownMethodRequest(
  bytes: Uint8Array,
  scheme: "http" | "https",
): Request | undefined {
  const end = findHeadEnd(bytes);
  if (end < 0) return undefined;
  const lines = decoder.decode(bytes.subarray(0, end)).split("\r\n");
  const match = /^(\S+) (\/\S*) HTTP\/1\.[01]$/.exec(lines[0] ?? "");
  if (!match) return undefined;
  const method = match[1] as string;
  if (!TOKEN.test(method) || PARSED_METHODS.has(method)) return undefined;
  try {
    const headers = new Headers();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) return undefined;
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    const host = headers.get("host") ?? "localhost";
    return new Request(`${scheme}://${host}${match[2]}`, { method, headers });
  } catch {
    return undefined; // a header or host the Fetch API refuses
  }
}

/** Offset of the `\r\n\r\n` ending a head, or -1. */
function findHeadEnd(bytes: Uint8Array): number {
  for (
    let i = bytes.indexOf(13);
    i >= 0 && i + 3 < bytes.length;
    i = bytes.indexOf(13, i + 1)
  ) {
    if (bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/**
 * The `Request` for `req`, or undefined for a target or header the Fetch API
 * refuses. Its body reads `req` only when pulled, so that what the handler
 * leaves unread stays with `req` for {@link dropUnreadBody}.
 */
export function toRequest(
  req: IncomingMessage,
  scheme: "http" | "https",
): Request | undefined {
  const target = req.url ?? "";
  // Origin-form only ("/path?query"), as the router expects.
  if (!target.startsWith("/")) return undefined;
  const host = req.headers.host ?? "localhost";
  try {
    const headers = new Headers();
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      headers.append(raw[i] as string, raw[i + 1] as string);
    }
    const method = req.method ?? "GET";
    const hasBody = method !== "GET" && method !== "HEAD";
    return new Request(`${scheme}://${host}${target}`, {
      method,
      headers,
      ...(hasBody ? { body: pulledBody(req), duplex: "half" } : {}),
    } as RequestInit);
  } catch {
    return undefined;
  }
}

/** What a pulled body waits for, so that dropUnreadBody can end the wait. */
const pending = new WeakMap<IncomingMessage, () => void>();

/** `req`'s body as a stream that reads a chunk each time it is pulled. */
function pulledBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      return new Promise<void>((resolve) => {
        const settle = () => {
          req.off("readable", step);
          req.off("end", step);
          req.off("error", failed);
          pending.delete(req);
          resolve();
        };
        const failed = (error: Error) => {
          settle();
          controller.error(error);
        };
        function step() {
          const chunk = req.read() as Uint8Array | null;
          if (chunk !== null) {
            settle();
            controller.enqueue(chunk);
          } else if (req.readableEnded || req.destroyed) {
            settle();
            controller.close();
          }
        }
        req.on("readable", step);
        req.on("end", step);
        req.on("error", failed);
        pending.set(req, () => {
          settle();
          controller.error(new Error("request body dropped"));
        });
        step();
      });
    },
  }, { highWaterMark: 0 });
}

/**
 * Reads and drops what the handler left of `req`'s body, so that the next
 * request on the connection is parsed (a body nobody reads holds node's
 * parser, and every later request on the keep-alive connection waits
 * forever). Past `maxBytes` the connection is closed instead.
 */
export function dropUnreadBody(req: IncomingMessage, maxBytes: number): void {
  if (req.complete && req.readableLength === 0) return;
  pending.get(req)?.();
  let dropped = 0;
  req.on("data", (chunk: Uint8Array) => {
    dropped += chunk.length;
    if (dropped > maxBytes) req.socket.destroy();
  });
  req.on("error", () => {}); // the client left: nothing to drop
  req.resume();
}

export async function writeResponse(
  res: ServerResponse,
  response: Response,
  head: boolean,
): Promise<void> {
  const headers: string[] = [];
  for (const [name, value] of response.headers) headers.push(name, value);
  if (response.body === null || head) {
    await response.body?.cancel();
    if (response.body === null) headers.push("Content-Length", "0");
    res.writeHead(response.status, headers);
    await new Promise<void>((resolve) => res.end(resolve));
    return;
  }
  const reader = response.body.getReader();
  try {
    // A body that arrives in one chunk gets a Content-Length, as Go sends.
    // A chunk is ours only until the next is read (a text scrape frees each
    // chunk then, scrape.ts): the first is copied before the second is
    // read, and every later one is written out before the next is read.
    const first = await reader.read();
    const firstBytes = first.done
      ? new Uint8Array(0)
      : Uint8Array.prototype.slice.call(first.value);
    const second = first.done ? first : await reader.read();
    if (second.done) {
      headers.push("Content-Length", String(firstBytes.length));
      res.writeHead(response.status, headers);
      await new Promise<void>((resolve) => res.end(firstBytes, resolve));
      return;
    }
    res.writeHead(response.status, headers);
    await writeChunk(res, firstBytes);
    let next: ReadableStreamReadResult<Uint8Array> = second;
    while (!next.done) {
      await writeChunk(res, next.value);
      next = await reader.read();
    }
  } finally {
    reader.releaseLock();
  }
  await new Promise<void>((resolve) => res.end(resolve));
}

/**
 * Writes `chunk` and settles once it has gone to the socket (node calls
 * back when it no longer needs the bytes), or fails if the client left.
 */
function writeChunk(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const gone = () => reject(new Error("client went away"));
    res.once("close", gone);
    res.write(chunk, (error) => {
      res.off("close", gone);
      if (error) reject(error);
      else resolve();
    });
  });
}
