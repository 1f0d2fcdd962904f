/**
 * The web configuration applied to every request, around the app handler:
 * the rate limit, HTTP basic authentication with bcrypt hashes, Pushvault's
 * scopes, and the configured response headers (exporter-toolkit
 * `web/handler.go`; spec §7: auth applies to every endpoint, health
 * included).
 *
 * Checked before the app sees the request, so an unauthenticated push is
 * never read. bcrypt is slow on purpose (~50–300 ms per check): results are
 * cached by a SHA-256 of user, hash and password (no plaintext is kept), and
 * at most one bcrypt runs at a time, as the toolkit does, so a flood of wrong
 * passwords costs one core at most.
 * @module
 */

import bcrypt from "bcryptjs";
import type { Handler } from "./routes.ts";
import type { Scope, WebConfig } from "./web_config.ts";
import { FAKE_HASH } from "./web_config.ts";

/** Why a request was refused before it reached the app. */
export type HttpRefusal = "unauthorized" | "forbidden" | "rate_limited";

export interface GuardOptions {
  /** The configuration in force (it changes on reload). */
  readonly config: () => WebConfig;
  /** The scope a request needs; undefined: any authenticated user (health). */
  readonly scopeOf: (request: Request) => Scope | undefined;
  readonly onRefused?: (reason: HttpRefusal) => void;
  /** Milliseconds, for the rate limit; injectable for tests. */
  readonly now?: () => number;
}

const CACHE_SIZE = 100;

/** Wraps `handler` with the rate limit, authentication, scopes and headers. */
export function guardHandler(handler: Handler, options: GuardOptions): Handler {
  const verifier = new PasswordVerifier();
  const limiter = new RateLimiter(options.now ?? (() => performance.now()));
  const refuse = (reason: HttpRefusal, response: Response) => {
    options.onRefused?.(reason);
    return response;
  };
  return async (request, info) => {
    const config = options.config();
    let response: Response;
    if (config.rateLimit && !limiter.allow(config.rateLimit)) {
      response = refuse("rate_limited", plain(429, "Too Many Requests"));
    } else if (config.users.size === 0) {
      response = await handler(request, info);
    } else {
      const who = await verifier.authenticate(
        request.headers.get("authorization"),
        config,
      );
      if (who === undefined) {
        response = refuse(
          "unauthorized",
          plain(401, "Unauthorized", { "WWW-Authenticate": "Basic" }),
        );
      } else {
        const scope = options.scopeOf(request);
        const user = config.users.get(who);
        if (scope !== undefined && !user?.scopes.has(scope)) {
          response = refuse(
            "forbidden",
            plain(
              403,
              `Forbidden: user ${JSON.stringify(who)} has no ${
                JSON.stringify(scope)
              } scope, which ${request.method} ${
                new URL(request.url).pathname
              } needs (basic_auth_scopes in --web.config.file)`,
            ),
          );
        } else {
          response = await handler(request, info);
        }
      }
    }
    return withHeaders(response, config.headers);
  };
}

/** A plain-text answer shaped like Go's http.Error. */
function plain(
  status: number,
  text: string,
  extra: Record<string, string> = {},
): Response {
  return new Response(`${text}\n`, {
    status,
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      "X-Content-Type-Options": "nosniff",
      ...extra,
    },
  });
}

function withHeaders(
  response: Response,
  headers: readonly (readonly [string, string])[],
): Response {
  if (headers.length === 0) return response;
  try {
    for (const [name, value] of headers) response.headers.set(name, value);
    return response;
  } catch {
    // Immutable headers (a Response from fetch): copy them.
    const copy = new Headers(response.headers);
    for (const [name, value] of headers) copy.set(name, value);
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: copy,
    });
  }
}

/** `Basic base64(user:password)` as Go's Request.BasicAuth reads it. */
export function parseBasicAuth(
  header: string | null,
): { user: string; password: string } | undefined {
  if (header === null || header.length < 6) return undefined;
  if (header.slice(0, 6).toLowerCase() !== "basic ") return undefined;
  let bytes: Uint8Array;
  try {
    const binary = atob(header.slice(6));
    bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  const text = new TextDecoder().decode(bytes);
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** bcrypt checks, cached and one at a time. */
class PasswordVerifier {
  readonly #cache = new Map<string, boolean>();
  #queue: Promise<unknown> = Promise.resolve();

  /** The user name if the header carries valid credentials. */
  async authenticate(
    header: string | null,
    config: WebConfig,
  ): Promise<string | undefined> {
    const credentials = parseBasicAuth(header);
    if (!credentials) return undefined;
    const user = config.users.get(credentials.user);
    // An unknown user is checked against a fixed hash: same cost, no hint.
    const hash = user?.hash ?? FAKE_HASH;
    const key = await cacheKey(credentials.user, hash, credentials.password);
    let ok = this.#cache.get(key);
    if (ok === undefined) {
      const check = this.#queue.then(() =>
        bcrypt.compare(credentials.password, hash)
      );
      this.#queue = check.catch(() => false);
      try {
        ok = await check;
      } catch {
        ok = false;
      }
      if (this.#cache.size >= CACHE_SIZE) {
        // Oldest first: Map keeps insertion order.
        const oldest = this.#cache.keys().next();
        if (!oldest.done) this.#cache.delete(oldest.value);
      }
      this.#cache.set(key, ok);
    }
    return ok && user !== undefined ? credentials.user : undefined;
  }
}

async function cacheKey(
  user: string,
  hash: string,
  password: string,
): Promise<string> {
  const data = new TextEncoder().encode(`${user}\0${hash}\0${password}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** A token bucket over every request, as the toolkit's `rate_limit`. */
class RateLimiter {
  readonly #now: () => number;
  #tokens = 0;
  #last = 0;
  #config: unknown;

  constructor(now: () => number) {
    this.#now = now;
  }

  allow(
    limit: { readonly intervalMs: number; readonly burst: number },
  ): boolean {
    const now = this.#now();
    if (this.#config !== limit) {
      // A new or reloaded limit starts with a full bucket.
      this.#config = limit;
      this.#tokens = limit.burst;
      this.#last = now;
    }
    this.#tokens = Math.min(
      limit.burst,
      this.#tokens + (now - this.#last) / limit.intervalMs,
    );
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
