/**
 * The route table: every path Pushvault answers under the route prefix, as
 * docs/compatibility.md lists them, one row each with its methods, the
 * scope a user needs and the request counter's `handler` label. routes.ts
 * routes by it; requiredScope() authorizes by it.
 * @module
 */

import { readLitestreamSync } from "../store/litestream.ts";
import { handleBulkDelete, handleHistory, wipeInScope } from "./admin.ts";
import { jsonResponse, metricsResponse, statusBody } from "./api.ts";
import {
  empty,
  errorResponse,
  methodNotAllowed,
  notFound,
  outOfScope,
  textError,
} from "./errors.ts";
import { handlePush, type PushDeps } from "./push.ts";
import { handleScrape } from "./scrape.ts";
import { decompressBody } from "../exposition/decompress.ts";
import { readBodyLimited } from "./request_body.ts";
import { handleAsset, handlePage } from "./ui_lazy.ts";
import type { Scope } from "./web_config_users.ts";
import type { GroupScope } from "../push/group_scope.ts";
import { errorMessage } from "../error_message.ts";
import { redirect } from "./paths.ts";

/** What the handler needs: the store, the metrics, and the flags it obeys. */
export interface HandlerDeps extends PushDeps {
  readonly routePrefix: string;
  readonly telemetryPath: string;
  readonly enableLifecycle: boolean;
  readonly enableAdminApi: boolean;
  /** Called by `/-/quit` with the lifecycle API enabled. */
  readonly requestShutdown: () => void;
  /** False until the database is open and the view loaded. */
  readonly isReady: () => boolean;
  /** Every flag's value, for /api/v1/status. */
  readonly flagValues: Readonly<Record<string, string>>;
  /** Unix seconds. */
  readonly startTime: number;
}

/** What a route's handler is given. */
export interface RouteRequest {
  readonly request: Request;
  readonly method: string;
  /** The decoded path with the route prefix removed. */
  readonly rel: string;
  readonly prefix: string;
  readonly url: () => URL;
  readonly remoteAddr: string | null;
  /** The groups the user's scope reaches; undefined: every group. */
  readonly scope: GroupScope | undefined;
  readonly deps: HandlerDeps;
}

/** The paths a route pattern depends on. */
export interface RoutePaths {
  readonly telemetryPath: string;
}

/** One row of the table. */
export interface Route {
  /** Matches the decoded path under the prefix. */
  readonly path: (rel: string, paths: RoutePaths) => boolean;
  /**
   * The methods answered (`Allow` lists them, sorted); `"any"`: every
   * method reaches the handler (the redirects).
   */
  readonly methods: readonly string[] | "any";
  /**
   * How OPTIONS is answered when `methods` lists it: `allow` (200 with
   * `Allow`), `api` (200 with the JSON API's CORS headers, counted as
   * `api/v1/options`); absent: 405 like any other method not served.
   */
  readonly options?: "allow" | "api";
  /** The scope needed under `basic_auth_scopes`; null: every user. */
  readonly scope: Scope | null;
  /** The request counter's `handler` label; absent: not counted here. */
  readonly handler?: string;
  /**
   * Counted with this status before the handler runs, whatever it answers
   * (the JSON API's reads); otherwise with the status of the response.
   */
  readonly countAs?: number;
  /**
   * True: an expected failure the handler throws is answered as Go's
   * `http.Error` (its kind gives the status), and not counted.
   */
  readonly answersFailures?: boolean;
  /** False: the route answers 404 (a disabled API). */
  readonly enabled?: (deps: HandlerDeps) => boolean;
  /** The answer to a method not served, if not a 405 with `Allow`. */
  readonly refuse?: (r: RouteRequest) => Response;
  readonly handle: (r: RouteRequest) => Response | Promise<Response>;
}

const exact = (p: string) => (rel: string) => rel === p;
const under = (...ps: string[]) => (rel: string) =>
  ps.some((p) => rel.startsWith(p));
/** Where aggregating pushes go (README "Aggregating groups"). */
const AGGREGATE = "/aggregate";
const PUSH_DIRS = ["/metrics/job/", "/metrics/job@base64/"];
const isPushPath = under(...PUSH_DIRS, ...PUSH_DIRS.map((d) => AGGREGATE + d));
const isPushDir = (rel: string) =>
  PUSH_DIRS.some((d) => rel === d || rel === AGGREGATE + d);
const isPage = (rel: string) =>
  rel === "/" || rel === "/status" || rel === "/group";
const isAsset = (rel: string) =>
  rel.startsWith("/static/") || rel === "/favicon.ico";
const adminApi = (deps: HandlerDeps) => deps.enableAdminApi;

export const QUIT_REFUSED = "Only POST or PUT requests allowed.";
const TEXT = { "Content-Type": "text/plain; charset=utf-8" };

function health(r: RouteRequest): Response {
  const ready = r.rel === "/-/healthy" || r.deps.isReady();
  return ready
    ? new Response("OK", { headers: TEXT })
    : new Response("Service Unavailable", { status: 503, headers: TEXT });
}

/** `/api/v1/status`, with Litestream's state when it replicates. */
function apiStatus(deps: HandlerDeps): Response | Promise<Response> {
  const info = { flags: deps.flagValues, startTime: deps.startTime };
  if (!deps.store.litestream) return jsonResponse(statusBody(info));
  // Off the push path: a few reads in Litestream's directory, on request.
  return readLitestreamSync(deps.store.path).then((replication) =>
    jsonResponse(statusBody({ ...info, replication }))
  );
}

/** The API's other paths: OPTIONS answers (CORS), every other method 404. */
const API_OTHER = {
  methods: ["OPTIONS"],
  options: "api",
  refuse: () => notFound(),
  handle: () => notFound(),
} as const;

/** The embedded assets, also answered outside the route prefix (the icon). */
export const STATIC_ROUTE: Route = {
  path: isAsset,
  methods: ["GET", "OPTIONS"],
  options: "allow",
  scope: "read",
  handler: "static",
  handle: ({ request, rel }) => handleAsset(request, rel),
};

/**
 * Every route, first match wins, in the order the Pushgateway's router
 * resolves them.
 */
export const ROUTES: readonly Route[] = [
  {
    // The router redirects to the slash-less path, which no GET route has.
    path: isPushDir,
    methods: "any",
    scope: "push",
    handle: ({ method, prefix, rel }) =>
      method === "GET"
        ? notFound()
        : redirect(307, prefix + rel.slice(0, -1), method),
  },
  {
    // Counted by handlePush, as `push` or `delete` by method.
    path: isPushPath,
    methods: ["DELETE", "OPTIONS", "POST", "PUT"],
    options: "allow",
    scope: "push",
    handle: ({ request, rel, remoteAddr, scope, deps }) =>
      handlePush({
        request,
        keyPath: rel.slice(rel.indexOf("/metrics/") + "/metrics/".length),
        aggregate: rel.startsWith(`${AGGREGATE}/`),
        remoteAddr,
        scope,
      }, deps),
  },
  {
    // OPTIONS is listed in `Allow` but refused, as the Pushgateway does.
    path: (rel, paths) => rel === paths.telemetryPath,
    methods: ["GET", "OPTIONS"],
    scope: "scrape",
    handle: async ({ request, scope, deps }) =>
      (await refuseEncodedBody(request, deps)) ??
        handleScrape(request, deps, scope),
  },
  {
    path: (rel, paths) => rel === `${paths.telemetryPath}/`,
    methods: "any",
    scope: "scrape",
    handle: ({ method, prefix, deps }) =>
      redirect(
        method === "GET" ? 301 : 307,
        prefix + deps.telemetryPath,
        method,
      ),
  },
  {
    path: isPage,
    methods: ["GET", "OPTIONS"],
    options: "allow",
    scope: "read",
    handler: "status",
    handle: ({ request, rel, scope, deps }) =>
      handlePage(request, rel, deps, scope),
  },
  STATIC_ROUTE,
  {
    path: exact("/api/v1/history"),
    methods: ["GET", "OPTIONS"],
    options: "api",
    scope: "read",
    handler: "api/v1/history",
    countAs: 200,
    handle: ({ request, scope, deps }) => handleHistory(request, deps, scope),
  },
  {
    path: exact("/api/v1/admin/delete"),
    methods: ["OPTIONS", "POST"],
    options: "allow",
    scope: "admin",
    handler: "api/v1/admin/delete",
    enabled: adminApi,
    answersFailures: true,
    handle: ({ request, remoteAddr, scope, deps }) =>
      handleBulkDelete(request, deps, remoteAddr, scope),
  },
  {
    path: exact("/api/v1/admin/wipe"),
    methods: ["OPTIONS", "PUT"],
    options: "allow",
    scope: "admin",
    handler: "wipe",
    enabled: adminApi,
    answersFailures: true,
    handle: ({ request, url, remoteAddr, scope, deps }) => {
      const info = {
        path: url().pathname,
        contentType: null,
        bodyBytes: 0,
        remoteAddr,
        userAgent: request.headers.get("user-agent"),
      };
      if (scope !== undefined) {
        // An admin scope limited by selectors wipes only its groups.
        const count = wipeInScope(deps.store, scope, deps.now() / 1000, info);
        deps.logger.info("wiped the groups in scope", { groups: count });
        return empty(202);
      }
      const count = deps.store.wipe(deps.now() / 1000, info);
      deps.logger.info("wiped all groups", { groups: count });
      return empty(202);
    },
  },
  {
    path: exact("/api/v1/status"),
    methods: ["GET", "OPTIONS"],
    options: "api",
    scope: "read",
    handler: "api/v1/status",
    countAs: 200,
    handle: ({ deps }) => apiStatus(deps),
  },
  {
    path: exact("/api/v1/metrics"),
    methods: ["GET", "OPTIONS"],
    options: "api",
    scope: "read",
    handler: "api/v1/metrics",
    countAs: 200,
    handle: ({ scope, deps }) => metricsResponse(deps.store, scope),
  },
  { ...API_OTHER, path: under("/api/v1/admin/"), scope: "admin" },
  { ...API_OTHER, path: under("/api/v1/"), scope: "read" },
  {
    path: exact("/-/healthy"),
    methods: ["GET", "OPTIONS"],
    options: "allow",
    scope: null,
    handler: "healthy",
    handle: health,
  },
  {
    path: exact("/-/ready"),
    methods: ["GET", "OPTIONS"],
    options: "allow",
    scope: null,
    handler: "ready",
    handle: health,
  },
  {
    path: exact("/-/quit"),
    methods: ["POST", "PUT"],
    scope: "admin",
    refuse: ({ prefix }) =>
      prefix === ""
        ? textError(405, QUIT_REFUSED)
        : methodNotAllowed("POST, PUT"),
    handle: ({ scope, deps }) => {
      if (!deps.enableLifecycle) {
        return textError(403, "Lifecycle API is not enabled.");
      }
      if (scope !== undefined) {
        return outOfScope(
          scope,
          "stopping the server needs the admin scope without a selector",
        );
      }
      deps.requestShutdown();
      return new Response("Requesting termination... Goodbye!", {
        headers: TEXT,
      });
    },
  },
];

/**
 * The Pushgateway decodes `Content-Encoding` on every request of its main
 * router, scrapes included (docs/compatibility.md): a GET that claims a gzip
 * body it does not have gets 400 `EOF`. Reproduced so that nothing differs.
 */
async function refuseEncodedBody(
  request: Request,
  deps: HandlerDeps,
): Promise<Response | undefined> {
  const encoding = request.headers.get("content-encoding");
  if (encoding === null || !/^(gzip|snappy)$/i.test(encoding.trim())) {
    return undefined;
  }
  try {
    // Bounded like a push body (docs/security.md, "Limits").
    const raw = await readBodyLimited(
      request.body,
      deps.maxBodyBytes,
      deps.readDeadlines,
    );
    await decompressBody(raw, encoding, { maxBytes: 1024 * 1024 });
    return undefined;
  } catch (error) {
    return errorResponse(error, "text") ??
      textError(400, errorMessage(error));
  }
}
