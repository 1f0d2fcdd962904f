/**
 * start(config) → a running Pushvault: opens the store, builds the handler,
 * listens on every address. `main.ts` and the tests start the same way
 * (style §1). The returned instance is AsyncDisposable: disposing it stops
 * accepting, finishes requests in flight (for at most
 * {@link SHUTDOWN_GRACE_MS}), checkpoints the WAL and closes the database.
 *
 * With `--web.config.file` the handler is wrapped by the web configuration
 * (auth.ts) and TLS listeners are `node:https` ones (tls_server.ts); so are
 * plain ones when --web.max-header-bytes asks for other than Deno.serve's
 * fixed 64 KiB. The
 * file is checked for changes every second (web_config.ts).
 * @module
 */

import type { Config } from "./cli/flags.ts";
import { parseListenAddress } from "./cli/flags.ts";
import { guardHandler } from "./http/auth.ts";
import { ReadDeadlines, SeriesBound } from "./http/limits.ts";
import type { Handler } from "./http/routes.ts";
import { createHandler, requiredScope } from "./http/routes.ts";
import { OWN_FAMILIES, SelfMetrics } from "./http/self_metrics.ts";
import type { RefusedRequest } from "./http/tls_server.ts";
import {
  DENO_SERVE_MAX_HEAD_BYTES,
  NODE_MAX_HEAD_BYTES,
  NodeListener,
} from "./http/tls_server.ts";
import type { TlsSettings, WebConfig } from "./http/web_config.ts";
import {
  loadWebConfig,
  OPEN_WEB_CONFIG,
  WebConfigWatcher,
} from "./http/web_config.ts";
import type { Logger } from "./log.ts";
import { SILENT } from "./log.ts";
import { Maintenance } from "./maintenance.ts";
import { Store } from "./store/store.ts";
import { PushWorker } from "./http/push_worker.ts";
import { PasswordWorker } from "./http/password_worker.ts";
import { errorMessage, errorStack } from "./error_message.ts";

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

/** How often a database that cannot be written is tried again (README "Disk full"). */
const WRITE_RETRY_MS = 5000;

/** How long a stop waits for requests in flight before closing connections. */
export const SHUTDOWN_GRACE_MS = 30_000;

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

/** A listening server, plain (Deno.serve) or TLS (node:https). */
interface Listener {
  readonly addr: Deno.NetAddr;
  shutdown(): Promise<void>;
  abort(): void;
}

export async function start(
  config: Config,
  options: StartOptions = {},
): Promise<Gateway> {
  const logger = options.logger ?? SILENT;
  // Sub-millisecond wall time: push_time_seconds carries more than ms upstream.
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  // Before the database: a bad web configuration changes nothing.
  const webConfigFile = config.web.configFile;
  const initialWebConfig = webConfigFile === ""
    ? OPEN_WEB_CONFIG
    : loadWebConfig(webConfigFile);
  for (const warning of initialWebConfig.warnings) {
    logger.warn(warning, { file: webConfigFile });
  }
  // Set once maintenance exists; a write may run out of room before.
  let pruneNow = () => {};
  const store = new Store({
    path: config.persistence.file,
    sync: config.storage.sync,
    ownFamilies: OWN_FAMILIES,
    integrityCheck: config.storage.integrityCheck,
    keepHistory: config.history.retentionSeconds > 0,
    onMigrationProgress: (message) =>
      logger.info("migrating the database", {
        file: config.persistence.file,
        progress: message,
      }),
    // A write failed for lack of room: prune now, not at the next run.
    onOutOfRoom: () => pruneNow(),
    ...(options.maxPageCount === undefined
      ? {}
      : { maxPageCount: options.maxPageCount }),
  });
  // Not store.view: that would read every family into the view now, which
  // start-up leaves until after the server is ready (Store.#assemble).
  logger.info("database open", {
    file: store.path,
    groups: store.loadedGroups,
    sync: config.storage.sync,
  });
  if (!store.writable) {
    logger.warn(
      "database cannot be written; serving scrapes and the UI from it, pushes answer 503 until there is room",
      { file: store.path, err: store.readOnlyReason },
    );
  }
  if (config.web.systemdSocket) {
    store.close();
    throw new Error(
      "--web.systemd-socket is not supported: Deno cannot adopt an inherited listening socket; use --web.listen-address",
    );
  }
  const metrics = new SelfMetrics(now);
  metrics.storage = () => store.storageStats;
  const maintenance = new Maintenance({
    store,
    logger,
    now,
    retentionSeconds: config.history.retentionSeconds,
    maxSizeBytes: config.history.maxSizeBytes,
    defaultTtlSeconds: config.group.ttlSeconds,
    onExpired: (n) => (metrics.expiredGroups += n),
    onPruned: (pruned) => metrics.countPruned(pruned),
  });
  pruneNow = () => void maintenance.runOnce();
  metrics.disk = () => ({
    ...store.diskUsage(),
    maxSizeBytes: config.history.maxSizeBytes,
  });
  let stopping: Promise<void> | undefined;
  const abort = new AbortController();
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
  const app = createHandler({
    store,
    metrics,
    logger,
    now,
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
    seriesBound: new SeriesBound(),
    readDeadlines,
    pushWorker,
    ...(options.pushWorkerMinBytes === undefined
      ? {}
      : { pushWorkerMinBytes: options.pushWorkerMinBytes }),
    enableLifecycle: config.web.enableLifecycle,
    enableAdminApi: config.web.enableAdminApi,
    requestShutdown: () => void shutdown(),
    isReady: () => stopping === undefined,
    flagValues: options.flagValues ?? {},
    startTime: now() / 1000,
  });

  const tlsListeners: NodeListener[] = [];
  const watcher = webConfigFile === "" ? undefined : new WebConfigWatcher({
    file: webConfigFile,
    initial: initialWebConfig,
    onReload: (next: WebConfig) => {
      for (const listener of tlsListeners) {
        if (next.tls) listener.update(next.tls);
      }
      for (const warning of next.warnings) {
        logger.warn(warning, { file: webConfigFile });
      }
      metrics.webConfigReloadOk = true;
      metrics.countLabeled("pushvault_web_config_reloads_total", "success");
      logger.info("web configuration reloaded", {
        file: webConfigFile,
        users: next.users.size,
        tls: next.tls !== undefined,
      });
    },
    onError: (error) => {
      metrics.webConfigReloadOk = false;
      metrics.countLabeled("pushvault_web_config_reloads_total", "failure");
      logger.error(
        "web configuration not reloaded, the previous one stays in force",
        { err: error.message },
      );
    },
  });
  if (watcher) metrics.webConfigReloadOk = true;
  const inFlight = new InFlight();
  const handler: Handler = inFlight.wrap(
    watcher
      ? guardHandler(app, {
        config: () => watcher.current,
        scopeOf: (request) => requiredScope(request, config.web),
        onRefused: (reason) =>
          metrics.countLabeled("pushvault_http_refused_total", reason),
        passwords: passwordWorker,
      })
      : app,
  );
  const onError = (error: unknown): Response => {
    logger.error("request failed", {
      err: errorStack(error),
    });
    return new Response("Internal Server Error\n", {
      status: 500,
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    });
  };

  const servers: Listener[] = [];
  try {
    for (const address of config.web.listenAddresses) {
      const tls = initialWebConfig.tls;
      const maxHeaderBytes = config.web.maxHeaderBytes;
      // Deno.serve refuses any head over its fixed 64 KiB (README "Limits").
      const onDenoServe = maxHeaderBytes === undefined ||
        maxHeaderBytes === DENO_SERVE_MAX_HEAD_BYTES;
      if (tls || !onDenoServe) {
        const listener = await listenNode(address, {
          tls,
          handler,
          logger,
          idleTimeoutMs: config.web.readTimeoutMs,
          maxHeaderBytes: maxHeaderBytes ?? NODE_MAX_HEAD_BYTES,
          onRefused: (refused) =>
            countRefused(refused, config.web.routePrefix, metrics),
        });
        if (tls) tlsListeners.push(listener);
        servers.push(listener);
      } else {
        servers.push(
          await listen(address, handler, { signal: abort.signal, onError }),
        );
      }
    }
  } catch (error) {
    abort.abort();
    for (const server of servers) server.abort();
    await Promise.allSettled(servers.map((s) => s.shutdown()));
    store.close();
    throw error;
  }
  if (options.webConfigPollMs !== 0) {
    watcher?.start(options.webConfigPollMs ?? 1000);
  }
  const listening = performance.now();
  const assembled = Promise.withResolvers<void>();
  store.startBackgroundIndexing((view) => {
    const ms = Math.round(performance.now() - listening);
    if ("error" in view) {
      logger.error("reading the stored families failed", { ...view, ms });
    } else {
      logger.info("view assembled", { ...view, ms });
    }
    assembled.resolve();
  });
  store.startWriteRetries(
    WRITE_RETRY_MS,
    () =>
      logger.info("database can be written again; pushes are accepted", {
        file: store.path,
      }),
  );
  store.watchLitestream(() =>
    logger.info(
      "Litestream replicates this database; WAL checkpoints stay PASSIVE and Litestream restarts the WAL",
      { file: store.path },
    )
  );
  // After the listeners: starting the worker takes a few tens of ms.
  store.startBackgroundCheckpoints((message, event) => {
    const { type: _, ...fields } = event;
    // Litestream holds a read transaction between its own checkpoints.
    const quiet = event.type === "resumed" || event.type === "released" ||
      (event.type === "held" && store.litestream);
    logger[quiet ? "info" : "warn"](message, { file: store.path, ...fields });
  });
  const addresses = servers.map((s) => s.addr);
  for (const addr of addresses) {
    logger.info("listening", { address: formatAddr(addr) });
  }

  let resolveFinished: () => void = () => {};
  const finished = new Promise<void>((resolve) => (resolveFinished = resolve));
  function shutdown(): Promise<void> {
    stopping ??= (async () => {
      logger.info("shutting down");
      watcher?.stop();
      // Let requests in flight finish, then stop the servers; past the
      // grace period close what is left (the pushes it cuts were not
      // answered). Requests are drained *before* Deno.serve's shutdown():
      // on Deno 2.9 it makes the bodies of requests in flight unreadable
      // (denoland/deno#36809), which would fail a push half-uploaded.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), SHUTDOWN_GRACE_MS);
      });
      const drained = inFlight.drain().then(() =>
        Promise.allSettled(servers.map((s) => s.shutdown()))
      );
      if (await Promise.race([drained, grace]) === "late") {
        logger.warn(
          "requests still in flight after the grace period; closing them",
          {
            graceSeconds: SHUTDOWN_GRACE_MS / 1000,
          },
        );
        abort.abort();
        for (const server of servers) server.abort();
        await drained;
      }
      clearTimeout(timer);
      await maintenance.stop();
      readDeadlines.close();
      pushWorker.close();
      passwordWorker.close();
      await store.settleForLitestream();
      store.close();
      logger.info("database closed");
      resolveFinished();
    })();
    return stopping;
  }
  if (options.maintenanceIntervalMs !== 0) {
    // Once the view is assembled: expiry reads every group's state, which
    // would assemble it at once, before the first request (issue 7).
    void assembled.promise.then(() =>
      maintenance.start(
        options.maintenanceIntervalMs ?? maintenanceInterval(config),
      )
    );
  }
  const first = addresses[0] as Deno.NetAddr;
  return {
    url: `${initialWebConfig.tls ? "https" : "http"}://${formatAddr(first)}`,
    reloadWebConfig: () => watcher?.reload() ?? false,
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
  options: {
    readonly signal: AbortSignal;
    readonly onError: (error: unknown) => Response;
  },
): Promise<Listener> {
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
    } catch (error) {
      lastError = error;
    }
  }
  throw listenError(address, lastError);
}

/** Why no host of `address` could be listened on (the last attempt's error). */
function listenError(address: string, lastError: unknown): Error {
  return new Error(
    `cannot listen on ${JSON.stringify(address)} (--web.listen-address): ${
      errorMessage(lastError)
    }`,
    { cause: lastError },
  );
}

async function listenNode(
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
  const { hostname, port } = parseListenAddress(address);
  const hosts = hostname === "" ? ["::", "0.0.0.0"] : [hostname];
  let lastError: unknown;
  for (const host of hosts) {
    try {
      return await NodeListener.listen({ hostname: host, port, ...options });
    } catch (error) {
      lastError = error;
    }
  }
  throw listenError(address, lastError);
}

/**
 * Counts a request the HTTP parser refused (a URL over the limit): as a
 * failed push when its URL is visibly a push's, as the Pushgateway counts
 * failed pushes (spec §5.3); under handler "unknown" when the request line
 * is no longer at hand (node keeps only the last read of a long head).
 * Malformed requests (400) are router-level errors, not counted upstream.
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

/**
 * Counts requests in flight so that a stop can wait for them; once
 * draining, new requests are answered 503 with `Connection: close` (the
 * listener is still open until they are done, see shutdown()).
 */
class InFlight {
  #count = 0;
  #draining = false;
  #idle: (() => void) | undefined;

  wrap(handler: Handler): Handler {
    return async (request, info) => {
      if (this.#draining) {
        await request.body?.cancel().catch(() => {});
        return new Response("Service Unavailable: Pushvault is stopping\n", {
          status: 503,
          headers: {
            "Content-Type": "text/plain; charset=utf-8",
            Connection: "close",
          },
        });
      }
      this.#count++;
      try {
        return await handler(request, info);
      } finally {
        if (--this.#count === 0) this.#idle?.();
      }
    };
  }

  /** Refuses new requests and resolves when none is in flight. */
  drain(): Promise<void> {
    this.#draining = true;
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#idle = resolve));
  }
}
