/**
 * PUT/POST/DELETE `/metrics/job/…`: translates a request into a store
 * command and the outcome into a response. Decides nothing itself (handlers
 * translate; the store decides): the body becomes a ready push
 * (push_input.ts), the store checks and writes it, and its outcome, or the
 * kind of what was thrown, becomes the answer.
 * @module
 */

import { BodyTooLargeError } from "../exposition/decompress.ts";
import type { Logger } from "../log.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import { parseGroupingKey } from "../push/grouping_key.ts";
import {
  expectedError,
  type KindedError,
  LimitError,
  type PushRefusal,
  STATUS_FOR,
} from "../push/push_error.ts";
import type { RequestInfo, Store } from "../store/store.ts";
import { empty, outOfScope, textError } from "./errors.ts";
import { type GroupScope, inScope } from "../push/group_scope.ts";
import {
  type PushInputDeps,
  type PushReading,
  readPush,
} from "./push_input.ts";
import type { SelfMetrics } from "./self_metrics.ts";
import { errorStack } from "../error_message.ts";

export { parseTtlHeader, TTL_HEADER } from "./push_input.ts";

export interface PushDeps extends PushInputDeps {
  readonly store: Store;
  readonly metrics: SelfMetrics;
  readonly logger: Logger;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly checkConsistency: boolean;
}

export interface PushRequest {
  readonly request: Request;
  /** The percent-decoded path after `/metrics/`: `job/<job>/…`. */
  readonly keyPath: string;
  readonly remoteAddr: string | null;
  /** The groups the user may push to; undefined: every group. */
  readonly scope?: GroupScope | undefined;
  /** Under `/aggregate`: added to an aggregating group (README). */
  readonly aggregate?: boolean;
}

/** Handles one push or delete. Never throws for expected failures. */
export async function handlePush(
  push: PushRequest,
  deps: PushDeps,
): Promise<Response> {
  const started = performance.now();
  const { request } = push;
  const method = request.method as "PUT" | "POST" | "DELETE";
  const time = deps.now() / 1000;
  const info: RequestInfo = {
    path: new URL(request.url).pathname,
    contentType: request.headers.get("content-type"),
    bodyBytes: 0,
    remoteAddr: push.remoteAddr,
    userAgent: request.headers.get("user-agent"),
  };
  const reading: PushReading = { bodyBytes: 0, release: undefined };
  let key: GroupingKey | undefined;
  let response: Response;
  try {
    key = parseGroupingKey(push.keyPath, { utf8Names: deps.utf8Names });
    if (!key) {
      throw new Error("handlePush called for a path that is not a push route");
    }
    if (push.scope !== undefined && !inScope(key.labels, push.scope)) {
      // Known from the URL: refused before the body is read (left as the
      // auth guard's refusals leave it), and not recorded (a group the
      // user cannot see).
      deps.metrics.countLabeled("pushvault_http_refused_total", "forbidden");
      response = outOfScope(
        push.scope,
        `group ${key.id} is outside it; ${method} needs a ${push.scope.scope} scope that matches it`,
      );
    } else if (method === "DELETE") {
      await request.body?.cancel(); // a DELETE body is ignored
      // In arrival order, also behind a large push being written.
      await deps.store.enqueueDelete(key, time, info);
      response = empty(202);
    } else {
      response = await storePush(
        method,
        key,
        time,
        info,
        reading,
        request,
        deps,
        push.aggregate === true,
      );
    }
  } catch (error) {
    const at = { ...info, bodyBytes: reading.bodyBytes };
    response = refused(error, deps, method, key, time, at);
  } finally {
    reading.release?.();
  }
  const handler = method === "DELETE" ? "delete" : "push";
  deps.metrics.countRequest(handler, method, response.status);
  if (method !== "DELETE") {
    deps.metrics.observePush(
      method,
      (performance.now() - started) / 1000,
      approximateRequestSize(request, reading.bodyBytes),
    );
  }
  return response;
}

/** Reads the push, has the store check and write it, and answers its outcome. */
async function storePush(
  method: "PUT" | "POST",
  key: GroupingKey,
  time: number,
  info: RequestInfo,
  reading: PushReading,
  request: Request,
  deps: PushDeps,
  aggregate: boolean,
): Promise<Response> {
  const { ready, ttl, gauge } = await readPush(
    request,
    key,
    deps,
    reading,
    aggregate,
  );
  const outcome = await deps.store.enqueuePush({
    method,
    key,
    families: ready.families,
    problems: ready.problems,
    seriesCount: ready.seriesCount,
    keys: ready.keys,
    distinct: ready.distinct,
    ...(ready.prepared === undefined ? {} : { prepared: ready.prepared }),
    maxSeries: deps.limits.maxSeries,
    checkConsistency: deps.checkConsistency,
    time,
    request: { ...info, bodyBytes: reading.bodyBytes },
    ...(ttl === undefined ? {} : { ttl }),
    ...(gauge === undefined ? {} : { aggregate: { gauge } }),
  });
  if (outcome.error === undefined) return empty(outcome.status);
  deps.logger.debug("push refused", { group: key.id, err: outcome.error });
  return outcome.status === 400 || outcome.status === 409
    ? textError(outcome.status, outcome.error)
    : empty(outcome.status);
}

/**
 * The answer to a push that threw: an expected failure is counted, logged
 * (503) or recorded in the history, and answered as its kind says; anything
 * else is a bug, logged and answered 500.
 */
function refused(
  error: unknown,
  deps: PushDeps,
  method: "PUT" | "POST" | "DELETE",
  key: GroupingKey | undefined,
  time: number,
  request: RequestInfo,
): Response {
  const expected = expectedError(error);
  const refusal = refusalOf(expected);
  if (refusal) {
    deps.metrics.countLabeled("pushvault_push_refused_total", refusal);
  }
  if (!expected) {
    deps.logger.error("push failed", {
      path: request.path,
      err: errorStack(error),
    });
    return textError(
      500,
      "internal error while handling the push; see the server log",
    );
  }
  const status = STATUS_FOR[expected.kind];
  if (status === 503) {
    deps.logger.warn("push not stored", {
      path: request.path,
      err: expected.message,
    });
  } else {
    deps.store.recordInvalid({
      method,
      key,
      status,
      error: expected.message,
      time,
      request,
    });
  }
  return textError(status, expected.message);
}

/** The `pushvault_push_refused_total` reason of a failed push, if it has one. */
function refusalOf(error: KindedError | undefined): PushRefusal | undefined {
  if (error instanceof LimitError) return error.reason;
  if (error instanceof BodyTooLargeError) return "body_too_large";
  return error !== undefined && STATUS_FOR[error.kind] === 503
    ? "unavailable"
    : undefined;
}

/** client_golang's approximation: URL, method, protocol, headers, host, length. */
function approximateRequestSize(request: Request, bodyBytes: number): number {
  let size = request.url.length + request.method.length + "HTTP/1.1".length;
  // forEach, not for-of: Deno's header iterator allocates a pair per header
  // and costs a 10-series push about 1% more.
  request.headers.forEach((value, name) => {
    size += name.length + value.length;
  });
  return size + bodyBytes;
}
