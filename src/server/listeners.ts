/**
 * The listeners: our own HTTP/1.1 engine over `Deno.listen` for plain HTTP
 * (http/http1/), node:https (tls_server.ts) for TLS. Both read request heads
 * up to `--web.max-header-bytes` (1 MiB by default, Go's default, which is
 * what bounds the Pushgateway) and answer past it with 414 or 431, logged
 * and counted here. A `:port` address listens on every interface, IPv6 then
 * IPv4.
 * @module
 */

import { parseListenAddress } from "../cli/flags.ts";
import type { Handler } from "../http/routes.ts";
import type { SelfMetrics } from "../http/self_metrics.ts";
import type { NodeListener } from "../http/tls_server.ts";
import { Http1Listener } from "../http/http1/http1_listener.ts";
import { MAX_HEAD_BYTES, type RefusedRequest } from "../http/http1/refusal.ts";
import type { TlsSettings } from "../http/web_config.ts";
import type { Logger } from "../log.ts";
import { errorMessage } from "../error_message.ts";

/** A listening server, plain (our HTTP/1.1 engine) or TLS (node:https). */
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
  /** Aborted here if a listen fails. */
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
  const { tls, handler, logger, metrics } = options;
  const maxHeaderBytes = options.maxHeaderBytes ?? MAX_HEAD_BYTES;
  const onRefused = (refused: RefusedRequest) =>
    countRefused(refused, options.routePrefix, metrics);
  const servers: Listener[] = [];
  const tlsListeners: NodeListener[] = [];
  try {
    for (const address of options.addresses) {
      if (tls) {
        const listener = await listenNode(address, {
          tls,
          handler,
          logger,
          idleTimeoutMs: options.readTimeoutMs,
          maxHeaderBytes,
          onRefused,
        });
        tlsListeners.push(listener);
        servers.push(listener);
      } else {
        servers.push(
          await onAddress(
            address,
            (hostname, port) =>
              Promise.resolve(Http1Listener.listen({
                hostname,
                port,
                handler,
                logger,
                readTimeoutMs: options.readTimeoutMs,
                maxHeaderBytes,
                onRefused,
              })),
          ),
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
  // Loaded only when TLS is on: node:https and the Node layer under it cost
  // an idle plain-HTTP gateway about 4 MiB (docs/performance.md, "Fixed
  // costs").
  return onAddress(address, async (hostname, port) => {
    const { NodeListener } = await import("../http/tls_server.ts");
    return NodeListener.listen({ hostname, port, ...options });
  });
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
