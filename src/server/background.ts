/**
 * The jobs that run beside the server once it listens: assembling the view,
 * retrying a database that cannot be written, watching for Litestream, WAL
 * checkpoints.
 * @module
 */

import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";

/** How often a database that cannot be written is tried again (docs/operations.md, "Disk full"). */
const WRITE_RETRY_MS = 5000;

/** Starts them; resolves once the view is assembled (or failed to be). */
export function startBackgroundJobs(
  store: Store,
  logger: Logger,
): Promise<void> {
  const listening = performance.now();
  const assembled = Promise.withResolvers<void>();
  store.startBackgroundIndexing((view) => {
    const ms = Math.round(performance.now() - listening);
    if ("error" in view) {
      logger.error("reading the stored families failed", { ...view, ms });
    } else {
      logger.info("view assembled", { ...view, ms });
    }
    assembled.resolve();
  });
  store.startWriteRetries(
    WRITE_RETRY_MS,
    () =>
      logger.info("database can be written again; pushes are accepted", {
        file: store.path,
      }),
  );
  store.watchLitestream(() =>
    logger.info(
      "Litestream replicates this database; WAL checkpoints stay PASSIVE and Litestream restarts the WAL",
      { file: store.path },
    )
  );
  // After the listeners: starting the worker takes a few tens of ms.
  store.startBackgroundCheckpoints((message, event) => {
    const { type: _, ...fields } = event;
    // Litestream holds a read transaction between its own checkpoints.
    const quiet = event.type === "resumed" || event.type === "released" ||
      (event.type === "held" && store.litestream);
    logger[quiet ? "info" : "warn"](message, { file: store.path, ...fields });
  });
  return assembled.promise;
}
