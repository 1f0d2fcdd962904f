/**
 * The status pages and their assets, loaded by the first request for one:
 * the UI's modules (templates, embedded script, style sheet and icon) hold
 * about 10 MB of an idle server that nobody looks at, which a server only
 * scraped and pushed to never pays for.
 * @module
 */

import type { UiDeps } from "./ui.ts";
import type { GroupScope } from "../push/group_scope.ts";

type Ui = typeof import("./ui.ts");

let ui: Ui | undefined;

async function loadUi(): Promise<Ui> {
  ui ??= await import("./ui.ts");
  return ui;
}

/** `/`, `/status` and `/group` (ui.ts handlePage). */
export async function handlePage(
  request: Request,
  rel: string,
  deps: UiDeps,
  scope?: GroupScope,
): Promise<Response> {
  return await (ui ?? await loadUi()).handlePage(request, rel, deps, scope);
}

/** `/static/…` and `/favicon.ico` (ui.ts handleAsset). */
export function handleAsset(
  request: Request,
  rel: string,
): Response | Promise<Response> {
  if (ui !== undefined) return ui.handleAsset(request, rel);
  return loadUi().then((loaded) => loaded.handleAsset(request, rel));
}
