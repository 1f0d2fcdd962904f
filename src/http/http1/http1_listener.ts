/**
 * Plain HTTP/1.1 served by our own engine over `Deno.listen`: the default
 * plain listener. `Deno.serve` refuses any request head over 64 KiB with a
 * bare 400 and no option changes that, yet a grouping key may be longer
 * (docs/security.md, Limits); `node:http` takes longer heads but costs far
 * more per request (docs/performance-log.md). This engine reads heads up to
 * `--web.max-header-bytes` and answers past it with 414 and a message.
 *
 * Shutdown stops accepting, closes idle connections at once, and lets each
 * request in progress finish before its connection closes.
 * @module
 */

import type { Logger } from "../../log.ts";
import { errorMessage } from "../../error_message.ts";
import type { Handler } from "../routes.ts";
import { type ConnectionContext, Http1Connection } from "./connection.ts";
import type { RefusedRequest } from "./refusal.ts";

export interface Http1ListenerOptions {
  readonly hostname: string;
  readonly port: number;
  readonly handler: Handler;
  readonly logger: Logger;
  /** `--web.read-timeout`: a connection silent this long, reading or writing, is closed; 0 = never. */
  readonly readTimeoutMs: number;
  /** `--web.max-header-bytes`: request line and headers of one request. */
  readonly maxHeaderBytes: number;
  /** Called for each request answered here rather than by the handler. */
  readonly onRefused?: (refused: RefusedRequest) => void;
}

/** A running plain HTTP/1.1 listener. */
export class Http1Listener {
  readonly #listener: Deno.TcpListener;
  readonly #connections = new Set<Http1Connection>();
  readonly #accepting: Promise<void>;
  #closing = false;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #allClosed: (() => void) | undefined;

  private constructor(
    listener: Deno.TcpListener,
    options: Http1ListenerOptions,
  ) {
    this.#listener = listener;
    const cx: ConnectionContext = {
      handler: options.handler,
      logger: options.logger,
      maxHeaderBytes: options.maxHeaderBytes,
      onRefused: options.onRefused,
      closing: () => this.#closing,
    };
    this.#accepting = this.#accept(cx, options.logger);
    const timeoutMs = options.readTimeoutMs;
    if (timeoutMs > 0) {
      const tickMs = Math.max(5, Math.min(250, Math.ceil(timeoutMs / 8)));
      this.#sweeper = setInterval(() => {
        for (const c of this.#connections) c.sweep(tickMs, timeoutMs);
      }, tickMs);
      Deno.unrefTimer(this.#sweeper);
    }
  }

  /** Listens on hostname:port; throws if the address cannot be bound. */
  static listen(options: Http1ListenerOptions): Http1Listener {
    const listener = Deno.listen({
      hostname: options.hostname,
      port: options.port,
      transport: "tcp",
    });
    return new Http1Listener(listener, options);
  }

  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /**
   * Stops accepting, closes idle connections, and resolves once every
   * request in progress is answered and its connection closed.
   */
  async shutdown(): Promise<void> {
    this.#stopAccepting();
    for (const connection of this.#connections) {
      if (connection.idle) connection.close();
    }
    await this.#accepting;
    if (this.#connections.size > 0) {
      await new Promise<void>((resolve) => (this.#allClosed = resolve));
    }
  }

  /** Closes every connection at once. */
  abort(): void {
    this.#stopAccepting();
    for (const connection of this.#connections) connection.close();
  }

  #stopAccepting(): void {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#connections.size === 0) clearInterval(this.#sweeper);
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
  }

  async #accept(cx: ConnectionContext, logger: Logger): Promise<void> {
    while (!this.#closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#closing) return;
        // Out of file descriptors and the like: the next accept may work.
        logger.warn("accept failed", { err: errorMessage(error) });
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      try {
        conn.setNoDelay(true);
      } catch {
        // the client already left
      }
      const connection = new Http1Connection(conn, cx);
      this.#connections.add(connection);
      void connection.serve().finally(() => {
        this.#connections.delete(connection);
        if (this.#connections.size > 0) return;
        this.#allClosed?.();
        if (this.#closing) clearInterval(this.#sweeper);
      });
    }
  }
}
