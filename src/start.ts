/**
 * start(config) → a running Pushvault: opens the store, builds the handler,
 * listens on every address. `main.ts` and the tests start the same way
 * (style §1). The returned instance is AsyncDisposable: disposing it stops
 * accepting, finishes requests in flight and closes the database.
 * @module
 */

import type { Config } from "./cli/flags.ts";
import { parseListenAddress } from "./cli/flags.ts";
import { createHandler } from "./http/routes.ts";
import { OWN_FAMILIES, SelfMetrics } from "./http/self_metrics.ts";
import type { Logger } from "./log.ts";
import { SILENT } from "./log.ts";
import { Maintenance } from "./maintenance.ts";
import { Store } from "./store/store.ts";

export interface StartOptions {
  readonly logger?: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
  /** Every flag's value, for /api/v1/status. */
  readonly flagValues?: Readonly<Record<string, string>>;
  /** How often expiry and retention run; 0 = only when runMaintenance() is called. */
  readonly maintenanceIntervalMs?: number;
}

/** Often enough that a group outlives its TTL by at most a tenth of it (≤ 1 min). */
function maintenanceInterval(config: Config): number {
  const ttl = config.group.ttlSeconds;
  const fromTtl = ttl > 0 ? (ttl * 1000) / 10 : 60_000;
  return Math.max(1000, Math.min(60_000, fromTtl));
}

export interface Gateway extends AsyncDisposable {
  /** `http://host:port` of the first listener (IPv6 hosts in brackets). */
  readonly url: string;
  readonly addresses: readonly Deno.NetAddr[];
  readonly store: Store;
  /** Runs TTL expiry and history retention now (tests use it with a fake clock). */
  runMaintenance(): Promise<void>;
  /** Resolves once the gateway has stopped (by shutdown() or /-/quit). */
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

export async function start(
  config: Config,
  options: StartOptions = {},
): Promise<Gateway> {
  const logger = options.logger ?? SILENT;
  // Sub-millisecond wall time: push_time_seconds carries more than ms upstream.
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const store = new Store({
    path: config.persistence.file,
    sync: config.storage.sync,
    ownFamilies: OWN_FAMILIES,
  });
  logger.info("database open", {
    file: store.path,
    groups: store.view.groupCount,
    series: store.view.seriesCount,
    sync: config.storage.sync,
  });
  if (config.web.systemdSocket) {
    store.close();
    throw new Error(
      "--web.systemd-socket is not supported: Deno cannot adopt an inherited listening socket; use --web.listen-address",
    );
  }
  const metrics = new SelfMetrics(now);
  const maintenance = new Maintenance({
    store,
    logger,
    now,
    retentionSeconds: config.history.retentionSeconds,
    defaultTtlSeconds: config.group.ttlSeconds,
    onExpired: (n) => (metrics.expiredGroups += n),
    onPruned: (n) => (metrics.prunedRows += n),
  });
  let stopping: Promise<void> | undefined;
  const abort = new AbortController();
  const handler = createHandler({
    store,
    metrics,
    logger,
    now,
    routePrefix: config.web.routePrefix,
    telemetryPath: config.web.telemetryPath,
    checkConsistency: config.push.checkConsistency,
    utf8Names: config.push.utf8Names,
    maxBodyBytes: config.storage.maxBodyBytes,
    enableLifecycle: config.web.enableLifecycle,
    enableAdminApi: config.web.enableAdminApi,
    requestShutdown: () => void shutdown(),
    isReady: () => stopping === undefined,
    flagValues: options.flagValues ?? {},
    startTime: now() / 1000,
  });

  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  try {
    for (const address of config.web.listenAddresses) {
      servers.push(await listen(address, handler, abort.signal));
    }
  } catch (error) {
    abort.abort();
    await Promise.allSettled(servers.map((s) => s.finished));
    store.close();
    throw error;
  }
  const addresses = servers.map((s) => s.addr);
  for (const addr of addresses) {
    logger.info("listening", { address: formatAddr(addr) });
  }

  let resolveFinished: () => void = () => {};
  const finished = new Promise<void>((resolve) => (resolveFinished = resolve));
  function shutdown(): Promise<void> {
    stopping ??= (async () => {
      logger.info("shutting down");
      await Promise.allSettled(servers.map((s) => s.shutdown()));
      await maintenance.stop();
      store.close();
      logger.info("database closed");
      resolveFinished();
    })();
    return stopping;
  }
  if (options.maintenanceIntervalMs !== 0) {
    maintenance.start(
      options.maintenanceIntervalMs ?? maintenanceInterval(config),
    );
  }
  const first = addresses[0] as Deno.NetAddr;
  return {
    url: `http://${formatAddr(first)}`,
    addresses,
    store,
    finished,
    shutdown,
    runMaintenance: () => maintenance.runOnce(),
    [Symbol.asyncDispose]: shutdown,
  };
}

function formatAddr(addr: Deno.NetAddr): string {
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  return `${host}:${addr.port}`;
}

async function listen(
  address: string,
  handler: Deno.ServeHandler<Deno.NetAddr>,
  signal: AbortSignal,
): Promise<Deno.HttpServer<Deno.NetAddr>> {
  const { hostname, port } = parseListenAddress(address);
  // `:9091` means every interface, as in Go: "::" is dual-stack on Linux;
  // fall back to IPv4 where IPv6 is disabled.
  const hosts = hostname === "" ? ["::", "0.0.0.0"] : [hostname];
  let lastError: unknown;
  for (const host of hosts) {
    try {
      const server = Deno.serve({
        hostname: host,
        port,
        signal,
        onListen: () => {},
      }, handler);
      await Promise.resolve();
      return server;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(
    `cannot listen on ${JSON.stringify(address)} (--web.listen-address): ${
      lastError instanceof Error ? lastError.message : String(lastError)
    }`,
    { cause: lastError },
  );
}
