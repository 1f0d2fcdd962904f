/**
 * The web UI routes (`/`, `/status`, `/static/*`), spec §9. Returns
 * undefined for paths that are not the UI's.
 * @module
 */

import type { HandlerDeps } from "./routes.ts";

export function handleUi(
  _request: Request,
  _rel: string,
  _deps: HandlerDeps,
): Response | undefined {
  return undefined;
}
