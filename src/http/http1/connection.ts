/**
 * One HTTP/1.x connection of our own engine (http1_listener.ts): reads each
 * request head into one buffer (up to `--web.max-header-bytes`), makes a
 * `Request`, calls the handler, writes its `Response`, then goes on with the
 * next request: keep-alive, pipelining (bytes after a request stay
 * buffered), HTTP/1.0, chunked and `Content-Length` bodies,
 * `Expect: 100-continue` (answered when the handler first reads the body).
 *
 * A body already whole in the buffer is given to the `Request` as bytes,
 * else as a stream read from the connection. A head past the limit is
 * answered 414 (431 when the request line had ended), a malformed one 400,
 * then the connection is closed once the client stops sending. A connection
 * silent for the read deadline (`--web.read-timeout`), reading or writing, is
 * closed. Never throws: every failure ends in closing the connection.
 * @module
 */

import type { Logger } from "../../log.ts";
import { errorMessage, errorStack } from "../../error_message.ts";
import type { Handler } from "../routes.ts";
import { BodyReader, bodyStream, type BufferedInput } from "./request_body.ts";
import {
  findHeadEnd,
  type HeadRefusal,
  parseRequestHead,
  type RequestHead,
  requestLineOf,
} from "./request_head.ts";
import { closingAnswer, writeAll, writeResponse } from "./response_writer.ts";
import { headRefusalMessage, type RefusedRequest } from "./refusal.ts";
import { engineRequest } from "./engine_request.ts";

/** What every connection of a listener shares. */
export interface ConnectionContext {
  readonly handler: Handler;
  readonly logger: Logger;
  readonly maxHeaderBytes: number;
  readonly onRefused: ((refused: RefusedRequest) => void) | undefined;
  /** True once the listener is shutting down: no new request is read. */
  closing(): boolean;
}

/** A `Host` the URL parser takes: a name or address, and a port. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_~%]*)(:\d{0,5})?$/;

const INITIAL_BUFFER_BYTES = 16 * 1024;
/**
 * Small bodies are copied out of the read buffer into views of a shared
 * slab, not into arrays of their own: a new array over 64 bytes is a
 * backing store outside V8's heap, which cost a 10-series push more than
 * the rest of its parsing. A body kept by whoever read it keeps at most one
 * slab alive; a larger one gets its own buffer (the push worker takes such
 * a buffer without a copy).
 */
const SLAB_BYTES = 64 * 1024;
const SLAB_PIECE_MAX_BYTES = 8 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/** A copy of `bytes`, in the slab when small. */
function copyOf(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n > SLAB_PIECE_MAX_BYTES) return bytes.slice();
  if (slabUsed + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const copy = slab.subarray(slabUsed, slabUsed + n);
  copy.set(bytes);
  // Views start at multiples of 8, as arrays of their own would.
  slabUsed += (n + 7) & ~7;
  return copy;
}
/** An unread body up to this size is read and dropped to keep the connection. */
const DRAIN_MAX_BYTES = 256 * 1024;
/** After a refusal, what the client still sends is dropped for this long… */
const LINGER_MS = 2000;
/** …or up to this many bytes, before the connection is closed. */
const LINGER_MAX_BYTES = 16 * 1024 * 1024;
const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

type HeadRead =
  | { readonly kind: "head"; readonly head: RequestHead }
  | { readonly kind: "refused"; readonly refusal: HeadRefusal };

export class Http1Connection implements BufferedInput {
  readonly #conn: Deno.Conn;
  readonly #cx: ConnectionContext;
  readonly #info: { remoteAddr: { hostname: string } };
  #buf = new Uint8Array(INITIAL_BUFFER_BYTES);
  #start = 0;
  #end = 0;
  /** Waiting for a request head with nothing of it read: may be closed at once. */
  #idle = true;
  #closed = false;
  /** Reads and writes under way, and completed (for {@link sweep}). */
  #waiting = 0;
  #progress = 0;
  #progressSeen = 0;
  #quietMs = 0;
  #inHandler = false;
  /** Bytes after #start already searched for the end of the head. */
  #scanned = 0;
  /** The last `Host` found valid: the same on every request, checked once. */
  #validHost = "";

  constructor(conn: Deno.Conn, cx: ConnectionContext) {
    this.#conn = conn;
    this.#cx = cx;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.#info = { remoteAddr: { hostname: addr.hostname ?? "" } };
  }

  get idle(): boolean {
    return this.#idle;
  }

  /** Closes the connection (a request in progress fails). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  /** Serves requests until the connection ends. */
  async serve(): Promise<void> {
    try {
      for (let keepAlive = true; keepAlive && !this.#cx.closing();) {
        let read = this.#bufferedHead();
        // Bounded: every fill adds bytes, and past the limit it is refused.
        while (read === undefined) {
          if (this.#idle && this.#cx.closing()) return;
          if (!(await this.fill())) return;
          read = this.#bufferedHead();
        }
        if (read.kind === "refused") {
          await this.#refuse(read.refusal);
          break;
        }
        keepAlive = await this.#exchange(read.head);
      }
    } catch (error) {
      if (!this.#closed) {
        this.#cx.logger.debug("connection failed", {
          err: errorMessage(error),
        });
      }
    } finally {
      this.close();
    }
  }

  // BufferedInput, for the body reader.

  buffered(): number {
    return this.#end - this.#start;
  }

  take(max: number): Uint8Array {
    const n = Math.min(max, this.#end - this.#start);
    const bytes = copyOf(this.#buf.subarray(this.#start, this.#start + n));
    this.#start += n;
    return bytes;
  }

  indexOfLf(): number {
    const at = this.#buf.subarray(this.#start, this.#end).indexOf(10);
    return at;
  }

  /** Reads more into the buffer, making room first; false at the end. */
  async fill(): Promise<boolean> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      const held = this.#end - this.#start;
      if (this.#start > 0 && held <= this.#buf.length / 2) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(this.#buf.length * 2);
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      this.#start = 0;
      this.#end = held;
    }
    this.#waiting++;
    try {
      const n = await this.#conn.read(this.#buf.subarray(this.#end));
      if (n === null) return false;
      this.#end += n;
      return true;
    } finally {
      this.#waiting--;
      this.#progress++;
    }
  }

  /** Writes, watched as reads are: a client that stops reading is closed. */
  async write(bytes: Uint8Array): Promise<number> {
    this.#waiting++;
    try {
      return await this.#conn.write(bytes);
    } finally {
      this.#waiting--;
      this.#progress++;
    }
  }

  /**
   * Called every `tick` ms by the listener: closes the connection once it
   * has waited on a read or a write for `timeoutMs` without any completing.
   * A counter instead of a timer or a clock read per read and write, which
   * cost a push several % (a timer) or an op each (the clock).
   */
  sweep(tickMs: number, timeoutMs: number): void {
    if (
      this.#waiting === 0 || this.#inHandler ||
      this.#progress !== this.#progressSeen
    ) {
      this.#progressSeen = this.#progress;
      this.#quietMs = 0;
      return;
    }
    this.#quietMs += tickMs;
    if (this.#quietMs >= timeoutMs) this.close();
  }

  /**
   * The request head in the buffer, or undefined while its end has not
   * arrived (then the caller reads more; {@link #scanned} remembers how far
   * the search went).
   */
  #bufferedHead(): HeadRead | undefined {
    const max = this.#cx.maxHeaderBytes;
    // Empty lines before a request line are allowed (RFC 9112, 2.2).
    while (
      this.#start < this.#end &&
      (this.#buf[this.#start] === 13 || this.#buf[this.#start] === 10)
    ) {
      this.#start++;
      this.#scanned = Math.max(0, this.#scanned - 1);
    }
    const found = findHeadEnd(
      this.#buf,
      this.#start + Math.max(0, this.#scanned - 3),
      this.#end,
    );
    if (found !== undefined) {
      this.#idle = false;
      this.#scanned = 0;
      if (found.end - this.#start > max) return this.#tooLarge();
      const parsed = parseRequestHead(
        this.#buf.subarray(this.#start, found.end),
      );
      if (!parsed.ok) return { kind: "refused", refusal: parsed.refusal };
      this.#start = found.next;
      return { kind: "head", head: parsed.head };
    }
    if (this.#end - this.#start > max) return this.#tooLarge();
    this.#scanned = this.#end - this.#start;
    this.#idle = this.#scanned === 0;
    return undefined;
  }

  /** 414 while the request line has not ended, else 431. */
  #tooLarge(): HeadRead {
    // The request line alone over the limit: the URL is what ran over.
    const lf = this.#buf.subarray(this.#start, this.#end).indexOf(10);
    const lineEnded = lf >= 0 && lf <= this.#cx.maxHeaderBytes;
    const status = lineEnded ? 431 : 414;
    return {
      kind: "refused",
      refusal: {
        status,
        message: headRefusalMessage(status, this.#cx.maxHeaderBytes),
      },
    };
  }

  /** One request and its answer; whether the connection may go on. */
  async #exchange(head: RequestHead): Promise<boolean> {
    const reader = new BodyReader(this, head.body);
    let continueSent = !head.expectContinue;
    const sendContinue = async () => {
      if (continueSent || this.buffered() > 0) return;
      continueSent = true;
      await writeAll(this, CONTINUE);
    };
    const request = this.#request(head, reader, sendContinue);
    if (request === undefined) {
      await this.#refuse(
        { status: 400, message: "invalid request target or header" },
        { method: head.method, target: head.target.slice(0, 256) },
      );
      return false;
    }
    // The handler times the body it reads itself (--web.read-timeout, 408).
    this.#inHandler = true;
    let response: Response;
    try {
      response = await this.#cx.handler(request, this.#info);
    } catch (error) {
      response = this.#failed(head.target, error);
    }
    this.#inHandler = false;
    // Not yet read and not announced by 100 Continue: the client may not send it.
    const unread = !reader.done && !continueSent;
    const keepAlive = await writeResponse(this, response, {
      head: head.method === "HEAD",
      minor: head.minor,
      keepAlive: head.keepAlive && !unread && !this.#cx.closing(),
    });
    if (!keepAlive || unread) return false;
    if (this.#buf.length > INITIAL_BUFFER_BYTES && this.#start === this.#end) {
      this.#buf = new Uint8Array(INITIAL_BUFFER_BYTES);
      this.#start = this.#end = 0;
    }
    return await this.#drain(reader);
  }

  /** Reads and drops what the handler left of the body; false if too much. */
  async #drain(reader: BodyReader): Promise<boolean> {
    if (reader.done) return true;
    if (reader.reading) return false;
    let dropped = 0;
    while (dropped <= DRAIN_MAX_BYTES) {
      const piece = await reader.next();
      if (piece === null) return true;
      dropped += piece.length;
    }
    return false;
  }

  #request(
    head: RequestHead,
    reader: BodyReader,
    sendContinue: () => Promise<void>,
  ): Request | undefined {
    const { target, method } = head;
    let url: string;
    if (target.charCodeAt(0) === 47) { // "/"
      const host = head.host ?? "localhost";
      if (host !== this.#validHost) {
        if (!HOST.test(host)) return undefined;
        this.#validHost = host;
      }
      url = `http://${host}${target}`;
    } else if (/^https?:\/\//i.test(target) && URL.canParse(target)) {
      url = target;
    } else {
      return undefined;
    }
    const bodyAllowed = method !== "GET" && method !== "HEAD" &&
      head.body.kind !== "none";
    const body = bodyAllowed
      ? reader.takeWhole() ?? bodyStream(reader, sendContinue)
      : null;
    return engineRequest(url, method, head.headers, body);
  }

  /** The answer when the handler throws: 500, logged. */
  #failed(target: string, error: unknown): Response {
    this.#cx.logger.error("request failed", {
      path: target.slice(0, 256),
      err: errorStack(error),
    });
    return new Response("Internal Server Error\n", {
      status: 500,
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    });
  }

  /**
   * Answers a request refused before the handler, logs and counts it, then
   * closes the connection once the client has stopped sending (closing with
   * unread bytes would make the kernel reset the connection, which can
   * destroy the answer before the client reads it: Python's urllib sends a
   * whole long URL before it reads).
   */
  async #refuse(
    refusal: HeadRefusal,
    line = requestLineOf(this.#buf.subarray(this.#start, this.#end)),
  ): Promise<void> {
    const { status, message } = refusal;
    const fields = {
      status,
      method: line.method,
      path: line.target.slice(0, 64),
      remote: this.#info.remoteAddr.hostname,
      err: message,
    };
    if (status === 400) this.#cx.logger.debug("malformed request", fields);
    else this.#cx.logger.warn("request refused", fields);
    this.#cx.onRefused?.({ status, method: line.method, target: line.target });
    const body = status === 400
      ? `malformed HTTP/1.1 request: ${message}\n`
      : `${message}\n`;
    await writeAll(
      this,
      closingAnswer(
        status,
        [["Content-Type", "text/plain; charset=utf-8"]],
        body,
      ),
    );
    await this.#linger();
  }

  async #linger(): Promise<void> {
    try {
      await (this.#conn as Deno.TcpConn).closeWrite();
    } catch {
      return;
    }
    const timer = setTimeout(() => this.close(), LINGER_MS);
    try {
      const sink = new Uint8Array(64 * 1024);
      for (let read = 0; read <= LINGER_MAX_BYTES;) {
        const n = await this.#conn.read(sink);
        if (n === null) break;
        read += n;
      }
    } catch {
      // closed by the timer
    } finally {
      clearTimeout(timer);
    }
  }
}
