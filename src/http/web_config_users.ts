/**
 * The credentials of `--web.config.file` (docs/security.md): the toolkit's
 * `basic_auth_users` and `rate_limit`, and Pushvault's `basic_auth_scopes`
 * (a scope is a bare name, `push`, or a name limited to the groups a
 * selector matches, `push:{job=~"ci-.*"}`) and `basic_auth_rate_limits`
 * (a `rate_limit` per user). Strict as the rest of the file: an unknown
 * scope, a bad selector or a limit for an unknown user is refused with an
 * error naming the key.
 * @module
 */

import type { GroupScope } from "../push/group_scope.ts";
import {
  MatcherError,
  parseSelector,
  type Selector,
} from "../push/matchers.ts";
import {
  type Fail,
  goDuration,
  list,
  mapping,
  string,
} from "./web_config_yaml.ts";

/** What a credential may do (docs/security.md). */
export const SCOPES = ["push", "scrape", "read", "admin"] as const;
export type Scope = typeof SCOPES[number];

export interface RateLimit {
  readonly intervalMs: number;
  readonly burst: number;
}

export interface BasicAuthUser {
  /** bcrypt hash (`$2a$`, `$2b$` or `$2y$`). */
  readonly hash: string;
  /** The scopes granted, limited or not. */
  readonly scopes: ReadonlySet<Scope>;
  /** The granted scopes limited to some groups; a scope not here reaches every group. */
  readonly limited?: ReadonlyMap<Scope, GroupScope>;
  /** `basic_auth_rate_limits`: this user's own bucket, besides the global one. */
  readonly rateLimit?: RateLimit;
}

const RATE_KEYS = ["interval", "burst"] as const;

// Go's bcrypt.Cost accepts $2a$, $2b$, $2x$, $2y$ with a cost 4..31.
const BCRYPT_HASH = /^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** The users of the file's top-level mapping `top`. */
export function parseUsers(
  top: ReadonlyMap<string, unknown>,
  fail: Fail,
): Map<string, BasicAuthUser> {
  const hashes = new Map<string, string>();
  for (
    const [name, value] of mapping(
      top.get("basic_auth_users") ?? {},
      "basic_auth_users",
      fail,
    )
  ) {
    const key = `basic_auth_users.${name}`;
    const hash = string(value, key, fail);
    const m = BCRYPT_HASH.exec(hash);
    const cost = m ? Number(m[1]) : 0;
    if (!m || cost < 4 || cost > 31) {
      fail(
        key,
        "not a bcrypt hash (expected $2y$<cost>$ and 53 characters, e.g. from `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)",
      );
    }
    hashes.set(name, hash);
  }
  const known = (key: string, name: string, where: string) => {
    if (!hashes.has(name)) {
      fail(key, `no user ${JSON.stringify(name)} in ${where}`);
    }
  };
  const grants = new Map<string, Grants>();
  for (
    const [name, value] of mapping(
      top.get("basic_auth_scopes") ?? {},
      "basic_auth_scopes",
      fail,
    )
  ) {
    const key = `basic_auth_scopes.${name}`;
    known(key, name, "basic_auth_users");
    grants.set(
      name,
      parseGrants(name, list(value ?? [], key, fail), key, fail),
    );
  }
  const limits = new Map<string, RateLimit>();
  for (
    const [name, value] of mapping(
      top.get("basic_auth_rate_limits") ?? {},
      "basic_auth_rate_limits",
      fail,
    )
  ) {
    const key = `basic_auth_rate_limits.${name}`;
    known(key, name, "basic_auth_users");
    const limit = parseRateLimit(value, key, fail);
    if (limit !== undefined) limits.set(name, limit);
  }
  const users = new Map<string, BasicAuthUser>();
  for (const [name, hash] of hashes) {
    // A user without basic_auth_scopes keeps full access (toolkit files).
    const granted = grants.get(name);
    const rateLimit = limits.get(name);
    users.set(name, {
      hash,
      scopes: granted?.scopes ?? new Set(SCOPES),
      ...(granted && granted.limited.size > 0
        ? { limited: granted.limited }
        : {}),
      ...(rateLimit ? { rateLimit } : {}),
    });
  }
  return users;
}

interface Grants {
  readonly scopes: Set<Scope>;
  readonly limited: Map<Scope, GroupScope>;
}

/**
 * One user's list: `push` grants every group, `push:{…}` the groups its
 * selector matches; entries of one scope add up (a bare one wins).
 */
function parseGrants(
  user: string,
  items: readonly unknown[],
  key: string,
  fail: Fail,
): Grants {
  const every = new Set<Scope>();
  const some = new Map<Scope, { selectors: Selector[]; spelled: string[] }>();
  for (const item of items) {
    if (item !== null && typeof item === "object" && !Array.isArray(item)) {
      // `[push:{job="x"}]`: in a flow list YAML reads the braces.
      fail(
        key,
        `expected a scope, found a mapping; quote a scope with a selector in a [...] list: ['push:{job="x"}']`,
      );
    }
    const text = string(item, key, fail).trim();
    const colon = text.indexOf(":");
    const name = colon < 0 ? text : text.slice(0, colon).trim();
    if (!(SCOPES as readonly string[]).includes(name)) {
      fail(
        key,
        `unknown scope ${JSON.stringify(name)}; expected some of: ${
          SCOPES.join(", ")
        }`,
      );
    }
    const scope = name as Scope;
    if (colon < 0) {
      every.add(scope);
      continue;
    }
    let selector: Selector;
    try {
      selector = parseSelector(text.slice(colon + 1));
    } catch (error) {
      if (!(error instanceof MatcherError)) throw error;
      return fail(key, `scope ${JSON.stringify(text)}: ${error.message}`);
    }
    let entry = some.get(scope);
    if (entry === undefined) {
      some.set(scope, entry = { selectors: [], spelled: [] });
    }
    entry.selectors.push(selector);
    entry.spelled.push(`${scope}:${text.slice(colon + 1).trim()}`);
  }
  const scopes = new Set<Scope>();
  const limited = new Map<Scope, GroupScope>();
  for (const scope of SCOPES) {
    if (every.has(scope)) scopes.add(scope);
    const entry = some.get(scope);
    if (entry === undefined) continue;
    scopes.add(scope);
    if (!every.has(scope)) limited.set(scope, { user, scope, ...entry });
  }
  return { scopes, limited };
}

/**
 * A `rate_limit` mapping (the global one, or a user's): undefined when its
 * interval is 0 (no limit).
 */
export function parseRateLimit(
  value: unknown,
  key: string,
  fail: Fail,
): RateLimit | undefined {
  if (value === undefined || value === null) return undefined;
  const r = mapping(value, key, fail, RATE_KEYS);
  const intervalMs = goDuration(
    r.get("interval") ?? 0,
    `${key}.interval`,
    fail,
  );
  const burst = r.get("burst") ?? 0;
  if (!Number.isSafeInteger(burst) || (burst as number) < 0) {
    fail(`${key}.burst`, "expected a whole number ≥ 0");
  }
  if (intervalMs <= 0) return undefined;
  if (burst === 0) {
    // Go's rate.Limiter with burst 0 refuses every request.
    fail(
      `${key}.burst`,
      `must be at least 1 when ${key}.interval is set (0 would refuse every request)`,
    );
  }
  return { intervalMs, burst: burst as number };
}
