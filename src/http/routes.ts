/**
 * The route table: every path Pushvault answers under the route prefix, as
 * docs/compatibility.md lists them. {@link ROUTES} is the one list from
 * which routing, the 405 with `Allow`, the scope a user needs and the
 * request counter's `handler` label are all read. `createHandler(deps)`
 * returns the app as one function `(request, info) => Promise<Response>`.
 *
 * Paths are percent-decoded before routing, as Go's server does, so `%2F`
 * separates grouping labels; `//` is answered with 301 to the cleaned path,
 * for every method.
 * @module
 */

import { readLitestreamSync } from "../store/litestream.ts";
import { handleBulkDelete, handleHistory } from "./admin.ts";
import {
  API_HEADERS,
  jsonResponse,
  metricsResponse,
  statusBody,
} from "./api.ts";
import {
  empty,
  errorResponse,
  methodNotAllowed,
  notFound,
  textError,
} from "./errors.ts";
import { handlePush, type PushDeps } from "./push.ts";
import { handleScrape } from "./scrape.ts";
import { decompressBody, readBodyLimited } from "../exposition/decompress.ts";
import { handleAsset, handlePage } from "./ui.ts";
import type { Scope } from "./web_config.ts";
import { errorMessage } from "../error_message.ts";
import { cleanPath, escapePath, rawPathOf, redirect } from "./paths.ts";

export { cleanPath, escapePath, rawPathOf } from "./paths.ts";

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

export type Handler = (
  request: Request,
  info?: { remoteAddr?: { hostname?: string } },
) => Promise<Response>;

/** What a route's handler is given. */
interface RouteRequest {
  readonly request: Request;
  readonly method: string;
  /** The decoded path with the route prefix removed. */
  readonly rel: string;
  readonly prefix: string;
  readonly url: () => URL;
  readonly remoteAddr: string | null;
  readonly deps: HandlerDeps;
}

/** The paths a route pattern depends on. */
interface RoutePaths {
  readonly telemetryPath: string;
}

/** One row of the table. */
interface Route {
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
const isPushPath = under("/metrics/job/", "/metrics/job@base64/");
const isPushDir = (rel: string) =>
  rel === "/metrics/job/" || rel === "/metrics/job@base64/";
const isPage = (rel: string) =>
  rel === "/" || rel === "/status" || rel === "/group";
const isAsset = (rel: string) =>
  rel.startsWith("/static/") || rel === "/favicon.ico";
const adminApi = (deps: HandlerDeps) => deps.enableAdminApi;

const QUIT_REFUSED = "Only POST or PUT requests allowed.";
const TEXT = { "Content-Type": "text/plain; charset=utf-8" };

/** The answer to an expected failure; anything else is a bug, rethrown. */
function failure(error: unknown): Response {
  const response = errorResponse(error, "text");
  if (!response) throw error;
  return response;
}

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
const STATIC_ROUTE: Route = {
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
    handle: ({ request, rel, remoteAddr, deps }) =>
      handlePush({
        request,
        keyPath: rel.slice("/metrics/".length),
        remoteAddr,
      }, deps),
  },
  {
    // OPTIONS is listed in `Allow` but refused, as the Pushgateway does.
    path: (rel, paths) => rel === paths.telemetryPath,
    methods: ["GET", "OPTIONS"],
    scope: "scrape",
    handle: async ({ request, deps }) =>
      (await refuseEncodedBody(request, deps)) ??
        handleScrape(request, deps),
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
    handle: ({ request, rel, deps }) => handlePage(request, rel, deps),
  },
  STATIC_ROUTE,
  {
    path: exact("/api/v1/history"),
    methods: ["GET", "OPTIONS"],
    options: "api",
    scope: "read",
    handler: "api/v1/history",
    countAs: 200,
    handle: ({ request, deps }) => handleHistory(request, deps),
  },
  {
    path: exact("/api/v1/admin/delete"),
    methods: ["OPTIONS", "POST"],
    options: "allow",
    scope: "admin",
    handler: "api/v1/admin/delete",
    enabled: adminApi,
    answersFailures: true,
    handle: ({ request, remoteAddr, deps }) =>
      handleBulkDelete(request, deps, remoteAddr),
  },
  {
    path: exact("/api/v1/admin/wipe"),
    methods: ["OPTIONS", "PUT"],
    options: "allow",
    scope: "admin",
    handler: "wipe",
    enabled: adminApi,
    answersFailures: true,
    handle: ({ request, url, remoteAddr, deps }) => {
      const count = deps.store.wipe(deps.now() / 1000, {
        path: url().pathname,
        contentType: null,
        bodyBytes: 0,
        remoteAddr,
        userAgent: request.headers.get("user-agent"),
      });
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
    handle: ({ deps }) => metricsResponse(deps.store),
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
    handle: ({ deps }) => {
      if (!deps.enableLifecycle) {
        return textError(403, "Lifecycle API is not enabled.");
      }
      deps.requestShutdown();
      return new Response("Requesting termination... Goodbye!", {
        headers: TEXT,
      });
    },
  },
];

function findRoute(rel: string, paths: RoutePaths): Route | undefined {
  return ROUTES.find((route) => route.path(rel, paths));
}

/** Answers a request its route matched: methods, then counting, then the handler. */
async function serve(route: Route, r: RouteRequest): Promise<Response> {
  const { method, deps } = r;
  if (route.enabled && !route.enabled(deps)) return notFound();
  if (route.methods !== "any") {
    if (method === "OPTIONS" && route.options === "api") {
      deps.metrics.countRequest("api/v1/options", method, 200);
      return new Response(null, { headers: API_HEADERS });
    }
    const allow = route.methods.join(", ");
    if (method === "OPTIONS" && route.options === "allow") {
      return new Response(null, { status: 200, headers: { Allow: allow } });
    }
    if (method === "OPTIONS" || !route.methods.includes(method)) {
      return route.refuse?.(r) ?? methodNotAllowed(allow);
    }
  }
  if (route.handler === undefined) return await route.handle(r);
  if (route.countAs !== undefined) {
    deps.metrics.countRequest(route.handler, method, route.countAs);
    return await route.handle(r);
  }
  let response: Response;
  try {
    response = await route.handle(r);
  } catch (error) {
    if (route.answersFailures) return failure(error);
    throw error;
  }
  deps.metrics.countRequest(route.handler, method, response.status);
  return response;
}

export function createHandler(deps: HandlerDeps): Handler {
  return async (request, info) => {
    // Parsed only where needed: most requests (pushes, scrapes) use the raw
    // path alone, and parsing costs every request.
    let parsed: URL | undefined;
    const url = () => (parsed ??= new URL(request.url));
    // The raw path: `new URL` would already have resolved `.` and `..`,
    // which Go's server answers with a redirect.
    const rawPath = rawPathOf(request.url);
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return textError(
        400,
        `invalid URL path ${
          JSON.stringify(rawPath)
        }: bad percent-encoding or invalid UTF-8`,
      );
    }
    const method = request.method;
    const cleaned = cleanPath(path);
    if (cleaned !== path) {
      return redirect(301, escapePath(cleaned) + url().search, method);
    }
    const prefix = deps.routePrefix;
    if (prefix !== "" && path === prefix) {
      return redirect(301, `${prefix}/${url().search}`, method);
    }
    if (path === "/-/quit" && prefix !== "" && method === "GET") {
      return textError(405, QUIT_REFUSED);
    }
    const remoteAddr = info?.remoteAddr?.hostname ?? null;
    const at = (rel: string): RouteRequest => ({
      request,
      method,
      rel,
      prefix,
      url,
      remoteAddr,
      deps,
    });
    if (prefix !== "" && !path.startsWith(`${prefix}/`)) {
      // A browser asks the origin's root for the icon of a page that names
      // none (the scrape output), whatever the route prefix.
      if (path === "/favicon.ico") return await serve(STATIC_ROUTE, at(path));
      return notFound();
    }
    const rel = path.slice(prefix.length);
    const route = findRoute(rel, deps);
    return route ? await serve(route, at(rel)) : notFound();
  };
}

/**
 * The scope a request needs when `basic_auth_scopes` is configured (README
 * "Security"), read from the route table; undefined for the routes open to
 * every authenticated user (the health endpoints), `read` for paths no
 * route has. Decodes the path as the router does, so a path cannot be
 * classified as one route and served as another.
 */
export function requiredScope(
  request: Request,
  routes: { readonly routePrefix: string; readonly telemetryPath: string },
): Scope | undefined {
  let path: string;
  try {
    path = decodeURIComponent(new URL(request.url).pathname);
  } catch {
    return "read"; // answered 400 by the router
  }
  path = path.replace(/\/{2,}/g, "/");
  const prefix = routes.routePrefix;
  const rel = prefix !== "" && path.startsWith(`${prefix}/`)
    ? path.slice(prefix.length)
    : path;
  const route = findRoute(rel, routes);
  if (route === undefined) return "read";
  return route.scope ?? undefined;
}

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
    // Bounded like a push body (README "Limits").
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
