/**
 * The `node:https` listener for `tls_server_config`. It serves the same
 * `(request, info) => Response` handler as the plain listener does (our
 * HTTP/1.1 engine, http1/).
 *
 * Why not `Deno.serve({ cert, key })`: it can neither ask for nor verify
 * client certificates, nor limit TLS versions, nor change its certificate
 * while running; the exporter-toolkit format needs all three. The price is
 * throughput (docs/security.md, "The cost of TLS and bcrypt") and HTTP/1.1
 * only.
 *
 * Requests the parser refuses never reach the handler through node:http;
 * they are answered here, always with a status and a body, and the
 * connection is then closed gracefully (see {@link LINGER_MS}): a head over
 * the limit gets 414 (431 if the URL fit), an unknown method is given to the
 * handler as a request without a body (405 with `Allow`, like Deno.serve),
 * anything else 400.
 *
 * Client certificate policies (Go's tls.ClientAuthType) map onto rustls as:
 * RequireAndVerifyClientCert is refused in the handshake; the lenient ones
 * ask for a certificate without failing the handshake, and the connection is
 * closed right after it when the policy (or `client_allowed_sans`) says no.
 * Certificates, keys and the client CA change live (`update()`); the policy
 * and versions are fixed for the listener's life.
 * @module
 */

import http from "node:http";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  dropUnreadBody,
  toRequest,
  unknownMethodRequest,
  writeResponse,
} from "./node_exchange.ts";
import type { TLSSocket } from "node:tls";
import type { Socket } from "node:net";
import type { Logger } from "../log.ts";
import type { Handler } from "./routes.ts";
import type { TlsSettings } from "./web_config.ts";
import { errorMessage, errorStack } from "../error_message.ts";
import { headRefusalMessage, type RefusedRequest } from "./http1/refusal.ts";
import { requestLineOf } from "./http1/request_head.ts";
import { closingAnswer } from "./http1/response_writer.ts";

export type { RefusedRequest };

/**
 * After answering a request the parser refused, the rest of what the client
 * sends is read and dropped for this long (and up to {@link LINGER_MAX_BYTES})
 * before the connection is closed. Closing a socket with unread data makes
 * the kernel send a reset, which can destroy the answer before the client
 * reads it: a client still sending a long URL (Python's urllib) would see
 * "connection reset" instead of the 414. Go's server lingers the same way.
 */
const LINGER_MS = 2000;
const LINGER_MAX_BYTES = 16 * 1024 * 1024;

export interface NodeListenerOptions {
  readonly hostname: string;
  readonly port: number;
  /** Undefined: plain HTTP. */
  readonly tls: TlsSettings | undefined;
  readonly handler: Handler;
  readonly logger: Logger;
  /** A connection idle this long is closed (slow clients); 0 = never. */
  readonly idleTimeoutMs: number;
  /** `--web.max-header-bytes`: URL and header bytes of one request. */
  readonly maxHeaderBytes: number;
  /** Called for each request answered here rather than by the handler. */
  readonly onRefused?: (refused: RefusedRequest) => void;
}

/** An error of node's HTTP parser, as `clientError` gets it. */
interface ParserError extends Error {
  readonly code?: string;
  readonly rawPacket?: Uint8Array;
  readonly bytesParsed?: number;
}

/** A running node:http(s) listener. */
export class NodeListener {
  readonly #server: https.Server | http.Server;
  readonly #logger: Logger;
  readonly #handler: Handler;
  readonly #maxHeaderBytes: number;
  readonly #onRefused: ((refused: RefusedRequest) => void) | undefined;
  #tls: TlsSettings | undefined;
  #addr: Deno.NetAddr | undefined;
  /** Every open connection (TCP and TLS sockets). */
  readonly #sockets = new Set<Socket>();
  /** Requests in flight per HTTP connection. */
  readonly #busy = new Map<Socket, number>();
  /** Called when a socket's last request in progress is answered. */
  readonly #idle = new Map<Socket, () => void>();
  readonly #allowed = new WeakSet<object>();
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closing = false;

  private constructor(options: NodeListenerOptions) {
    this.#tls = options.tls;
    this.#logger = options.logger;
    this.#handler = options.handler;
    this.#maxHeaderBytes = options.maxHeaderBytes;
    this.#onRefused = options.onRefused;
    const t = options.tls;
    // node's default is 16 KiB; a grouping key may be far longer
    // (docs/security.md, Limits).
    const maxHeaderSize = options.maxHeaderBytes;
    this.#server = t === undefined
      ? http.createServer({ maxHeaderSize })
      : https.createServer({
        ...secureOptions(t),
        maxHeaderSize,
        requestCert: t.clientAuth !== "NoClientCert",
        // Only the strict policy fails the handshake itself; the others are
        // judged in #admit() once the handshake is done.
        rejectUnauthorized: t.clientAuth === "RequireAndVerifyClientCert",
      });
    const track = (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => {
        this.#sockets.delete(socket);
        this.#busy.delete(socket);
        this.#idle.get(socket)?.();
      });
      // Against slow clients: a connection silent this long is closed.
      if (options.idleTimeoutMs > 0) {
        socket.setTimeout(options.idleTimeoutMs, () => socket.destroy());
      }
    };
    this.#server.on("connection", (socket: Socket) => {
      track(socket);
      if (t === undefined && !this.#closing) this.#allowed.add(socket);
    });
    this.#server.on("secureConnection", (socket: TLSSocket) => {
      track(socket);
      if (this.#admit(socket) && !this.#closing) this.#allowed.add(socket);
      else socket.destroy();
    });
    this.#server.on("tlsClientError", (error: Error) => {
      this.#logger.debug("TLS handshake failed", { err: error.message });
    });
    this.#server.on("clientError", (error: ParserError, socket: Socket) => {
      void this.#refuse(error, socket);
    });
    this.#server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      void this.#serve(req, res);
    });
  }

  /** Listens on hostname:port; rejects if the address cannot be bound. */
  static async listen(options: NodeListenerOptions): Promise<NodeListener> {
    const listener = new NodeListener(options);
    const server = listener.#server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.hostname, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === "string") {
      throw new Error("the node:http listener has no TCP address");
    }
    listener.#addr = {
      transport: "tcp",
      hostname: address.address,
      port: address.port,
    };
    return listener;
  }

  get addr(): Deno.NetAddr {
    return this.#addr as Deno.NetAddr;
  }

  /** New certificate, key or client CA; the policy stays (module doc). */
  update(tls: TlsSettings): void {
    if (this.#tls === undefined) return; // plain HTTP
    this.#tls = tls;
    (this.#server as https.Server).setSecureContext(secureOptions(tls));
  }

  /**
   * Stops accepting, lets requests in flight finish, closes idle
   * connections, and resolves when every connection is gone.
   */
  async shutdown(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) =>
      this.#server.close(() => resolve())
    );
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => (this.#drained = resolve));
    }
    this.abort();
    await closed;
  }

  /** Closes every connection at once. */
  abort(): void {
    this.#closing = true;
    this.#server.close();
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Whether the client certificate satisfies the policy in force. */
  #admit(socket: TLSSocket): boolean {
    const t = this.#tls;
    if (t === undefined || t.clientAuth === "NoClientCert") return true;
    const peer = socket.getPeerCertificate();
    const hasCert = peer !== null && typeof peer === "object" &&
      Object.keys(peer).length > 0;
    switch (t.clientAuth) {
      case "RequestClientCert":
        break;
      case "RequireAnyClientCert":
        if (!hasCert) return false;
        break;
      case "VerifyClientCertIfGiven":
        if (hasCert && !socket.authorized) return false;
        break;
      case "RequireAndVerifyClientCert":
        if (!hasCert || !socket.authorized) return false;
        break;
    }
    if (t.clientAllowedSans !== undefined && hasCert) {
      const sans = parseSubjectAltName(peer.subjectaltname ?? "");
      if (!sans.some((san) => t.clientAllowedSans?.includes(san))) {
        this.#logger.debug("client certificate has no allowed SAN", {
          sans: sans.join(","),
        });
        return false;
      }
    }
    return true;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket;
    if (!this.#allowed.has(socket)) {
      socket.destroy();
      return;
    }
    this.#busy.set(socket, (this.#busy.get(socket) ?? 0) + 1);
    this.#inFlight++;
    try {
      const request = toRequest(
        req,
        this.#tls === undefined ? "http" : "https",
      );
      if (request === undefined) {
        res.writeHead(400, { "Content-Type": "text/plain; charset=utf-8" });
        res.end("400 Bad Request\n");
        return;
      }
      const response = await this.#respond(request, socket, req.url ?? "");
      dropUnreadBody(req, LINGER_MAX_BYTES);
      await writeResponse(res, response, req.method === "HEAD");
    } catch (error) {
      this.#logger.debug("response not delivered", {
        err: errorMessage(error),
      });
      socket.destroy();
    } finally {
      const left = (this.#busy.get(socket) ?? 1) - 1;
      this.#busy.set(socket, left);
      if (left === 0) this.#idle.get(socket)?.();
      if (this.#closing && left === 0) socket.destroy();
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }

  /** The handler's response; 500 if it throws. */
  async #respond(
    request: Request,
    socket: Socket,
    target: string,
  ): Promise<Response> {
    try {
      return await this.#handler(request, {
        remoteAddr: { hostname: socket.remoteAddress ?? "" },
      });
    } catch (error) {
      this.#logger.error("request failed", {
        path: target,
        err: errorStack(error),
      });
      return new Response("Internal Server Error\n", {
        status: 500,
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      });
    }
  }

  /**
   * Answers a request node's parser refused (node's own answer is a bare
   * status, written just before the socket is destroyed, which over TLS
   * often never leaves), then lingers and closes the connection.
   */
  async #refuse(error: ParserError, socket: Socket): Promise<void> {
    // node's listeners would feed the rest to a parser already given back
    // to its pool (and maybe to another connection).
    socket.removeAllListeners("data");
    socket.removeAllListeners("end");
    const raw = error.rawPacket;
    const answerable = this.#allowed.has(socket) && socket.writable &&
      raw !== undefined && !this.#closing;
    if (!answerable) {
      // A socket error (reset, timeout while a response is being written)
      // or a connection refused by the TLS policy: nothing to answer.
      this.#logger.debug("connection closed on a client error", {
        err: error.message,
        code: error.code,
      });
      socket.destroy();
      return;
    }
    const at = Math.min(error.bytesParsed ?? raw.length, raw.length);
    let answer: Uint8Array;
    if (error.code === "HPE_HEADER_OVERFLOW") {
      // What came before this chunk is gone: a line feed in it means the
      // URL had ended (431); none, that the URL is what ran over (414),
      // or a single header line longer than a read (16 KiB over TLS).
      const lineEnded = raw.subarray(0, at).indexOf(10) >= 0;
      answer = this.#headTooLarge(raw, lineEnded ? 431 : 414, socket);
    } else {
      // The parser stops at the byte it refuses: an unknown method fails
      // in its request line, which starts after the last line feed.
      const lineStart = at > 0 ? raw.lastIndexOf(10, at - 1) + 1 : 0;
      answer = await this.#unparsed(raw.subarray(lineStart), error, socket);
    }
    // After the answers to the requests before it on this connection,
    // which node writes in order but this answer does not go through.
    await this.#answered(socket);
    lingeringClose(socket, answer);
  }

  /** Resolves once every request read before now on `socket` is answered. */
  #answered(socket: Socket): Promise<void> {
    if ((this.#busy.get(socket) ?? 0) === 0) return Promise.resolve();
    return new Promise((resolve) =>
      this.#idle.set(socket, () => {
        this.#idle.delete(socket);
        resolve();
      })
    );
  }

  /** The 414 or 431 for a head over `--web.max-header-bytes`. */
  #headTooLarge(
    head: Uint8Array,
    status: 414 | 431,
    socket: Socket,
  ): Uint8Array {
    const line = requestLineOf(head);
    const message = headRefusalMessage(status, this.#maxHeaderBytes);
    this.#logger.warn("request refused", {
      status,
      method: line.method,
      path: line.target.slice(0, 64),
      remote: socket.remoteAddress ?? "",
      err: message,
    });
    this.#onRefused?.({ status, method: line.method, target: line.target });
    return closingAnswer(
      status,
      [["Content-Type", "text/plain; charset=utf-8"]],
      `${message}\n`,
    );
  }

  /**
   * A head the parser refused for another reason. A method it does not
   * know goes to the handler, as Deno.serve would have sent it (405 with
   * `Allow` on a known path); anything else is 400.
   */
  async #unparsed(
    bytes: Uint8Array,
    error: ParserError,
    socket: Socket,
  ): Promise<Uint8Array> {
    const request = unknownMethodRequest(
      bytes,
      this.#tls === undefined ? "http" : "https",
    );
    if (request !== undefined) {
      this.#inFlight++;
      try {
        const response = await this.#respond(request, socket, "");
        const body = new Uint8Array(await response.arrayBuffer());
        return closingAnswer(response.status, [...response.headers], body);
      } finally {
        if (--this.#inFlight === 0) this.#drained?.();
      }
    }
    const line = requestLineOf(bytes);
    this.#logger.debug("malformed request", {
      method: line.method,
      path: line.target.slice(0, 64),
      remote: socket.remoteAddress ?? "",
      err: error.message,
    });
    this.#onRefused?.({
      status: 400,
      method: line.method,
      target: line.target,
    });
    return closingAnswer(
      400,
      [["Content-Type", "text/plain; charset=utf-8"]],
      `malformed HTTP/1.1 request: ${error.message}\n`,
    );
  }
}

/**
 * Writes `answer`, half-closes, and reads what the client still sends for
 * at most {@link LINGER_MS} or {@link LINGER_MAX_BYTES} before closing.
 */
function lingeringClose(socket: Socket, answer: Uint8Array): void {
  let read = 0;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.on("close", () => clearTimeout(timer));
  socket.on("end", () => socket.destroy());
  socket.on("data", (chunk: Uint8Array) => {
    read += chunk.length;
    if (read > LINGER_MAX_BYTES) socket.destroy();
  });
  socket.end(answer);
  socket.resume();
}

function secureOptions(t: TlsSettings) {
  return {
    cert: t.cert,
    key: t.key,
    ...(t.clientCa === undefined ? {} : { ca: t.clientCa }),
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
  } as const;
}

/** `DNS:a, IP Address:1.2.3.4, URI:spiffe://x` → the values. */
export function parseSubjectAltName(text: string): string[] {
  if (text === "") return [];
  return text.split(", ").map((part) => {
    const colon = part.indexOf(":");
    return colon < 0 ? part : part.slice(colon + 1);
  });
}
