/**
 * Opening the database at start-up, with what the log says about it.
 * @module
 */

import type { Config } from "../cli/flags.ts";
import { OWN_FAMILIES } from "../http/self_metrics.ts";
import type { Logger } from "../log.ts";
import { Store } from "../store/store.ts";

/**
 * The store of `--persistence.file`; `onOutOfRoom` is called when a write
 * fails for lack of room (to prune now, not at the next run).
 */
export function openStore(
  config: Config,
  options: { readonly maxPageCount?: number },
  logger: Logger,
  onOutOfRoom: () => void,
): Store {
  const store = new Store({
    path: config.persistence.file,
    sync: config.storage.sync,
    ownFamilies: OWN_FAMILIES,
    integrityCheck: config.storage.integrityCheck,
    keepHistory: config.history.retentionSeconds > 0,
    onMigrationProgress: (message) =>
      logger.info("migrating the database", {
        file: config.persistence.file,
        progress: message,
      }),
    onOutOfRoom,
    ...(options.maxPageCount === undefined
      ? {}
      : { maxPageCount: options.maxPageCount }),
  });
  // Not store.view: that would read every family into the view now, which
  // start-up leaves until after the server is ready (Store.#assemble).
  logger.info("database open", {
    file: store.path,
    groups: store.loadedGroups,
    sync: config.storage.sync,
  });
  if (!store.writable) {
    logger.warn(
      "database cannot be written; serving scrapes and the UI from it, pushes answer 503 until there is room",
      { file: store.path, err: store.readOnlyReason },
    );
  }
  if (config.web.systemdSocket) {
    store.close();
    throw new Error(
      "--web.systemd-socket is not supported: Deno cannot adopt an inherited listening socket; use --web.listen-address",
    );
  }
  return store;
}
