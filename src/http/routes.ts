/**
 * The router: decodes and cleans the path as Go's server does, then answers
 * by the route table (route_table.ts), from which the 405 with `Allow`, the
 * auth scope and request counting are all read. `createHandler(deps)`
 * returns the app as one function `(request, info) => Promise<Response>`.
 *
 * Paths are percent-decoded before routing, as Go's server does, so `%2F`
 * separates grouping labels; `//` is answered with 301 to the cleaned path,
 * for every method.
 * @module
 */

import { API_HEADERS } from "./api.ts";
import {
  errorResponse,
  methodNotAllowed,
  notFound,
  textError,
} from "./errors.ts";
import type { Scope } from "./web_config_users.ts";
import type { GroupScope } from "../push/group_scope.ts";
import { cleanPath, escapePath, rawPathOf, redirect } from "./paths.ts";
import {
  type HandlerDeps,
  QUIT_REFUSED,
  type Route,
  type RoutePaths,
  type RouteRequest,
  ROUTES,
  STATIC_ROUTE,
} from "./route_table.ts";

export { ROUTES } from "./route_table.ts";
export { cleanPath, escapePath, rawPathOf } from "./paths.ts";

export type Handler = (
  request: Request,
  info?: {
    remoteAddr?: { hostname?: string };
    /** Set by the auth guard when the user's scope is limited to some groups. */
    scope?: GroupScope;
  },
) => Promise<Response>;

/** The answer to an expected failure; anything else is a bug, rethrown. */
function failure(error: unknown): Response {
  const response = errorResponse(error, "text");
  if (!response) throw error;
  return response;
}

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
      scope: info?.scope,
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
