/**
 * Every error response, in one place. An expected failure carries a `kind`
 * (push/push_error.ts), which gives its status; {@link errorResponse}
 * writes it in one of two shapes: `text` as Go's `http.Error` writes it
 * (plain text, `nosniff`, message plus newline), `api` as the JSON API's
 * `{"status":"error","errorType":…,"error":…}` (docs/compatibility.md,
 * Error responses).
 * @module
 */

import {
  API_ERROR_TYPE,
  expectedError,
  STATUS_FOR,
} from "../push/push_error.ts";
import { API_HEADERS } from "./api.ts";
import { goJson, struct } from "./go_json.ts";
import { describeScope, type GroupScope } from "../push/group_scope.ts";

/** The shape of an error body: Go's `http.Error`, or the JSON API's. */
export type ErrorFormat = "text" | "api";

/**
 * The response to an expected failure (any error with a `kind`); undefined
 * for anything else, which is a bug for the caller to log and answer 500.
 */
export function errorResponse(
  error: unknown,
  format: ErrorFormat,
  headers: HeadersInit = {},
): Response | undefined {
  const expected = expectedError(error);
  if (expected === undefined) return undefined;
  const status = STATUS_FOR[expected.kind];
  if (format === "text") return textError(status, expected.message, headers);
  const h = new Headers(API_HEADERS);
  new Headers(headers).forEach((value, name) => h.set(name, value));
  h.set("Content-Type", "application/json");
  return new Response(
    goJson(
      struct({
        status: "error",
        errorType: API_ERROR_TYPE[expected.kind],
        error: expected.message,
      }),
    ),
    { status, headers: h },
  );
}

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

export const NOT_FOUND = "404 page not found";

export function notFound(): Response {
  return textError(404, NOT_FOUND);
}

export function methodNotAllowed(allow: string): Response {
  return textError(405, "Method Not Allowed", { Allow: allow });
}

/**
 * 403 for a request a scope limited by selectors does not reach
 * (docs/security.md, Scopes); `detail` says what it would need.
 */
export function outOfScope(scope: GroupScope, detail: string): Response {
  return textError(
    403,
    `Forbidden: user ${JSON.stringify(scope.user)} has only ${
      describeScope(scope)
    }: ${detail} (basic_auth_scopes in --web.config.file)`,
  );
}

/** Success with an empty body and no Content-Type. */
export function empty(status: number): Response {
  return new Response(null, { status });
}
