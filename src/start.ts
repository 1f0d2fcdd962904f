/**
 * start(config) → a running Pushvault: opens the store, builds the handler,
 * listens on every address, then starts the background jobs. `main.ts` and
 * the tests start the same way. The returned instance is AsyncDisposable:
 * disposing it stops accepting, finishes requests in flight (for at most
 * {@link SHUTDOWN_GRACE_MS}), checkpoints the WAL and closes the database.
 *
 * With `--web.config.file` the handler is wrapped by the web configuration
 * (auth.ts) and TLS listeners are `node:https` ones (tls_server.ts); plain
 * ones are our own HTTP/1.1 engine (http/http1/). The file is checked for
 * changes every second (web_config.ts).
 * @module
 */

import type { Config } from "./cli/flags.ts";
import { ReadDeadlines } from "./http/limits.ts";
import type { Handler } from "./http/routes.ts";
import type { HandlerDeps } from "./http/route_table.ts";
import { createHandler, requiredScope } from "./http/routes.ts";
import { SelfMetrics } from "./http/self_metrics.ts";
import type { NodeListener } from "./http/tls_server.ts";
import type { Logger } from "./log.ts";
import { SILENT } from "./log.ts";
import { Maintenance } from "./maintenance.ts";
import type { Store } from "./store/store.ts";
import { PushWorker } from "./push/push_worker.ts";
import { PasswordWorker } from "./http/password_worker.ts";
import { errorStack } from "./error_message.ts";
import { startBackgroundJobs } from "./server/background.ts";
import { InFlight } from "./server/in_flight.ts";
import { formatAddr, listenAll, type Listener } from "./server/listeners.ts";
import { openStore } from "./server/open_store.ts";
import { stop } from "./server/shutdown.ts";
import { readWebConfig, watchWebConfig } from "./server/web_config_watch.ts";

export { SHUTDOWN_GRACE_MS } from "./server/shutdown.ts";

export interface StartOptions {
  readonly logger?: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
  /** Every flag's value, for /api/v1/status. */
  readonly flagValues?: Readonly<Record<string, string>>;
  /** How often expiry and retention run; 0 = only when runMaintenance() is called. */
  readonly maintenanceIntervalMs?: number;
  /** How often --web.config.file is checked for changes; 0 = only by reloadWebConfig(). */
  readonly webConfigPollMs?: number;
  /** Fault tests only: the store's `PRAGMA max_page_count` (StoreOptions). */
  readonly maxPageCount?: number;
  /**
   * Tests only: bodies from this size on go to the push worker, which is
   * then started (and waited for) at once; Infinity: none does.
   */
  readonly pushWorkerMinBytes?: number;
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
  /**
   * Re-reads --web.config.file now; false if it cannot be used (the last
   * good configuration stays, the reason is logged).
   */
  reloadWebConfig(): boolean;
}

export async function start(
  config: Config,
  options: StartOptions = {},
): Promise<Gateway> {
  const logger = options.logger ?? SILENT;
  // Sub-millisecond wall time: push_time_seconds carries more than ms upstream.
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  // Before the database: a bad web configuration changes nothing.
  const webConfig = await readWebConfig(config.web.configFile, logger);
  // Set once maintenance exists; a write may run out of room before.
  let pruneNow = () => {};
  const store = openStore(config, options, logger, () => pruneNow());
  const metrics = selfMetrics(config, store, now);
  const maintenance = createMaintenance(config, store, metrics, logger, now);
  pruneNow = () => void maintenance.runOnce();
  let stopping: Promise<void> | undefined;
  const workers = await startWorkers(config, options);
  const app = createHandler(handlerDeps(config, options, {
    store,
    metrics,
    logger,
    now,
    readDeadlines: workers.readDeadlines,
    pushWorker: workers.pushWorker,
    requestShutdown: () => void shutdown(),
    isReady: () => stopping === undefined,
  }));
  const tlsListeners: NodeListener[] = [];
  const watcher = watchWebConfig(config.web.configFile, webConfig, {
    logger,
    metrics,
    tlsListeners,
  });
  const inFlight = new InFlight();
  // The auth guard only with a web configuration, loaded then.
  const guardHandler = watcher
    ? (await import("./http/auth.ts")).guardHandler
    : undefined;
  const handler: Handler = inFlight.wrap(
    watcher && guardHandler
      ? guardHandler(app, {
        config: () => watcher.current,
        scopeOf: (request) => requiredScope(request, config.web),
        onRefused: (reason) =>
          metrics.countLabeled("pushvault_http_refused_total", reason),
        onUserRateLimited: (user) =>
          metrics.countLabeled("pushvault_user_rate_limited_total", user),
        passwords: workers.passwordWorker,
      })
      : app,
  );
  const abort = new AbortController();
  const servers: Listener[] = [];
  try {
    const listening = await listenAll({
      addresses: config.web.listenAddresses,
      tls: webConfig.tls,
      maxHeaderBytes: config.web.maxHeaderBytes,
      readTimeoutMs: config.web.readTimeoutMs,
      routePrefix: config.web.routePrefix,
      handler,
      logger,
      metrics,
      abort,
      onError: internalError(logger),
    });
    servers.push(...listening.servers);
    tlsListeners.push(...listening.tlsListeners);
  } catch (error) {
    store.close();
    throw error;
  }
  if (options.webConfigPollMs !== 0) {
    watcher?.start(options.webConfigPollMs ?? 1000);
  }
  const assembled = startBackgroundJobs(store, logger);
  const addresses = servers.map((s) => s.addr);
  for (const addr of addresses) {
    logger.info("listening", { address: formatAddr(addr) });
  }
  const finished = Promise.withResolvers<void>();
  function shutdown(): Promise<void> {
    stopping ??= stop({
      logger,
      servers,
      inFlight,
      abort,
      stopWatching: () => watcher?.stop(),
      release: async () => {
        await maintenance.stop();
        workers.close();
        await store.settleForLitestream();
        store.close();
        logger.info("database closed");
      },
    }).then(() => finished.resolve());
    return stopping;
  }
  if (options.maintenanceIntervalMs !== 0) {
    // Once the view is assembled: expiry reads every group's state, which
    // would assemble it at once, before the first request.
    void assembled.then(() =>
      maintenance.start(
        options.maintenanceIntervalMs ?? maintenanceInterval(config),
      )
    );
  }
  const first = addresses[0] as Deno.NetAddr;
  return {
    url: `${webConfig.tls ? "https" : "http"}://${formatAddr(first)}`,
    reloadWebConfig: () => watcher?.reload() ?? false,
    addresses,
    store,
    finished: finished.promise,
    shutdown,
    runMaintenance: () => maintenance.runOnce(),
    [Symbol.asyncDispose]: shutdown,
  };
}

function selfMetrics(
  config: Config,
  store: Store,
  now: () => number,
): SelfMetrics {
  const metrics = new SelfMetrics(now);
  metrics.storage = () => store.storageStats;
  metrics.disk = () => ({
    ...store.diskUsage(),
    maxSizeBytes: config.history.maxSizeBytes,
  });
  return metrics;
}

/** TTL expiry and history retention (size and age). */
function createMaintenance(
  config: Config,
  store: Store,
  metrics: SelfMetrics,
  logger: Logger,
  now: () => number,
): Maintenance {
  return new Maintenance({
    store,
    logger,
    now,
    retentionSeconds: config.history.retentionSeconds,
    maxSizeBytes: config.history.maxSizeBytes,
    defaultTtlSeconds: config.group.ttlSeconds,
    onExpired: (n) => (metrics.expiredGroups += n),
    onPruned: (pruned) => metrics.countPruned(pruned),
  });
}

/** The body deadlines and the two workers, closed together. */
async function startWorkers(config: Config, options: StartOptions) {
  const readDeadlines = new ReadDeadlines(config.web.readTimeoutMs);
  const pushWorker = new PushWorker({
    maxBodyBytes: config.storage.maxBodyBytes,
  });
  // Started by the first bcrypt check, not here.
  const passwordWorker = new PasswordWorker();
  if (Number.isFinite(options.pushWorkerMinBytes ?? Infinity)) {
    if (!await pushWorker.whenReady()) {
      throw new Error("the push worker did not start");
    }
  }
  return {
    readDeadlines,
    pushWorker,
    passwordWorker,
    close: () => {
      readDeadlines.close();
      pushWorker.close();
      passwordWorker.close();
    },
  };
}

/** What the routes need, from the flags and the parts already built. */
function handlerDeps(
  config: Config,
  options: StartOptions,
  parts: Pick<
    HandlerDeps,
    | "store"
    | "metrics"
    | "logger"
    | "now"
    | "readDeadlines"
    | "pushWorker"
    | "requestShutdown"
    | "isReady"
  >,
): HandlerDeps {
  return {
    ...parts,
    routePrefix: config.web.routePrefix,
    telemetryPath: config.web.telemetryPath,
    checkConsistency: config.push.checkConsistency,
    utf8Names: config.push.utf8Names,
    maxBodyBytes: config.storage.maxBodyBytes,
    limits: {
      maxSeriesPerPush: config.push.maxSeriesPerPush,
      maxLabelNameLength: config.push.maxLabelNameLength,
      maxLabelValueLength: config.push.maxLabelValueLength,
      maxSeries: config.storage.maxSeries,
      readTimeoutMs: config.web.readTimeoutMs,
    },
    ...(options.pushWorkerMinBytes === undefined
      ? {}
      : { pushWorkerMinBytes: options.pushWorkerMinBytes }),
    enableLifecycle: config.web.enableLifecycle,
    enableAdminApi: config.web.enableAdminApi,
    flagValues: options.flagValues ?? {},
    startTime: parts.now() / 1000,
  };
}

/** Deno.serve's answer when the handler throws: logged, 500. */
function internalError(logger: Logger): (error: unknown) => Response {
  return (error) => {
    logger.error("request failed", { err: errorStack(error) });
    return new Response("Internal Server Error\n", {
      status: 500,
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    });
  };
}
