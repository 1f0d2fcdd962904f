/**
 * The request the plain listener hands to the handler: the members of
 * `Request` the routes read (`url`, `method`, `headers`, `body`, `bodyUsed`,
 * `bytes()`, `arrayBuffer()`, `text()`, `json()`), made without the Fetch
 * API's constructor, which parses the URL again, makes an AbortSignal and
 * converts the init dictionary: a few µs of every push, as `Deno.serve`
 * avoids with requests of its own. `url` is the target as sent (the URL
 * parser would drop `.` and `..` segments, which the router redirects as the
 * Pushgateway does, docs/compatibility.md, Routes); `headers` answers from
 * the parsed fields (engine_headers.ts). It is an
 * `instanceof Request`; any other member of `Request` (`clone()`,
 * `formData()`, …) throws, so a route that needs one must be given it here.
 * @module
 */

import { EngineHeaders } from "./engine_headers.ts";
import { concatBytes } from "../../bytes.ts";

const EMPTY = new Uint8Array(0);

/** `bytes` if they own their buffer, else a copy that does. */
function owned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : bytes.slice();
}

/** The body: bytes already received, a stream, or none. */
export type EngineBody = Uint8Array | ReadableStream<Uint8Array> | null;

export class EngineRequest {
  readonly url: string;
  readonly method: string;
  readonly #fields: Readonly<Record<string, string>>;
  #headers: Headers | undefined;
  #body: EngineBody;
  #stream: ReadableStream<Uint8Array> | null | undefined;
  #used = false;

  constructor(
    url: string,
    method: string,
    fields: Readonly<Record<string, string>>,
    body: EngineBody,
  ) {
    this.url = url;
    this.method = method;
    this.#fields = fields;
    this.#body = body;
  }

  get headers(): Headers {
    return this.#headers ??= new EngineHeaders(this.#fields);
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream !== undefined) return this.#stream;
    const body = this.#body;
    if (body === null || body instanceof ReadableStream) {
      this.#stream = body;
    } else {
      this.#stream = new ReadableStream({
        type: "bytes",
        start(controller) {
          // A byte stream takes the chunk's buffer from its owner: a view
          // of the connection's shared slab is copied first.
          if (body.length > 0) controller.enqueue(owned(body));
          controller.close();
        },
      });
    }
    return this.#stream;
  }

  async bytes(): Promise<Uint8Array> {
    if (this.#used) throw new TypeError("the body was already read");
    this.#used = true;
    const body = this.#body;
    this.#body = null;
    if (this.#stream === undefined && !(body instanceof ReadableStream)) {
      return body ?? EMPTY;
    }
    const stream = this.#stream ?? (body as ReadableStream<Uint8Array>);
    if (stream === null) return EMPTY;
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of stream) {
      chunks.push(chunk);
      total += chunk.length;
    }
    if (chunks.length === 1) return chunks[0] as Uint8Array;
    return concatBytes(chunks, total);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return bytes.byteOffset === 0 && bytes.length === bytes.buffer.byteLength
      ? bytes.buffer as ArrayBuffer
      : bytes.slice().buffer as ArrayBuffer;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

Object.setPrototypeOf(EngineRequest.prototype, Request.prototype);

/** Fetch's spelling of the methods it normalizes (`get` → `GET`). */
const NORMALIZED: ReadonlyMap<string, string> = new Map(
  ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].map((m) => [
    m.toLowerCase(),
    m,
  ]),
);

/** The methods as Fetch spells them (most requests: no lower-casing). */
const SPELLED: ReadonlySet<string> = new Set(NORMALIZED.values());

/** A `Request` as the handler sees it (see the module's note). */
export function engineRequest(
  url: string,
  method: string,
  fields: Readonly<Record<string, string>>,
  body: EngineBody,
): Request {
  const normalized = SPELLED.has(method)
    ? method
    : NORMALIZED.get(method.toLowerCase()) ?? method;
  return new EngineRequest(url, normalized, fields, body) as unknown as Request;
}
