/**
 * Opening the store's file: the writer lock, the connection and its
 * settings, the integrity check, the migration, the statements, and the
 * groups read into a new view; a full disk at start leaves the file served
 * read-only (docs/operations.md, "Disk full"). Anything else that fails closes what was
 * opened and throws StoreOpenError, naming the file (docs/operations.md).
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { OwnFamily } from "../push/consistency.ts";
import { errorMessage } from "../error_message.ts";
import { isOutOfRoom } from "./errors.ts";
import { checkIntegrityNow } from "./integrity.ts";
import type { BackgroundIntegrityCheck } from "./integrity.ts";
import { loadGroups, type PendingFamilies } from "./loading.ts";
import {
  configure,
  damaged,
  hint,
  migrate,
  probeWritable,
  refuseForeignFile,
  StoreOpenError,
  type SyncMode,
} from "./open_database.ts";
import {
  newWriter,
  prepareStatements,
  type Statements,
  type Writer,
} from "./statements.ts";
import type { StoreOptions } from "./store_types.ts";
import { View } from "./view.ts";
import { WriterLock } from "./writer_lock.ts";
import type { ReadOnly } from "./read_only.ts";

/** What {@link openStore} opened, for the store to hold. */
export interface OpenedStore {
  /** The file, or ":memory:". */
  readonly path: string;
  readonly sync: SyncMode;
  /** Held from before the file is opened until the store closes. */
  readonly lock: WriterLock | undefined;
  readonly db: DatabaseSync;
  readonly stmt: Statements;
  /** The store's connection as the write helpers take it. */
  readonly main: Writer;
  readonly ownFamilies: ReadonlyMap<string, OwnFamily>;
  /** The groups read; their families are still to be read (`pending`). */
  readonly view: View;
  readonly pending: PendingFamilies | undefined;
  /** Set when the file cannot be written (a full disk). */
  readonly readOnly: ReadOnly | undefined;
  /** The max_page_count set, when the options set one. */
  readonly maxPageCount: number | undefined;
}

/** Opens the store's file as `options` say; see the module's comment. */
export function openStore(options: StoreOptions): OpenedStore {
  const path = options.path === "" ? ":memory:" : options.path;
  const sync = options.sync ?? "normal";
  // One writer per file, and a path that can hold one (a missing or
  // unwritable directory, a directory given as the file): refused before
  // the file is read.
  const lock = path === ":memory:" ? undefined : WriterLock.take(path);
  let db: DatabaseSync;
  try {
    if (path !== ":memory:") refuseForeignFile(path);
    db = new DatabaseSync(path);
  } catch (error) {
    lock?.abandon();
    if (error instanceof StoreOpenError) throw error; // names the file
    throw new StoreOpenError(
      `cannot open database ${JSON.stringify(path)} (--persistence.file): ${
        errorMessage(error)
      }`,
      { cause: error },
    );
  }
  const ownFamilies = options.ownFamilies ?? new Map();
  let readOnly: ReadOnly | undefined;
  let maxPageCount: number | undefined;
  let check: BackgroundIntegrityCheck | undefined;
  const integrityCheck = (options.integrityCheck ?? false) &&
    path !== ":memory:";
  try {
    try {
      check = configure(db, sync, { integrityCheck, path });
    } catch (error) {
      if (path === ":memory:" || !isOutOfRoom(error)) throw error;
      // After a crash on a full disk SQLite cannot grow the -shm file
      // (its WAL index) and every read fails with "disk I/O error". In
      // exclusive locking mode the index lives in this process's memory
      // instead: the file, its WAL included, is read as it is; until
      // writes work, other processes cannot open it (docs/operations.md, "Disk full").
      db.close();
      db = new DatabaseSync(path);
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      configure(db, sync, { integrityCheck: false, path });
      if (integrityCheck) {
        const problems = checkIntegrityNow(db);
        if (problems.length > 0) throw damaged(path, problems);
      }
      readOnly = { reason: errorMessage(error), exclusive: true, nextTry: 0 };
    }
    migrate(db, path, options.onMigrationProgress);
    if (options.maxPageCount !== undefined) {
      db.exec(`PRAGMA max_page_count = ${options.maxPageCount}`);
      maxPageCount = options.maxPageCount;
    }
    const stmt = prepareStatements(db);
    const main = newWriter(db, stmt);
    const view = new View(ownFamilies);
    let pending: PendingFamilies | undefined;
    let loadError: { error: unknown } | undefined;
    try {
      pending = loadGroups(stmt, view);
    } catch (error) {
      loadError = { error }; // a damaged file explains itself better
    }
    if (check) {
      const problems = check.wait() ?? checkIntegrityNow(db);
      check = undefined;
      if (problems.length > 0) throw damaged(path, problems);
    }
    if (loadError) throw loadError.error;
    // The first write: after the integrity check. A full disk does not
    // stop the start: the file is served read-only until there is room.
    if (path !== ":memory:" && readOnly === undefined) {
      try {
        probeWritable(db, path);
      } catch (error) {
        const cause = error instanceof Error ? error.cause : undefined;
        if (!isOutOfRoom(cause)) throw error;
        readOnly = {
          reason: errorMessage(cause),
          exclusive: false,
          nextTry: 0,
        };
      }
    }
    return {
      path,
      sync,
      lock,
      db,
      stmt,
      main,
      ownFamilies,
      view,
      pending,
      readOnly,
      maxPageCount,
    };
  } catch (error) {
    check?.cancel();
    if (db.isOpen) db.close();
    lock?.abandon();
    if (error instanceof StoreOpenError) throw error; // names the file already
    throw new StoreOpenError(
      `cannot use database ${JSON.stringify(path)} (--persistence.file): ${
        errorMessage(error)
      }${hint(error)}. The file was left untouched.`,
      { cause: error },
    );
  }
}
