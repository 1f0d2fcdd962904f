/**
 * The HTTPS listener for `tls_server_config`: `node:https` (rustls inside
 * Deno) serving the same `(request, info) => Response` handler as
 * `Deno.serve` does for plain HTTP.
 *
 * Why not `Deno.serve({ cert, key })`: it can neither ask for nor verify
 * client certificates, nor limit TLS versions, nor change its certificate
 * while running; the exporter-toolkit format needs all three. The price is
 * throughput (README "Security" has the measured numbers) and HTTP/1.1 only.
 *
 * Client certificate policies (Go's tls.ClientAuthType) map onto rustls as:
 * RequireAndVerifyClientCert is refused in the handshake; the lenient ones
 * ask for a certificate without failing the handshake, and the connection is
 * closed right after it when the policy (or `client_allowed_sans`) says no.
 * Certificates, keys and the client CA change live (`update()`); the policy
 * and versions are fixed for the listener's life.
 * @module
 */

import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Socket } from "node:net";
import type { Logger } from "../log.ts";
import type { Handler } from "./routes.ts";
import type { TlsSettings } from "./web_config.ts";
import { errorMessage, errorStack } from "../error_message.ts";

export interface TlsListenerOptions {
  readonly hostname: string;
  readonly port: number;
  readonly tls: TlsSettings;
  readonly handler: Handler;
  readonly logger: Logger;
  /** A connection idle this long is closed (slow clients); 0 = never. */
  readonly idleTimeoutMs: number;
}

/** A running HTTPS listener. */
export class TlsListener {
  readonly #server: https.Server;
  readonly #logger: Logger;
  #tls: TlsSettings;
  #addr: Deno.NetAddr | undefined;
  /** Every open connection (TCP and TLS sockets). */
  readonly #sockets = new Set<Socket>();
  /** Requests in flight per TLS connection. */
  readonly #busy = new Map<Socket, number>();
  readonly #allowed = new WeakSet<object>();
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closing = false;

  private constructor(options: TlsListenerOptions) {
    this.#tls = options.tls;
    this.#logger = options.logger;
    const t = options.tls;
    const requestCert = t.clientAuth !== "NoClientCert";
    this.#server = https.createServer({
      ...secureOptions(t),
      requestCert,
      // Only the strict policy fails the handshake itself; the others are
      // judged in #admit() once the handshake is done.
      rejectUnauthorized: t.clientAuth === "RequireAndVerifyClientCert",
    });
    const track = (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => {
        this.#sockets.delete(socket);
        this.#busy.delete(socket);
      });
      // Against slow clients: a connection silent this long is closed.
      if (options.idleTimeoutMs > 0) {
        socket.setTimeout(options.idleTimeoutMs, () => socket.destroy());
      }
    };
    this.#server.on("connection", track);
    this.#server.on("secureConnection", (socket: TLSSocket) => {
      track(socket);
      if (this.#admit(socket) && !this.#closing) this.#allowed.add(socket);
      else socket.destroy();
    });
    this.#server.on("tlsClientError", (error: Error) => {
      this.#logger.debug("TLS handshake failed", { err: error.message });
    });
    this.#server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      void this.#serve(req, res, options.handler);
    });
  }

  /** Listens on hostname:port; rejects if the address cannot be bound. */
  static async listen(options: TlsListenerOptions): Promise<TlsListener> {
    const listener = new TlsListener(options);
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
      throw new Error("the HTTPS listener has no TCP address");
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
    this.#tls = tls;
    this.#server.setSecureContext(secureOptions(tls));
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
    if (t.clientAuth === "NoClientCert") return true;
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

  async #serve(
    req: IncomingMessage,
    res: ServerResponse,
    handler: Handler,
  ): Promise<void> {
    const socket = req.socket;
    if (!this.#allowed.has(socket)) {
      socket.destroy();
      return;
    }
    this.#busy.set(socket, (this.#busy.get(socket) ?? 0) + 1);
    this.#inFlight++;
    try {
      const request = toRequest(req);
      if (request === undefined) {
        res.writeHead(400, { "Content-Type": "text/plain; charset=utf-8" });
        res.end("400 Bad Request\n");
        return;
      }
      let response: Response;
      try {
        response = await handler(request, {
          remoteAddr: { hostname: socket.remoteAddress ?? "" },
        });
      } catch (error) {
        this.#logger.error("request failed", {
          path: req.url ?? "",
          err: errorStack(error),
        });
        response = new Response("Internal Server Error\n", {
          status: 500,
          headers: { "Content-Type": "text/plain; charset=utf-8" },
        });
      }
      await writeResponse(res, response, req.method === "HEAD");
    } catch (error) {
      this.#logger.debug("response not delivered", {
        err: errorMessage(error),
      });
      socket.destroy();
    } finally {
      const left = (this.#busy.get(socket) ?? 1) - 1;
      this.#busy.set(socket, left);
      if (this.#closing && left === 0) socket.destroy();
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }
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

function toRequest(req: IncomingMessage): Request | undefined {
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
    return new Request(`https://${host}${target}`, {
      method,
      headers,
      ...(hasBody
        ? {
          body: Readable.toWeb(req) as ReadableStream<Uint8Array>,
          duplex: "half",
        }
        : {}),
    } as RequestInit);
  } catch {
    return undefined;
  }
}

async function writeResponse(
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
