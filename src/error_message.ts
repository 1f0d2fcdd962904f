/** The message of a thrown value, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** For a log of what went wrong unexpectedly: the stack where there is one. */
export function errorStack(error: unknown): string {
  return error instanceof Error ? error.stack ?? error.message : String(error);
}
