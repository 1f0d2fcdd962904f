/**
 * Stopping: refuse new requests, let those in flight finish (for at most
 * {@link SHUTDOWN_GRACE_MS}), stop the servers, then release the rest.
 * @module
 */

import type { Logger } from "../log.ts";
import type { InFlight } from "./in_flight.ts";
import type { Listener } from "./listeners.ts";

/** How long a stop waits for requests in flight before closing connections. */
export const SHUTDOWN_GRACE_MS = 30_000;

export interface StopParts {
  readonly logger: Logger;
  readonly servers: readonly Listener[];
  readonly inFlight: InFlight;
  /** Closes the Deno.serve servers at once. */
  readonly abort: AbortController;
  /** First, before draining: stop watching the web configuration. */
  readonly stopWatching: () => void;
  /** Last, once no request is left: workers, maintenance, the database. */
  readonly release: () => Promise<void>;
}

export async function stop(parts: StopParts): Promise<void> {
  const { logger, servers, inFlight, abort } = parts;
  logger.info("shutting down");
  parts.stopWatching();
  // Let requests in flight finish, then stop the servers; past the
  // grace period close what is left (the pushes it cuts were not
  // answered). Requests are drained *before* Deno.serve's shutdown():
  // on Deno 2.9 it makes the bodies of requests in flight unreadable
  // (a Deno bug), which would fail a push half-uploaded.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), SHUTDOWN_GRACE_MS);
  });
  const drained = inFlight.drain().then(() =>
    Promise.allSettled(servers.map((s) => s.shutdown()))
  );
  if (await Promise.race([drained, grace]) === "late") {
    logger.warn(
      "requests still in flight after the grace period; closing them",
      { graceSeconds: SHUTDOWN_GRACE_MS / 1000 },
    );
    abort.abort();
    for (const server of servers) server.abort();
    await drained;
  }
  clearTimeout(timer);
  await parts.release();
}
