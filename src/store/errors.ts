/**
 * How the store tells SQLite's errors apart, and the error a push gets
 * when the database cannot be written (docs/compatibility.md, Error
 * responses).
 * @module
 */

import { errorMessage } from "../error_message.ts";
import { PushError } from "../push/push_error.ts";

/** SQLITE_BUSY: another connection holds the write lock. */
export function isBusy(error: unknown): boolean {
  if (!(error instanceof Error) || !("errcode" in error)) return false;
  return typeof error.errcode === "number" && (error.errcode & 0xff) === 5;
}

/**
 * A full disk (SQLITE_FULL) or an I/O error (SQLITE_IOERR, which is what a
 * -shm file that cannot grow gives): the file may be read, not written.
 * `exec()` errors carry no code, so their message is checked too.
 */
export function isOutOfRoom(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = "errcode" in error ? error.errcode : undefined;
  if (typeof code === "number") {
    return (code & 0xff) === 13 || (code & 0xff) === 10;
  }
  return /^(database or disk is full|disk I\/O error)$/.test(error.message);
}

export function unavailable(error: unknown): PushError {
  return new PushError(
    "unavailable",
    `the database cannot be written, nothing was changed: ${
      errorMessage(error)
    }`,
    { cause: error },
  );
}
