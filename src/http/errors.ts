/**
 * Expected errors → Response, in one place (style §5). Error bodies look like
 * Go's `http.Error`: plain text, `nosniff`, message plus newline (spec §1.5).
 * @module
 */

import { PushError, STATUS_FOR } from "../push/push_error.ts";
import { ExpositionError } from "../exposition/model.ts";

/** A plain-text error response as Go's http.Error writes it. */
export function textError(
  status: number,
  message: string,
  headers: HeadersInit = {},
): Response {
  const h = new Headers(headers);
  h.set("Content-Type", "text/plain; charset=utf-8");
  h.set("X-Content-Type-Options", "nosniff");
  return new Response(`${message}\n`, { status, headers: h });
}

/** The status and message an expected error answers with; undefined for bugs. */
export function statusOf(
  error: unknown,
): { status: number; message: string } | undefined {
  if (error instanceof PushError) {
    return { status: STATUS_FOR[error.kind], message: error.message };
  }
  if (error instanceof ExpositionError) {
    return { status: 400, message: error.message };
  }
  if (error instanceof Error && error.name === "DecompressionError") {
    return { status: 400, message: error.message };
  }
  if (error instanceof Error && error.name === "BodyTooLargeError") {
    return { status: 413, message: error.message };
  }
  return undefined;
}

export const NOT_FOUND = "404 page not found";

export function notFound(): Response {
  return textError(404, NOT_FOUND);
}

export function methodNotAllowed(allow: string): Response {
  return textError(405, "Method Not Allowed", { Allow: allow });
}

/** Success with an empty body and no Content-Type (spec §1.5). */
export function empty(status: number): Response {
  return new Response(null, { status });
}
