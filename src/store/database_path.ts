/**
 * What is wrong with a `--persistence.file` path before SQLite sees it:
 * SQLite says `unable to open database file` for a missing and for an
 * unwritable directory alike, and a directory given as the file fails with
 * a bare `Is a directory`. Each case gets its own message here, naming the
 * path, the flag and the fix. Reads file metadata only; never creates,
 * writes or opens anything.
 * @module
 */

import { parentDirectory, resolvePath } from "../posix_path.ts";
import { errorMessage } from "../error_message.ts";

/** Thrown for a path that cannot hold the database; start-up must stop. */
export class DatabasePathError extends Error {
  override name = "DatabasePathError";
}

/** File metadata or undefined where nothing exists; Deno.statSync by default. */
export type Stat = (path: string) => Deno.FileInfo | undefined;

function statOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof Deno.errors.NotADirectory) return undefined;
    throw error;
  }
}

/**
 * Throws DatabasePathError when `path` is a directory, or its directory is
 * missing or not a directory. Does not check permissions: those are known
 * only by trying (see {@link unwritableDirectory}).
 */
export function checkDatabasePath(
  path: string,
  stat: Stat = statOrUndefined,
): void {
  const quoted = JSON.stringify(path);
  let info: Deno.FileInfo | undefined;
  try {
    info = stat(path);
  } catch (error) {
    // Without --allow-read (the bundle's permissions), or a directory we may
    // not search: say which file could not be read, and why.
    throw new DatabasePathError(
      `cannot read database ${quoted} (--persistence.file): ${
        errorMessage(error)
      }`,
      { cause: error },
    );
  }
  if (info?.isDirectory) {
    throw new DatabasePathError(
      `--persistence.file ${quoted} is a directory, not a database file: ` +
        `name a file in it, e.g. --persistence.file=${
          resolvePath(path, "pushvault.db")
        }`,
    );
  }
  if (info !== undefined) return;
  // The nearest ancestor that exists says which fix applies.
  const dir = parentDirectory(resolvePath(path));
  for (let ancestor = dir, depth = 0; depth < 256; depth++) {
    const found = stat(ancestor);
    if (found !== undefined) {
      if (!found.isDirectory) {
        throw new DatabasePathError(
          `--persistence.file ${quoted} cannot be created: ${
            JSON.stringify(ancestor)
          } is a file, not a directory. Point --persistence.file at a path in a directory.`,
        );
      }
      if (ancestor !== dir) {
        throw new DatabasePathError(
          `--persistence.file ${quoted} cannot be created: its directory ${
            JSON.stringify(dir)
          } does not exist. Create it (mkdir -p ${
            JSON.stringify(dir)
          }) or point --persistence.file at an existing directory.`,
        );
      }
      return;
    }
    const parent = parentDirectory(ancestor);
    if (parent === ancestor) return;
    ancestor = parent;
  }
}

/**
 * The message for a directory this user may not create files in: SQLite
 * needs `<file>-wal`, `<file>-shm` and Pushvault `<file>.lock` beside the
 * database. `error` is what creating one of them threw.
 */
export function unwritableDirectory(
  path: string,
  error: unknown,
): DatabasePathError {
  const dir = parentDirectory(resolvePath(path));
  return new DatabasePathError(
    `--persistence.file ${JSON.stringify(path)} cannot be used: ${
      errorMessage(error)
    } in its directory ${
      JSON.stringify(dir)
    }. This user must be able to create files there (SQLite keeps ${path}-wal and ${path}-shm, Pushvault ${path}.lock, next to the database): ` +
      `give it write permission (chown or chmod the directory) or point --persistence.file at a directory it owns.`,
    { cause: error },
  );
}
