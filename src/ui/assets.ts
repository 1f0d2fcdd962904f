/**
 * The files under `static/` (docs/compatibility.md, Web UI): stylesheet, script
 * and icon, embedded as modules so a compiled binary needs no files beside it
 * and no CDN. Each carries a strong ETag derived from its content.
 * @module
 */

import { FAVICON_ICO } from "./favicon_ico.ts";
import { SCRIPT_JS } from "./script_js.ts";
import { STYLE_CSS } from "./style_css.ts";

export interface StaticAsset {
  readonly contentType: string;
  readonly body: string | Uint8Array<ArrayBuffer>;
  /** Quoted strong validator, e.g. `"pv-1a2b3c4d"`. */
  readonly etag: string;
}

const FAVICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#e6522c"/><path d="M16 5.5 8.5 13H13v6.5h6V13h4.5z" fill="#fff"/><rect x="8" y="22.5" width="16" height="4" rx="1.5" fill="#fff"/></svg>`;

/** File name under `static/` → asset. */
export const STATIC_ASSETS: ReadonlyMap<string, StaticAsset> = new Map(
  (
    [
      ["pushvault.css", "text/css; charset=utf-8", STYLE_CSS],
      ["pushvault.js", "application/javascript; charset=utf-8", SCRIPT_JS],
      ["favicon.svg", "image/svg+xml", FAVICON_SVG],
      // Also answers `/favicon.ico` (ui.ts), which browsers ask for on pages
      // that name no icon: the scrape output, the JSON API.
      ["favicon.ico", "image/x-icon", FAVICON_ICO],
    ] as const
  ).map(([name, contentType, body]) => [
    name,
    { contentType, body, etag: `"pv-${fnv1a(body)}"` },
  ]),
);

/**
 * FNV-1a over UTF-16 code units or bytes, as 8 hex digits: cheap, stable
 * per build.
 */
function fnv1a(content: string | Uint8Array): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < content.length; i++) {
    hash ^= typeof content === "string"
      ? content.charCodeAt(i)
      : content[i] as number;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** A version string for asset URLs (`?v=`): changes whenever any asset does. */
export const ASSET_VERSION = fnv1a(
  [...STATIC_ASSETS.values()].map((a) => a.etag).join(""),
);
