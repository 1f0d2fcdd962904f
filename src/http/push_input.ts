/**
 * A push request's body → the push pipeline's ready push (push/prepare_push.ts):
 * read within its limits, decompressed, then decoded, checked and sanitized
 * inline, or on the push worker when large. The body is read and decoded
 * fully before the store is called, so no `await` falls inside a
 * transaction.
 * @module
 */

import { BodyTooLargeError, decompressBody } from "../exposition/decompress.ts";
import type { ReadDeadline } from "./read_deadline.ts";
import { parseDuration } from "../duration.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import type { PushLimits } from "../push/limits.ts";
import {
  preparePush,
  type PushBody,
  type ReadyPush,
} from "../push/prepare_push.ts";
import { loadDecoderFor, needsDecoderLoaded } from "../push/decode.ts";
import { LimitError, PushError } from "../push/push_error.ts";
import { GAUGE_MODES, type GaugeMode } from "../push/aggregate.ts";
import { readRequestBody } from "./request_body.ts";
import { type PushWorker, WORKER_MIN_BYTES } from "../push/push_worker.ts";
import type { SelfMetrics } from "./self_metrics.ts";

/** What reading a push needs of the gateway. */
export interface PushInputDeps {
  readonly metrics: SelfMetrics;
  readonly utf8Names: boolean;
  readonly maxBodyBytes: number;
  readonly limits: PushLimits;
  /** `--web.read-timeout` of request bodies, shared (http/limits.ts). */
  readonly readDeadlines: ReadDeadline;
  /** Prepares large bodies on another thread; inline when absent. */
  readonly pushWorker?: PushWorker | undefined;
  /** Bodies from this size on go to `pushWorker` (default WORKER_MIN_BYTES). */
  readonly pushWorkerMinBytes?: number;
}

/**
 * What reading a push leaves for the handler, also when it throws: the
 * bytes received (for the history row) and the share of the large-push
 * budget to give back once the push is answered.
 */
export interface PushReading {
  bodyBytes: number;
  release: (() => void) | undefined;
}

export interface PushInput {
  readonly ready: ReadyPush;
  /** The `Pushvault-TTL` header (parseTtlHeader). */
  readonly ttl: number | null | undefined;
  /** An aggregating push's `Pushvault-Gauge` header (parseGaugeHeader). */
  readonly gauge?: GaugeMode;
}

/** Throws what the push is refused with (an error with a kind). */
export async function readPush(
  request: Request,
  key: GroupingKey,
  deps: PushInputDeps,
  reading: PushReading,
  aggregate = false,
): Promise<PushInput> {
  // An aggregating push is summed (a slice at a time when large) on the
  // thread that answers HTTP, so its body has a bound of its own (README,
  // "Aggregating groups").
  const maxBytes = aggregate
    ? Math.min(deps.maxBodyBytes, AGGREGATE_MAX_BODY_BYTES)
    : deps.maxBodyBytes;
  let body: Uint8Array;
  try {
    const raw = await readRequestBody(request, maxBytes, deps.readDeadlines);
    reading.bodyBytes = raw.length;
    body = await decompressBody(
      raw,
      request.headers.get("content-encoding"),
      { maxBytes },
    );
  } catch (error) {
    throw aggregate && maxBytes < deps.maxBodyBytes &&
        error instanceof BodyTooLargeError
      ? aggregateTooLarge()
      : error;
  }
  const ttl = parseTtlHeader(request.headers.get(TTL_HEADER));
  const gauge = aggregate
    ? parseGaugeHeader(request.headers.get(GAUGE_HEADER))
    : undefined;
  const input: PushBody = {
    body,
    contentType: request.headers.get("content-type"),
    key,
    utf8Names: deps.utf8Names,
    limits: deps.limits,
  };
  // Large bodies are decoded on the worker only, within the budget of
  // large pushes; small ones inline, never waiting behind large ones.
  // Aggregating pushes too: the store reads their metrics back from the
  // prepared rows, a slice at a time (push/prepared_family.ts).
  const large = deps.pushWorker !== undefined &&
    body.length >= (deps.pushWorkerMinBytes ?? WORKER_MIN_BYTES);
  if (large) reading.release = await deps.pushWorker?.budget.admit(body.length);
  const fromWorker = large ? await prepareOnWorker(input, deps) : undefined;
  if (fromWorker === undefined && needsDecoderLoaded(input.contentType)) {
    await loadDecoderFor(input.contentType);
  }
  const ready = fromWorker ?? preparePush(input, false);
  return { ready, ttl, ...(gauge === undefined ? {} : { gauge }) };
}

/**
 * The largest aggregating push, decompressed: a contribution is one run's
 * counts, and its sums are computed on the thread that answers HTTP.
 */
export const AGGREGATE_MAX_BODY_BYTES = 1024 * 1024;

function aggregateTooLarge(): LimitError {
  return new LimitError(
    "too_large",
    "body_too_large",
    `aggregating push body exceeds the limit of ${AGGREGATE_MAX_BODY_BYTES} bytes (1 MiB, decompressed) for a contribution to an aggregating group; split it into several pushes, or push it to a replacing group under /metrics/job/…`,
  );
}

/**
 * The push prepared on the worker, counted in
 * `pushvault_pushes_prepared_on_worker_total` when the worker decoded it
 * (refused or not); undefined where no worker can run.
 */
async function prepareOnWorker(
  input: PushBody,
  deps: PushInputDeps,
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

/** A pusher's own TTL for its group (Pushvault's addition, README "Headers"). */
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

/**
 * How an aggregating push's gauges meet the stored ones (README
 * "Aggregating groups"): `last` (the default), `sum`, `max` or `min`.
 */
export const GAUGE_HEADER = "Pushvault-Gauge";

/** The header's mode; absent: `last`. */
export function parseGaugeHeader(value: string | null): GaugeMode {
  if (value === null) return "last";
  const mode = value.trim().toLowerCase();
  if ((GAUGE_MODES as readonly string[]).includes(mode)) {
    return mode as GaugeMode;
  }
  throw new PushError(
    "invalid",
    `invalid ${GAUGE_HEADER} header ${
      JSON.stringify(value)
    }: expected last, sum, max or min`,
  );
}
