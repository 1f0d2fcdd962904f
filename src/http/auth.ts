/**
 * The web configuration applied to every request, around the app handler:
 * the rate limit, HTTP basic authentication with bcrypt hashes, Pushvault's
 * scopes (a scope limited by selectors is handed to the app with the
 * request, see routes.ts), per-user rate limits, and the configured
 * response headers (exporter-toolkit
 * `web/handler.go`; auth applies to every endpoint, health included:
 * docs/security.md).
 *
 * Checked before the app sees the request, so an unauthenticated push is
 * never read. bcrypt is slow on purpose (~50–300 ms per check), so it never
 * runs on the HTTP thread: checks go to the password worker
 * (password_worker.ts), one at a time, a bounded number waiting. Results are
 * cached by a SHA-256 of user, hash and password (no plaintext is kept),
 * successes and failures apart, so that failed attempts never evict a user
 * who got in. An address (an IPv6 /64) whose recent checks failed too often
 * gets 429 for new checks; cached credentials still answer at once.
 * @module
 */

import type { PasswordCheck, PasswordWorker } from "./password_worker.ts";
import type { Handler } from "./routes.ts";
import type { WebConfig } from "./web_config.ts";
import type { RateLimit, Scope } from "./web_config_users.ts";
import { FAKE_HASH } from "./web_config_defaults.ts";

/** Why a request was refused before it reached the app. */
export type HttpRefusal =
  | "unauthorized"
  | "forbidden"
  | "rate_limited"
  | "user_rate_limited" // 429: the user's own basic_auth_rate_limits
  | "too_many_failures" // 429: this address failed too many password checks
  | "auth_busy"; // 503: too many password checks waiting

export interface GuardOptions {
  /** The configuration in force (it changes on reload). */
  readonly config: () => WebConfig;
  /** The scope a request needs; undefined: any authenticated user (health). */
  readonly scopeOf: (request: Request) => Scope | undefined;
  readonly onRefused?: (reason: HttpRefusal) => void;
  /** Called with the user's name for each `user_rate_limited` refusal. */
  readonly onUserRateLimited?: (user: string) => void;
  /** Runs the bcrypt checks; its owner closes it. */
  readonly passwords: PasswordWorker;
  /** Milliseconds, for the rate limits; injectable for tests. */
  readonly now?: () => number;
}

/** Credentials remembered as good, least recently used dropped first. */
const ACCEPTED_CACHE_SIZE = 100;
/**
 * Credentials remembered as bad: a client retrying a wrong password gets
 * its 401 without a bcrypt. Kept apart so that a flood of new wrong
 * passwords only ever evicts other failures.
 */
const REJECTED_CACHE_SIZE = 100;

/** Wraps `handler` with the rate limit, authentication, scopes and headers. */
export function guardHandler(handler: Handler, options: GuardOptions): Handler {
  const now = options.now ?? (() => performance.now());
  const verifier = new PasswordVerifier(options.passwords, now);
  const limiter = new RateLimiter(now);
  const userLimiters = new Map<string, RateLimiter>();
  const userAllowed = (who: string, limit: RateLimit | undefined) => {
    if (limit === undefined) return true;
    let bucket = userLimiters.get(who);
    if (bucket === undefined) {
      userLimiters.set(who, bucket = new RateLimiter(now));
    }
    return bucket.allow(limit);
  };
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
      const outcome = await verifier.authenticate(
        request.headers.get("authorization"),
        config,
        info?.remoteAddr?.hostname ?? "",
      );
      const who = outcome.type === "user" ? outcome.user : undefined;
      if (outcome.type === "throttled") {
        response = refuse(
          "too_many_failures",
          plain(
            429,
            `Too Many Requests: too many failed password checks from this address; retry in ${outcome.retryAfterSeconds} s`,
            { "Retry-After": String(outcome.retryAfterSeconds) },
          ),
        );
      } else if (outcome.type === "busy") {
        response = refuse(
          "auth_busy",
          plain(
            503,
            "Service Unavailable: too many password checks are waiting; retry in 1 s",
            { "Retry-After": "1" },
          ),
        );
      } else if (who === undefined) {
        response = refuse(
          "unauthorized",
          plain(401, "Unauthorized", { "WWW-Authenticate": "Basic" }),
        );
      } else if (!userAllowed(who, config.users.get(who)?.rateLimit)) {
        options.onUserRateLimited?.(who);
        response = refuse("user_rate_limited", plain(429, "Too Many Requests"));
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
          // A scope limited by selectors: the route shows and changes only
          // the groups in it (docs/security.md, Scopes).
          const limited = scope === undefined
            ? undefined
            : user?.limited?.get(scope);
          response = await handler(
            request,
            limited === undefined ? info : { ...info, scope: limited },
          );
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

/** What the credentials of a request came to. */
type Authentication =
  | { readonly type: "user"; readonly user: string }
  | { readonly type: "unauthorized" }
  | { readonly type: "throttled"; readonly retryAfterSeconds: number }
  | { readonly type: "busy" };

const UNAUTHORIZED: Authentication = { type: "unauthorized" };

/** bcrypt checks through the worker: cached, limited per address, shared. */
class PasswordVerifier {
  readonly #passwords: PasswordWorker;
  readonly #accepted = new LruSet(ACCEPTED_CACHE_SIZE);
  readonly #rejected = new LruSet(REJECTED_CACHE_SIZE);
  /** Checks in progress by cache key: concurrent equal requests share one. */
  readonly #checking = new Map<string, Promise<boolean | "busy">>();
  readonly #failures: LoginFailures;

  constructor(passwords: PasswordWorker, now: () => number) {
    this.#passwords = passwords;
    this.#failures = new LoginFailures({ now });
  }

  /** What the Authorization header from `address` proves. */
  async authenticate(
    header: string | null,
    config: WebConfig,
    address: string,
  ): Promise<Authentication> {
    const credentials = parseBasicAuth(header);
    if (!credentials) return UNAUTHORIZED;
    const user = config.users.get(credentials.user);
    // An unknown user is checked against a fixed hash: same cost, no hint
    // (its failures are cached and counted like a known user's).
    const hash = user?.hash ?? FAKE_HASH;
    const key = await cacheKey(credentials.user, hash, credentials.password);
    const known = user === undefined
      ? undefined
      : { type: "user", user: credentials.user } as const;
    if (this.#accepted.touch(key)) return known ?? UNAUTHORIZED;
    if (this.#rejected.touch(key)) return UNAUTHORIZED;
    let check = this.#checking.get(key);
    if (check === undefined) {
      const retryAfterSeconds = this.#failures.retryAfterSeconds(address);
      if (retryAfterSeconds > 0) {
        return { type: "throttled", retryAfterSeconds };
      }
      check = this.#check(
        key,
        credentials.password,
        hash,
        known !== undefined,
        address,
      );
      this.#checking.set(key, check);
      void check.finally(() => this.#checking.delete(key));
    }
    const ok = await check;
    if (ok === "busy") return { type: "busy" };
    return ok ? known ?? UNAUTHORIZED : UNAUTHORIZED;
  }

  async #check(
    key: string,
    password: string,
    hash: string,
    userExists: boolean,
    address: string,
  ): Promise<boolean | "busy"> {
    this.#failures.begin(address);
    let result: PasswordCheck = "unavailable";
    try {
      result = await this.#passwords.check(password, hash);
    } finally {
      this.#failures.end(
        address,
        result === "mismatch" || (result === "match" && !userExists),
      );
    }
    if (result === "unavailable") return "busy";
    // A password that matches the fixed hash is still no user.
    const ok = result === "match" && userExists;
    if (ok) this.#accepted.add(key);
    else this.#rejected.add(key);
    return ok;
  }
}

/** A bounded set that drops its least recently used key first. */
class LruSet {
  readonly #max: number;
  // Map keeps insertion order: the first key is the least recently used.
  readonly #keys = new Map<string, true>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Whether `key` is in the set; if so it becomes the most recently used. */
  touch(key: string): boolean {
    if (!this.#keys.delete(key)) return false;
    this.#keys.set(key, true);
    return true;
  }

  add(key: string): void {
    this.#keys.delete(key);
    this.#keys.set(key, true);
    if (this.#keys.size > this.#max) {
      const oldest = this.#keys.keys().next();
      if (!oldest.done) this.#keys.delete(oldest.value);
    }
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

/** Failed password checks an address may have before it gets 429. */
export const FAILURE_BURST = 10;
/** One failure is forgiven per this many milliseconds. */
export const FAILURE_FORGIVEN_MS = 5_000;
/** Addresses remembered at most: an attacker with many cannot grow the map. */
export const MAX_TRACKED_ADDRESSES = 1024;

interface FailureRecord {
  /** Failures not yet forgiven (fractional while draining). */
  level: number;
  /** When `level` was last drained. */
  at: number;
  /** Checks in progress. */
  pending: number;
}

export interface LoginFailuresOptions {
  /** Milliseconds. */
  readonly now: () => number;
  readonly burst?: number;
  readonly forgivenMs?: number;
  readonly maxAddresses?: number;
}

/**
 * Failed password checks per client address, as a leaky bucket: each
 * failure adds one, one drains every `forgivenMs`; an address at the burst
 * waits. Checks in progress count as failures until they end, so that
 * concurrent requests cannot run past the burst. An IPv6 /64 is one
 * address (one subscriber's prefix, see addressKey()). Bounded: past
 * `maxAddresses` the address that failed least recently is forgotten.
 */
export class LoginFailures {
  readonly #now: () => number;
  readonly #burst: number;
  readonly #forgivenMs: number;
  readonly #maxAddresses: number;
  // Map keeps insertion order; a record is re-inserted when it changes, so
  // the first one is the least recently active.
  readonly #records = new Map<string, FailureRecord>();

  constructor(options: LoginFailuresOptions) {
    this.#now = options.now;
    this.#burst = options.burst ?? FAILURE_BURST;
    this.#forgivenMs = options.forgivenMs ?? FAILURE_FORGIVEN_MS;
    this.#maxAddresses = options.maxAddresses ?? MAX_TRACKED_ADDRESSES;
  }

  /** Addresses remembered. */
  get size(): number {
    return this.#records.size;
  }

  /** 0 if `address` may have a password checked now, else whole seconds to wait. */
  retryAfterSeconds(address: string): number {
    const key = addressKey(address);
    const record = this.#records.get(key);
    if (record === undefined) return 0;
    this.#drain(record);
    if (record.level === 0 && record.pending === 0) {
      this.#records.delete(key);
      return 0;
    }
    const excess = record.level + record.pending - (this.#burst - 1);
    if (excess <= 0) return 0;
    return Math.max(1, Math.ceil(excess * this.#forgivenMs / 1000));
  }

  /** A check for `address` starts. */
  begin(address: string): void {
    const record = this.#take(addressKey(address));
    record.pending++;
  }

  /** A check for `address` ended; `failed`: the credentials were wrong. */
  end(address: string, failed: boolean): void {
    const key = addressKey(address);
    const record = this.#take(key);
    record.pending = Math.max(0, record.pending - 1);
    if (failed) record.level++;
    if (record.level === 0 && record.pending === 0) this.#records.delete(key);
  }

  /** The record of `key`, drained and made the most recent (new if needed). */
  #take(key: string): FailureRecord {
    let record = this.#records.get(key);
    if (record === undefined) {
      record = { level: 0, at: this.#now(), pending: 0 };
      this.#makeRoom();
    } else {
      this.#records.delete(key);
      this.#drain(record);
    }
    this.#records.set(key, record);
    return record;
  }

  #drain(record: FailureRecord): void {
    const now = this.#now();
    record.level = Math.max(
      0,
      record.level - (now - record.at) / this.#forgivenMs,
    );
    record.at = now;
  }

  /** Forgets the least recently active address without a check in progress. */
  #makeRoom(): void {
    if (this.#records.size < this.#maxAddresses) return;
    // Records with checks in progress are few (the worker's bound), so this
    // loop ends early; they are skipped because end() needs them.
    for (const [key, record] of this.#records) {
      if (record.pending === 0) {
        this.#records.delete(key);
        return;
      }
    }
  }
}

/**
 * The key an address is limited by: IPv4 as it is (also when mapped into
 * IPv6), IPv6 by its /64, which is what one subscriber is given (RFC 6177):
 * counting each of its 2^64 addresses apart would give one attacker an
 * unlimited number of tries.
 */
export function addressKey(hostname: string): string {
  const address = hostname.replace(/%.*$/, ""); // a zone: fe80::1%eth0
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.split("::");
  const groups = (text: string) => text === "" ? [] : text.split(":");
  let parts = groups(head);
  if (tail !== undefined) {
    const end = groups(tail);
    // An embedded IPv4 address at the end takes two groups' room.
    const size = end.length + (end.at(-1)?.includes(".") ? 1 : 0);
    parts = [
      ...parts,
      ...new Array(Math.max(0, 8 - parts.length - size)).fill("0"),
      ...end,
    ];
  }
  const prefix = parts.slice(0, 4).map((g) =>
    (parseInt(g, 16) || 0).toString(16)
  );
  while (prefix.length < 4) prefix.push("0");
  return `${prefix.join(":")}::/64`;
}
