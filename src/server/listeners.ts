/**
 * The listeners: `Deno.serve` for plain HTTP, node:https (tls_server.ts) for
 * TLS and for heads over Deno.serve's fixed limit. A `:port` address listens
 * on every interface, IPv6 then IPv4.
 * @module
 */

import { parseListenAddress } from "../cli/flags.ts";
import type { Handler } from "../http/routes.ts";
import type { SelfMetrics } from "../http/self_metrics.ts";
import type { RefusedRequest } from "../http/tls_server.ts";
import {
  DENO_SERVE_MAX_HEAD_BYTES,
  NODE_MAX_HEAD_BYTES,
  NodeListener,
} from "../http/tls_server.ts";
import type { TlsSettings } from "../http/web_config.ts";
import type { Logger } from "../log.ts";
import { errorMessage } from "../error_message.ts";

/** A listening server, plain (Deno.serve) or TLS (node:https). */
export interface Listener {
  readonly addr: Deno.NetAddr;
  shutdown(): Promise<void>;
  abort(): void;
}

/** What listening on every `--web.listen-address` needs. */
export interface ListenOptions {
  readonly addresses: readonly string[];
  readonly tls: TlsSettings | undefined;
  readonly maxHeaderBytes: number | undefined;
  readonly readTimeoutMs: number;
  readonly routePrefix: string;
  readonly handler: Handler;
  readonly logger: Logger;
  readonly metrics: SelfMetrics;
  /** Closes the Deno.serve servers; aborted here if a listen fails. */
  readonly abort: AbortController;
  readonly onError: (error: unknown) => Response;
}

/**
 * Listens on every address; the TLS listeners are also returned apart, for
 * a reloaded web configuration to update. On a failure, the listeners
 * already open are closed before the error is thrown.
 */
export async function listenAll(
  options: ListenOptions,
): Promise<{ servers: Listener[]; tlsListeners: NodeListener[] }> {
  const { tls, maxHeaderBytes, handler, logger, metrics } = options;
  const servers: Listener[] = [];
  const tlsListeners: NodeListener[] = [];
  try {
    for (const address of options.addresses) {
      // Deno.serve refuses any head over its fixed 64 KiB (docs/security.md, "Limits").
      const onDenoServe = maxHeaderBytes === undefined ||
        maxHeaderBytes === DENO_SERVE_MAX_HEAD_BYTES;
      if (tls || !onDenoServe) {
        const listener = await listenNode(address, {
          tls,
          handler,
          logger,
          idleTimeoutMs: options.readTimeoutMs,
          maxHeaderBytes: maxHeaderBytes ?? NODE_MAX_HEAD_BYTES,
          onRefused: (refused) =>
            countRefused(refused, options.routePrefix, metrics),
        });
        if (tls) tlsListeners.push(listener);
        servers.push(listener);
      } else {
        servers.push(
          await listen(address, handler, {
            signal: options.abort.signal,
            onError: options.onError,
          }),
        );
      }
    }
  } catch (error) {
    options.abort.abort();
    for (const server of servers) server.abort();
    await Promise.allSettled(servers.map((s) => s.shutdown()));
    throw error;
  }
  return { servers, tlsListeners };
}

export function formatAddr(addr: Deno.NetAddr): string {
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  return `${host}:${addr.port}`;
}

/**
 * Listens on `address` with `open(host, port)`. `:9091` means every
 * interface, as in Go: "::" is dual-stack on Linux; fall back to IPv4 where
 * IPv6 is disabled.
 */
async function onAddress<T>(
  address: string,
  open: (hostname: string, port: number) => Promise<T>,
): Promise<T> {
  const { hostname, port } = parseListenAddress(address);
  const hosts = hostname === "" ? ["::", "0.0.0.0"] : [hostname];
  let lastError: unknown;
  for (const host of hosts) {
    try {
      return await open(host, port);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(
    `cannot listen on ${JSON.stringify(address)} (--web.listen-address): ${
      errorMessage(lastError)
    }`,
    { cause: lastError },
  );
}

function listen(
  address: string,
  handler: Deno.ServeHandler<Deno.NetAddr>,
  options: {
    readonly signal: AbortSignal;
    readonly onError: (error: unknown) => Response;
  },
): Promise<Listener> {
  return onAddress(address, async (hostname, port) => {
    const server = Deno.serve({
      hostname,
      port,
      signal: options.signal,
      onError: options.onError,
      onListen: () => {},
    }, handler);
    await Promise.resolve();
    return {
      addr: server.addr,
      shutdown: () => server.shutdown(),
      abort: () => {}, // the shared AbortSignal closes Deno.serve servers
    };
  });
}

function listenNode(
  address: string,
  options: {
    readonly tls: TlsSettings | undefined;
    readonly handler: Handler;
    readonly logger: Logger;
    readonly idleTimeoutMs: number;
    readonly maxHeaderBytes: number;
    readonly onRefused: (refused: RefusedRequest) => void;
  },
): Promise<NodeListener> {
  return onAddress(
    address,
    (hostname, port) => NodeListener.listen({ hostname, port, ...options }),
  );
}

/**
 * Counts a request the HTTP parser refused (a URL over the limit): as a
 * failed push when its URL is visibly a push's, as the Pushgateway counts
 * failed pushes (docs/compatibility.md, Metadata metrics); under handler
 * "unknown" when the request line is no longer at hand (node keeps only the
 * last read of a long head). Malformed requests (400) are router-level errors,
 * not counted upstream.
 */
function countRefused(
  refused: RefusedRequest,
  routePrefix: string,
  metrics: SelfMetrics,
): void {
  const { method, target, status } = refused;
  if (status === 400) return;
  const push = target.startsWith(`${routePrefix}/metrics/job`) &&
    (method === "PUT" || method === "POST" || method === "DELETE");
  const handler = push ? (method === "DELETE" ? "delete" : "push") : "unknown";
  metrics.countRequest(handler, method === "" ? "unknown" : method, status);
}
