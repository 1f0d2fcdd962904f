/**
 * One writer per database file (docs/operations.md, "One writer per database"): an
 * exclusive advisory lock (flock) on the sidecar file `<db>.lock`, which
 * holds the PID of the process that has it. Taken before the database is
 * opened and held until the store closes; the kernel drops it when the
 * process ends in any way, `kill -9` included, so a stale file never blocks
 * a start. The database itself is never locked here: the `sqlite3` shell's
 * readers and the online backup do not see this lock at all.
 *
 * The lock file stays after a normal stop. Only a start that is refused
 * right away removes the file it created itself ({@link WriterLock.abandon}),
 * so that a refused start leaves the directory as it found it; a process
 * that locked a file just removed sees that its path now names another file
 * and tries again.
 * @module
 */

import {
  checkDatabasePath,
  DatabasePathError,
  unwritableDirectory,
} from "./database_path.ts";
import { errorMessage } from "../error_message.ts";

/** Another process holds the database; start-up must stop. */
export class DatabaseInUseError extends Error {
  override name = "DatabaseInUseError";
  /** The holder's PID as its lock file says, if it could be read. */
  readonly pid: number | undefined;
  constructor(message: string, pid: number | undefined) {
    super(message);
    this.pid = pid;
  }
}

/** `pv.db` → `pv.db.lock`. */
export function lockPathFor(dbPath: string): string {
  return `${dbPath}.lock`;
}

/** The lock, held until {@link WriterLock.release} or the process ends. */
export class WriterLock implements Disposable {
  readonly path: string;
  #file: Deno.FsFile | undefined;
  /** Whether this process created the lock file (see abandon()). */
  readonly #created: boolean;

  private constructor(path: string, file: Deno.FsFile, created: boolean) {
    this.path = path;
    this.#file = file;
    this.#created = created;
  }

  /**
   * Locks `<dbPath>.lock` and writes this PID into it. Throws
   * DatabaseInUseError, naming the file and the holder's PID, when another
   * process (or another store of this one) holds it; DatabasePathError for
   * a path that cannot hold a database (store/database_path.ts).
   */
  static take(dbPath: string): WriterLock {
    checkDatabasePath(dbPath);
    const path = lockPathFor(dbPath);
    // Bounded: each retry means another process removed the file meanwhile.
    for (let attempt = 0; attempt < 3; attempt++) {
      const lock = WriterLock.#tryTake(dbPath, path);
      if (lock !== undefined) return lock;
    }
    throw new DatabaseInUseError(
      `database ${JSON.stringify(dbPath)} (--persistence.file): its lock file ${
        JSON.stringify(path)
      } keeps being replaced by another process; stop the other Pushvault first.`,
      undefined,
    );
  }

  /** undefined when the locked file was removed from `path` meanwhile. */
  static #tryTake(dbPath: string, path: string): WriterLock | undefined {
    let created = true;
    let file: Deno.FsFile;
    try {
      try {
        file = Deno.openSync(path, {
          read: true,
          write: true,
          createNew: true,
        });
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        created = false;
        // Not truncated: until we hold the lock, the PID is the holder's.
        file = Deno.openSync(path, { read: true, write: true });
      }
    } catch (error) {
      // The first file created beside the database: SQLite would only say
      // "unable to open database file" later.
      if (isUnwritable(error)) throw unwritableDirectory(dbPath, error);
      // Without --allow-write (the bundle's permissions): the lock file is
      // the first thing written, so this is where a missing permission shows.
      if (error instanceof Deno.errors.NotCapable) {
        throw new DatabasePathError(
          `cannot open database ${
            JSON.stringify(dbPath)
          } (--persistence.file): ${errorMessage(error)}`,
          { cause: error },
        );
      }
      throw error;
    }
    try {
      if (!file.tryLockSync(true)) {
        const pid = readPid(file);
        throw new DatabaseInUseError(
          `database ${
            JSON.stringify(dbPath)
          } (--persistence.file) is in use by another process (${
            pid === undefined ? "PID unknown" : `PID ${pid}`
          }, from ${
            JSON.stringify(path)
          }): only one Pushvault, or one \`pushvault import\`, may write a database at a time. ` +
            `Stop that process first, or use another --persistence.file; to copy the data while it runs, take an online backup (README "Online backup").`,
          pid,
        );
      }
      if (!sameFile(file, path)) {
        file.close();
        return undefined;
      }
      file.truncateSync(0);
      file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
      return new WriterLock(path, file, created);
    } catch (error) {
      file.close(); // drops the lock too, if we had it
      throw error;
    }
  }

  /**
   * Throws as {@link WriterLock.take} would, without keeping the lock: for a
   * command that should be refused before it does any work.
   */
  static check(dbPath: string): void {
    WriterLock.take(dbPath).abandon();
  }

  /**
   * For a start refused right after the lock was taken: removes the lock
   * file if this process created it, then releases. Idempotent.
   */
  abandon(): void {
    if (this.#file !== undefined && this.#created) {
      try {
        Deno.removeSync(this.path);
      } catch {
        // Left behind, it is harmless: the next start takes it.
      }
    }
    this.release();
  }

  /** Unlocks; the file stays (see the module comment). Idempotent. */
  release(): void {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    try {
      file.unlockSync();
    } catch {
      // Closing below drops it anyway.
    }
    file.close();
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

function isUnwritable(error: unknown): boolean {
  return error instanceof Deno.errors.PermissionDenied ||
    (error instanceof Error && /\(os error 30\)/.test(error.message)); // EROFS
}

/** Whether `path` still names the file `file` has open. */
function sameFile(file: Deno.FsFile, path: string): boolean {
  try {
    const open = file.statSync();
    const named = Deno.statSync(path);
    return open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

function readPid(file: Deno.FsFile): number | undefined {
  try {
    const buffer = new Uint8Array(32);
    const n = file.readSync(buffer) ?? 0;
    const text = new TextDecoder().decode(buffer.subarray(0, n)).trim();
    return /^\d{1,10}$/.test(text) ? Number(text) : undefined;
  } catch {
    // The PID only helps the message; the refusal stands without it.
    return undefined;
  }
}
