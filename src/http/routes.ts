/**
 * The route table: every path Pushvault answers, under the route prefix
 * (spec §1.1, §1.4, §6, §7). `createHandler(deps)` returns the app as one
 * function `(request, info) => Promise<Response>` (style §1).
 *
 * Paths are percent-decoded before routing, as Go's server does, so `%2F`
 * separates grouping labels (spec §1.4); `//` is answered with 301 to the
 * cleaned path, for every method.
 * @module
 */

import { readLitestreamSync } from "../store/litestream.ts";
import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";
import { handleBulkDelete, handleHistory } from "./admin.ts";
import {
  API_HEADERS,
  jsonResponse,
  metricsResponse,
  statusBody,
} from "./api.ts";
import {
  empty,
  methodNotAllowed,
  notFound,
  statusOf,
  textError,
} from "./errors.ts";
import { handlePush } from "./push.ts";
import { handleScrape } from "./scrape.ts";
import { decompressBody, readBodyLimited } from "../exposition/decompress.ts";
import { handleUi } from "./ui.ts";
import type { SelfMetrics } from "./self_metrics.ts";
import { LimitError, type SeriesBound } from "./limits.ts";
import type { ReadDeadline } from "./read_deadline.ts";
import type { PushLimits } from "./limits.ts";
import type { Scope } from "./web_config.ts";
import type { PushWorker } from "./push_worker.ts";
import { errorMessage } from "../error_message.ts";

export interface HandlerDeps {
  readonly store: Store;
  readonly metrics: SelfMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  readonly routePrefix: string;
  readonly telemetryPath: string;
  readonly checkConsistency: boolean;
  readonly utf8Names: boolean;
  readonly maxBodyBytes: number;
  readonly limits: PushLimits;
  readonly seriesBound: SeriesBound;
  /** `--web.read-timeout` of request bodies, shared (limits.ts). */
  readonly readDeadlines: ReadDeadline;
  readonly pushWorker?: PushWorker | undefined;
  readonly pushWorkerMinBytes?: number;
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

const PUSH_METHODS = "DELETE, OPTIONS, POST, PUT";

export function createHandler(deps: HandlerDeps): Handler {
  return async (request, info) => {
    // Parsed only where needed: most requests (pushes, scrapes) use the raw
    // path alone, and parsing costs every request.
    let parsed: URL | undefined;
    const url = () => (parsed ??= new URL(request.url));
    // The raw path: `new URL` would already have resolved `.` and `..`,
    // which Go's server answers with a redirect (spec §1.4).
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
    const cleaned = cleanPath(path);
    if (cleaned !== path) {
      return redirect(301, escapePath(cleaned) + url().search, request.method);
    }
    const prefix = deps.routePrefix;
    if (prefix !== "" && path === prefix) {
      return redirect(301, `${prefix}/${url().search}`, request.method);
    }
    if (path === "/-/quit" && prefix !== "" && request.method === "GET") {
      return textError(405, "Only POST or PUT requests allowed.");
    }
    if (prefix !== "" && !path.startsWith(`${prefix}/`)) {
      // A browser asks the origin's root for the icon of a page that names
      // none (the scrape output), whatever the route prefix.
      if (path === "/favicon.ico") {
        return await (handleUi(request, path, deps) ?? notFound());
      }
      return notFound();
    }
    const rel = path.slice(prefix.length);
    const method = request.method;

    if (
      rel.startsWith("/metrics/job/") || rel.startsWith("/metrics/job@base64/")
    ) {
      const keyPath = rel.slice("/metrics/".length);
      if (keyPath === "job/" || keyPath === "job@base64/") {
        // The router redirects to the slash-less path, which no GET route has.
        if (method === "GET") return notFound();
        return redirect(307, prefix + rel.slice(0, -1), method);
      }
      if (method === "OPTIONS") {
        return new Response(null, {
          status: 200,
          headers: { Allow: PUSH_METHODS },
        });
      }
      if (method !== "PUT" && method !== "POST" && method !== "DELETE") {
        return methodNotAllowed(PUSH_METHODS);
      }
      return await handlePush({
        request,
        keyPath,
        remoteAddr: info?.remoteAddr?.hostname ?? null,
      }, deps);
    }
    if (rel === deps.telemetryPath) {
      if (method !== "GET") return methodNotAllowed("GET, OPTIONS");
      const refused = await refuseEncodedBody(request, deps);
      if (refused) return refused;
      return handleScrape(request, deps);
    }
    if (rel === `${deps.telemetryPath}/`) {
      return redirect(
        method === "GET" ? 301 : 307,
        prefix + deps.telemetryPath,
        method,
      );
    }
    const ui = handleUi(request, rel, deps);
    if (ui) return ui;
    if (rel === "/api/v1/history" && method === "GET") {
      deps.metrics.countRequest("api/v1/history", method, 200);
      return handleHistory(request, deps);
    }
    if (rel === "/api/v1/admin/delete" && deps.enableAdminApi) {
      if (method === "OPTIONS") {
        return new Response(null, { headers: { Allow: "OPTIONS, POST" } });
      }
      if (method !== "POST") return methodNotAllowed("OPTIONS, POST");
      try {
        const response = handleBulkDelete(
          request,
          deps,
          info?.remoteAddr?.hostname ?? null,
        );
        deps.metrics.countRequest(
          "api/v1/admin/delete",
          method,
          response.status,
        );
        return response;
      } catch (error) {
        const expected = statusOf(error);
        if (!expected) throw error;
        return textError(expected.status, expected.message);
      }
    }
    if (
      rel.startsWith("/api/v1/") && rel !== "/api/v1/admin/wipe" &&
      rel !== "/api/v1/admin/delete"
    ) {
      return apiRoute(rel, method, deps);
    }
    switch (rel) {
      case "/-/healthy":
      case "/-/ready": {
        const handler = rel === "/-/healthy" ? "healthy" : "ready";
        if (method === "OPTIONS") {
          return new Response(null, { headers: { Allow: "GET, OPTIONS" } });
        }
        if (method !== "GET") return methodNotAllowed("GET, OPTIONS");
        const ready = rel === "/-/healthy" || deps.isReady();
        const response = ready
          ? new Response("OK", {
            headers: { "Content-Type": "text/plain; charset=utf-8" },
          })
          : new Response("Service Unavailable", {
            status: 503,
            headers: { "Content-Type": "text/plain; charset=utf-8" },
          });
        deps.metrics.countRequest(handler, method, response.status);
        return response;
      }
      case "/-/quit": {
        if (method !== "PUT" && method !== "POST") {
          return prefix === ""
            ? textError(405, "Only POST or PUT requests allowed.")
            : methodNotAllowed("POST, PUT");
        }
        if (!deps.enableLifecycle) {
          return textError(403, "Lifecycle API is not enabled.");
        }
        deps.requestShutdown();
        return new Response("Requesting termination... Goodbye!", {
          headers: { "Content-Type": "text/plain; charset=utf-8" },
        });
      }
      case "/api/v1/admin/wipe": {
        if (!deps.enableAdminApi) return notFound();
        if (method === "OPTIONS") {
          return new Response(null, { headers: { Allow: "OPTIONS, PUT" } });
        }
        if (method !== "PUT") return methodNotAllowed("OPTIONS, PUT");
        const time = deps.now() / 1000;
        let count: number;
        try {
          count = deps.store.wipe(time, {
            path: url().pathname,
            contentType: null,
            bodyBytes: 0,
            remoteAddr: info?.remoteAddr?.hostname ?? null,
            userAgent: request.headers.get("user-agent"),
          });
        } catch (error) {
          const expected = statusOf(error);
          if (!expected) throw error;
          return textError(expected.status, expected.message);
        }
        deps.logger.info("wiped all groups", { groups: count });
        deps.metrics.countRequest("wipe", method, 202);
        return empty(202);
      }
    }
    return notFound();
  };
}

/**
 * The scope a request needs when `basic_auth_scopes` is configured (README
 * "Security"); undefined for the health endpoints, open to every
 * authenticated user. Decodes and cleans the path exactly as the router
 * does, so a path cannot be classified as one route and served as another:
 * pushes and deletes under `/metrics/job…` need `push`, the telemetry path
 * `scrape`, `/api/v1/admin/…` and `/-/quit` `admin`, everything else `read`.
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
  if (
    rel.startsWith("/metrics/job/") || rel.startsWith("/metrics/job@base64/")
  ) {
    return "push";
  }
  if (rel === routes.telemetryPath || rel === `${routes.telemetryPath}/`) {
    return "scrape";
  }
  if (rel.startsWith("/api/v1/admin/") || rel === "/-/quit") return "admin";
  if (rel === "/-/healthy" || rel === "/-/ready") return undefined;
  return "read";
}

function apiRoute(
  rel: string,
  method: string,
  deps: HandlerDeps,
): Response | Promise<Response> {
  const name = rel.slice("/api/v1/".length);
  if (method === "OPTIONS") {
    deps.metrics.countRequest("api/v1/options", method, 200);
    return new Response(null, { headers: API_HEADERS });
  }
  if (name !== "status" && name !== "metrics" && name !== "history") {
    return notFound();
  }
  if (method !== "GET") return methodNotAllowed("GET, OPTIONS");
  deps.metrics.countRequest(`api/v1/${name}`, method, 200);
  if (name === "metrics") return metricsResponse(deps.store);
  const info = { flags: deps.flagValues, startTime: deps.startTime };
  if (!deps.store.litestream) return jsonResponse(statusBody(info));
  // Off the push path: a few reads in Litestream's directory, on request.
  return readLitestreamSync(deps.store.path).then((replication) =>
    jsonResponse(statusBody({ ...info, replication }))
  );
}

/**
 * The Pushgateway decodes `Content-Encoding` on every request of its main
 * router, scrapes included (spec §2.3): a GET that claims a gzip body it
 * does not have gets 400 `EOF`. Reproduced so that nothing differs.
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
    if (error instanceof LimitError) {
      return textError(error.status, error.message);
    }
    const expected = statusOf(error);
    return textError(
      expected?.status === 413 ? 413 : 400,
      errorMessage(error),
    );
  }
}

/** The path of a request URL exactly as sent: from after the host to `?` or `#`. */
export function rawPathOf(requestUrl: string): string {
  const afterScheme = requestUrl.indexOf("//") + 2;
  const start = requestUrl.indexOf("/", afterScheme);
  if (start < 0) return "/";
  let end = requestUrl.length;
  for (const c of ["?", "#"]) {
    const at = requestUrl.indexOf(c, start);
    if (at >= 0 && at < end) end = at;
  }
  return requestUrl.slice(start, end);
}

/**
 * Go's ServeMux cleanPath: path.Clean (one slash, no `.`, `..` resolved,
 * never above the root) keeping a trailing slash.
 */
export function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  let cleaned = `/${parts.join("/")}`;
  if (path.endsWith("/") && cleaned !== "/") cleaned += "/";
  return cleaned;
}

/** Go's url.PathEscape for a whole path: `/` and `$&+,:;=@` stay. */
export function escapePath(path: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(path)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c)
      ? c
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Go's html.EscapeString. */
const GO_HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&#34;",
  "'": "&#39;",
};

/** Like Go's http.Redirect: GET and HEAD also get a small HTML body. */
function redirect(
  status: 301 | 307,
  location: string,
  method: string,
): Response {
  if (method !== "GET" && method !== "HEAD") {
    return new Response(null, { status, headers: { Location: location } });
  }
  const text = status === 301 ? "Moved Permanently" : "Temporary Redirect";
  const href = location.replace(/[&<>"']/g, (c) => GO_HTML_ESCAPES[c] ?? c);
  return new Response(`<a href="${href}">${text}</a>.\n\n`, {
    status,
    headers: { Location: location, "Content-Type": "text/html; charset=utf-8" },
  });
}
