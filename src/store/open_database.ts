/**
 * Opening the database file: refusing what is not ours or is damaged, the
 * connection's settings, the forward-only migrations (with a copy of the old
 * file first), and the errors that stop a start with a message naming the
 * file and what to do. Used by the store's constructor only.
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { errorMessage } from "../error_message.ts";
import { BackgroundIntegrityCheck, checkIntegrityNow } from "./integrity.ts";
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from "./schema.ts";
import type { Migration } from "./schema.ts";

/** `--storage.sync`: survive a killed process (normal) or power loss too (full). */
export type SyncMode = "normal" | "full";

/** How long a write waits for the write lock before it fails. */
export const BUSY_TIMEOUT_MS = 2000;

/** A database that is not ours, or cannot be opened: start-up must stop. */
export class StoreOpenError extends Error {
  override name = "StoreOpenError";
}

const SQLITE_HEADER = "SQLite format 3\0";

/** Refuses to open a non-empty file that is not a SQLite database. */
export function refuseForeignFile(path: string): void {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new StoreOpenError(
      `cannot read database ${JSON.stringify(path)} (--persistence.file): ${
        errorMessage(error)
      }`,
    );
  }
  try {
    const header = new Uint8Array(16);
    const n = file.readSync(header) ?? 0;
    if (n === 0) return; // an empty file becomes a new database
    if (new TextDecoder().decode(header.subarray(0, n)) !== SQLITE_HEADER) {
      throw new StoreOpenError(
        `${
          JSON.stringify(path)
        } (--persistence.file) is not a Pushvault database ` +
          `(not SQLite; a Pushgateway snapshot or a damaged file?). It was left untouched; ` +
          `point --persistence.file at a new path, or use \`pushvault import\` to copy a running Pushgateway.`,
      );
    }
  } finally {
    file.close();
  }
}

export function configure(
  db: DatabaseSync,
  sync: SyncMode,
  options: { readonly integrityCheck: boolean; readonly path: string },
): BackgroundIntegrityCheck | undefined {
  // Checks the file really is a readable database before changing anything.
  const appId =
    (db.prepare("PRAGMA application_id").get() as { application_id: number })
      .application_id;
  const version =
    (db.prepare("PRAGMA user_version").get() as { user_version: number })
      .user_version;
  const tables =
    (db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as {
      n: number;
    }).n;
  if (appId !== APPLICATION_ID && (tables > 0 || version > 0)) {
    throw new StoreOpenError(
      `database ${
        JSON.stringify(options.path)
      } (--persistence.file) is another program's SQLite database, not a Pushvault one (application_id ${appId}). It was left untouched; point --persistence.file at a new path.`,
    );
  }
  // Before anything is written: a damaged file must stay as it is, for
  // `sqlite3 .recover` or a backup to take over. A file that needs no change
  // here (already WAL, no migration) is checked on a worker while the view
  // loads, which writes nothing either; the caller waits for the answer.
  let checkInBackground = false;
  if (options.integrityCheck) {
    const mode =
      (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string })
        .journal_mode;
    checkInBackground = mode === "wal" && version === SCHEMA_VERSION &&
      appId === APPLICATION_ID;
    if (!checkInBackground) {
      const problems = checkIntegrityNow(db);
      if (problems.length > 0) throw damaged(options.path, problems);
    }
  }
  // WAL: readers (the sqlite3 shell) never block the writer, and a commit is
  // one sequential append.
  db.exec("PRAGMA journal_mode = WAL");
  // NORMAL in WAL survives a killed process; FULL also survives power loss.
  db.exec(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
  // A shell that writes may hold the lock briefly; wait rather than fail.
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Foreign keys stay documentation: enforcing them costs every insert and
  // retention deletes in dependency order anyway.
  db.exec("PRAGMA foreign_keys = OFF");
  // Each push of a group commit runs in a SAVEPOINT, whose sub-journal is a
  // temporary file unless temporary storage is memory: memory is cheaper.
  db.exec("PRAGMA temp_store = MEMORY");
  // Last: nothing after it may throw and leave the worker behind.
  return checkInBackground
    ? BackgroundIntegrityCheck.start(options.path)
    : undefined;
}

/** The error that refuses a database whose pages do not check out. */
export function damaged(
  path: string,
  problems: readonly string[],
): StoreOpenError {
  return new StoreOpenError(
    `database ${JSON.stringify(path)} (--persistence.file) is damaged: ${
      problems.join("; ")
    }. It was left untouched; restore it from a backup, or salvage it with \`sqlite3 ${path} .recover | sqlite3 new.db\` and start on the new file.`,
  );
}

/**
 * Writes the header's user_version back unchanged: SQLite opens a file it
 * may not write read-only without a word, and every push would then fail.
 */
export function probeWritable(db: DatabaseSync, path: string): void {
  const version =
    (db.prepare("PRAGMA user_version").get() as { user_version: number })
      .user_version;
  try {
    db.exec(`PRAGMA user_version = ${version}`);
  } catch (error) {
    throw new StoreOpenError(
      `database ${
        JSON.stringify(path)
      } (--persistence.file) cannot be written: ${
        errorMessage(error)
      }. Check that this user may write the file and its directory (SQLite keeps ${path}-wal and ${path}-shm next to it). The file was left untouched.`,
      { cause: error },
    );
  }
}

/** What to check for the SQLite errors people meet at start. */
export function hint(error: unknown): string {
  const code = error !== null && typeof error === "object" && "errcode" in error
    ? (error as { errcode: unknown }).errcode
    : undefined;
  switch (typeof code === "number" ? code & 0xff : undefined) {
    case 14: // SQLITE_CANTOPEN
      return " (check that this user may write the directory: SQLite creates the -wal and -shm files next to the database)";
    case 11: // SQLITE_CORRUPT
    case 26: // SQLITE_NOTADB
      return " (the file is damaged: restore it from a backup, or salvage it with `sqlite3 <file> .recover`)";
    case 8: // SQLITE_READONLY
      return " (the file is read-only for this user)";
    default:
      return "";
  }
}

/**
 * Brings the file to {@link SCHEMA_VERSION}, each migration in its own
 * transaction; `progress` hears a line now and then during a long one.
 */
export function migrate(
  db: DatabaseSync,
  path: string,
  progress: (message: string) => void = () => {},
): void {
  const version =
    (db.prepare("PRAGMA user_version").get() as { user_version: number })
      .user_version;
  if (version > SCHEMA_VERSION) {
    throw new StoreOpenError(
      `database ${
        JSON.stringify(path)
      } has schema version ${version}, newer than this ` +
        `Pushvault understands (${SCHEMA_VERSION}); run a newer Pushvault. It was left untouched.`,
    );
  }
  if (version > 0 && version < SCHEMA_VERSION && path !== ":memory:") {
    // Upgrades keep a consistent copy of the old file first (README
    // "Upgrade"): a migration that goes wrong must never cost data.
    const backup = backupPathBeforeMigration(path);
    try {
      Deno.removeSync(backup);
    } catch {
      // No earlier backup.
    }
    db.prepare("VACUUM INTO ?").run(backup);
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      const migration = MIGRATIONS[v] as Migration;
      if (typeof migration === "string") db.exec(migration);
      else migration(db, progress);
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
  compactAfterSchema6(db, { from: version, path, progress });
}

/**
 * Schema 6 rewrites every sample into rows a fifth of their size: most of
 * the file is free pages after it. One VACUUM then gives them back and
 * leaves the rows in key order, so that pushes append at the end of the
 * file as on a new one instead of filling scattered free pages (README
 * "Upgrade"). Its temporary copy goes to a file, not memory: the database
 * may be larger than memory. Skipped where little is free.
 */
function compactAfterSchema6(
  db: DatabaseSync,
  options: {
    readonly from: number;
    readonly path: string;
    readonly progress: (message: string) => void;
  },
): void {
  if (options.from === 0 || options.from >= 6 || options.path === ":memory:") {
    return;
  }
  const pages =
    (db.prepare("PRAGMA page_count").get() as { page_count: number })
      .page_count;
  const free =
    (db.prepare("PRAGMA freelist_count").get() as { freelist_count: number })
      .freelist_count;
  if (free * 2 < pages) return;
  options.progress(
    `schema 6: compacting the file, ${free} of its ${pages} pages are free`,
  );
  db.exec("PRAGMA temp_store = FILE");
  try {
    db.exec("VACUUM");
  } finally {
    db.exec("PRAGMA temp_store = MEMORY");
  }
}

/** `pv.db` → `pv.db.pre-v2.bak`: the copy taken before migrating to v2. */
export function backupPathBeforeMigration(path: string): string {
  return `${path}.pre-v${SCHEMA_VERSION}.bak`;
}
