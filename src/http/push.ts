/**
 * PUT/POST/DELETE `/metrics/job/…`: translates a request into a store
 * command and the outcome into a response. Decides nothing itself (handlers
 * translate; the store decides). The body is read and decoded fully
 * before the store is called, so no `await` falls inside a transaction.
 * @module
 */

import { BodyTooLargeError, decompressBody } from "../exposition/decompress.ts";
import { readRequestBody } from "./request_body.ts";
import type { ReadDeadline } from "../exposition/decompress.ts";
import type { Logger } from "../log.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import { parseGroupingKey } from "../push/grouping_key.ts";
import {
  preparePush,
  type PushBody,
  type ReadyPush,
} from "../push/prepare_push.ts";
import { type PushWorker, WORKER_MIN_BYTES } from "./push_worker.ts";
import {
  expectedError,
  type KindedError,
  LimitError,
  PushError,
  type PushRefusal,
  STATUS_FOR,
} from "../push/push_error.ts";
import { parseDuration } from "../cli/flags.ts";
import type { RequestInfo, Store } from "../store/store.ts";
import { empty, textError } from "./errors.ts";
import { checkStoreCapacity, type SeriesBound } from "./limits.ts";
import type { PushLimits } from "./limits.ts";
import type { SelfMetrics } from "./self_metrics.ts";
import { errorStack } from "../error_message.ts";

export interface PushDeps {
  readonly store: Store;
  readonly metrics: SelfMetrics;
  readonly logger: Logger;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly checkConsistency: boolean;
  readonly utf8Names: boolean;
  readonly maxBodyBytes: number;
  readonly limits: PushLimits;
  /** Shared by every push of this gateway (limits.ts). */
  readonly seriesBound: SeriesBound;
  /** `--web.read-timeout` of request bodies, shared (limits.ts). */
  readonly readDeadlines: ReadDeadline;
  /** Prepares large bodies on another thread; inline when absent. */
  readonly pushWorker?: PushWorker | undefined;
  /** Bodies from this size on go to `pushWorker` (default WORKER_MIN_BYTES). */
  readonly pushWorkerMinBytes?: number;
}

export interface PushRequest {
  readonly request: Request;
  /** The percent-decoded path after `/metrics/`: `job/<job>/…`. */
  readonly keyPath: string;
  readonly remoteAddr: string | null;
}

/** Handles one push or delete. Never throws for expected failures. */
export async function handlePush(
  push: PushRequest,
  deps: PushDeps,
): Promise<Response> {
  const started = performance.now();
  const { request } = push;
  const method = request.method as "PUT" | "POST" | "DELETE";
  const handler = method === "DELETE" ? "delete" : "push";
  const time = deps.now() / 1000;
  const info: RequestInfo = {
    path: new URL(request.url).pathname,
    contentType: request.headers.get("content-type"),
    bodyBytes: 0,
    remoteAddr: push.remoteAddr,
    userAgent: request.headers.get("user-agent"),
  };
  let key: GroupingKey | undefined;
  let response: Response;
  let bodyBytes = 0;
  /** Gives back this push's share of the large-push budget. */
  let release: (() => void) | undefined;
  try {
    key = parseGroupingKey(push.keyPath, { utf8Names: deps.utf8Names });
    if (!key) {
      throw new Error("handlePush called for a path that is not a push route");
    }
    if (method === "DELETE") {
      await request.body?.cancel(); // a DELETE body is ignored
      // In arrival order, also behind a large push being written.
      await deps.store.enqueueDelete(key, time, info);
      response = empty(202);
    } else {
      const raw = await readRequestBody(
        request,
        deps.maxBodyBytes,
        deps.readDeadlines,
      );
      bodyBytes = raw.length;
      const body = await decompressBody(
        raw,
        request.headers.get("content-encoding"),
        {
          maxBytes: deps.maxBodyBytes,
        },
      );
      const ttl = parseTtlHeader(request.headers.get(TTL_HEADER));
      const input: PushBody = {
        body,
        contentType: info.contentType,
        key,
        utf8Names: deps.utf8Names,
        limits: deps.limits,
      };
      // Large bodies are decoded on the worker only, within the budget of
      // large pushes; small ones inline, never waiting behind large ones.
      const large = deps.pushWorker !== undefined &&
        body.length >= (deps.pushWorkerMinBytes ?? WORKER_MIN_BYTES);
      release = large
        ? await deps.pushWorker?.budget.admit(body.length)
        : undefined;
      const fromWorker = large ? await prepareOnWorker(input, deps) : undefined;
      const sanitized = fromWorker ?? preparePush(input, false);
      // Against the view as it is now; pushes queued for the same commit may
      // overshoot the limit by at most their own series (README "Limits").
      checkStoreCapacity(
        deps.store.view,
        {
          key,
          families: sanitized.families,
          replaceAll: method === "PUT",
        },
        deps.limits.maxSeries,
        deps.seriesBound,
      );
      const outcome = await deps.store.enqueuePush({
        method,
        key,
        families: sanitized.families,
        problems: sanitized.problems,
        seriesCount: sanitized.seriesCount,
        ...(sanitized.prepared === undefined
          ? {}
          : { prepared: sanitized.prepared }),
        checkConsistency: deps.checkConsistency,
        time,
        request: { ...info, bodyBytes },
        ...(ttl === undefined ? {} : { ttl }),
      });
      if (outcome.error !== undefined) {
        deps.logger.debug("push refused", {
          group: key.id,
          err: outcome.error,
        });
      }
      response = outcome.error !== undefined && outcome.status === 400
        ? textError(400, outcome.error)
        : empty(outcome.status);
    }
  } catch (error) {
    response = refused(error, deps, method, key, time, { ...info, bodyBytes });
  } finally {
    release?.();
  }
  deps.metrics.countRequest(handler, method, response.status);
  if (method !== "DELETE") {
    deps.metrics.observePush(
      method,
      (performance.now() - started) / 1000,
      approximateRequestSize(request, bodyBytes),
    );
  }
  return response;
}

/**
 * The push prepared on the worker, counted in
 * `pushvault_pushes_prepared_on_worker_total` when the worker decoded it
 * (refused or not); undefined where no worker can run.
 */
async function prepareOnWorker(
  input: PushBody,
  deps: PushDeps,
): Promise<ReadyPush | undefined> {
  try {
    const ready = await deps.pushWorker?.prepare(input);
    if (ready !== undefined) deps.metrics.preparedOnWorker++;
    return ready;
  } catch (error) {
    if (!(error instanceof PushError && error.kind === "unavailable")) {
      deps.metrics.preparedOnWorker++;
    }
    throw error;
  }
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

/** A pusher's own TTL for its group (Pushvault's addition, README "Expiry"). */
export const TTL_HEADER = "Pushvault-TTL";
const TTL_MIN_SECONDS = 1;
const TTL_MAX_SECONDS = 366 * 86_400;

/** undefined: no header; null: `0`, back to the --group.ttl default; else seconds. */
export function parseTtlHeader(
  value: string | null,
): number | null | undefined {
  if (value === null) return undefined;
  const ms = parseDuration(value.trim());
  if (ms === 0) return null;
  const seconds = ms === undefined ? NaN : ms / 1000;
  if (!(seconds >= TTL_MIN_SECONDS && seconds <= TTL_MAX_SECONDS)) {
    throw new PushError(
      "invalid",
      `invalid ${TTL_HEADER} header ${
        JSON.stringify(value)
      }: expected a duration from 1s to 366d, like 90m or 7d, or 0 for the --group.ttl default`,
    );
  }
  return seconds;
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
