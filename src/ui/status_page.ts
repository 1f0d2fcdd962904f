/**
 * The web UI page (docs/compatibility.md, Web UI): the shell with its two tabs,
 * Metrics (`/` and a group's own page, their content from group_cards.ts) and
 * Status (`/status`: start time, build information, startup flags).
 * Server-rendered through the escaping `html` tag, readable without JavaScript;
 * the script (assets.ts) adds fetching a group's body when it is opened,
 * expand/collapse memory, the delete buttons and the live filter.
 *
 * Pure: everything comes in as `PageInput`. Every URL in the page is relative
 * (`static/…`, `status`, `metrics/job@base64/…`), so the page works under any
 * route prefix and behind a proxy that rewrites the path.
 * @module
 */

import { formatDuration, formatTime } from "./format.ts";
import type { Html } from "./html.ts";
import { html } from "./html.ts";

export type Tab = "metrics" | "status";

export interface PageInput {
  readonly tab: Tab;
  /** The Metrics tab's content (group_cards.ts); unused on the Status tab. */
  readonly metrics: Html;
  /** Unix seconds. */
  readonly now: number;
  /** Unix seconds. */
  readonly startTime: number;
  readonly flags: Readonly<Record<string, string>>;
  readonly buildInfo: Readonly<Record<string, string>>;
  /** Extra rows for "Runtime information" (database, counts). */
  readonly runtime: readonly (readonly [string, string])[];
  readonly version: string;
  /** Appended to asset URLs so a new build is not served from cache. */
  readonly assetVersion: string;
  /** The scrape path, e.g. `/metrics` (linked relatively). */
  readonly telemetryPath: string;
}

/** The whole HTML document for `/`, `/group` or `/status`. */
export function renderStatusPage(input: PageInput): string {
  const v = encodeURIComponent(input.assetVersion);
  const body = input.tab === "metrics" ? input.metrics : statusTab(input);
  return html`
    <!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex,nofollow">
        <title>${input.tab === "metrics"
          ? "Metrics"
          : "Status"} · Pushvault</title>
        <link rel="icon" type="image/svg+xml"
          href="static/favicon.svg?v=${v}">
        <link rel="stylesheet" href="static/pushvault.css?v=${v}">
        <script src="static/pushvault.js?v=${v}" defer></script>
      </head>
      <body data-tab="${input.tab}">
        <header class="topbar">
          <a class="brand"
            href="./"><img src="static/favicon.svg?v=${v}" alt="" width="22" height="22">Pushvault</a>
          <nav class="tabs" aria-label="Sections">
        ${tabLink("./", "Metrics", input.tab === "metrics")}
        ${tabLink("status", "Status", input.tab === "status")}
        <a class="tab" href="${input.telemetryPath.slice(1)}">Scrape output</a>
      </nav>
          <span class="version" title="Pushvault version">v${input
            .version}</span>
        </header>
        <main class="page">
    ${body}
        </main>
      </body>
    </html>
  `.text;
}

function tabLink(href: string, label: string, current: boolean): Html {
  return current
    ? html`
      <a class="tab tab-current" href="${href}"
        aria-current="page">${label}</a>
    `
    : html`<a class="tab" href="${href}">${label}</a>`;
}

function statusTab(input: PageInput): Html {
  const started = formatTime(input.startTime);
  const flags = Object.entries(input.flags).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0
  );
  const build = Object.entries(input.buildInfo).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0
  );
  return html`<section class="panel">
  <h2>Runtime information</h2>
  <table class="kv">
    <tr><th scope="row">Started</th><td><time datetime="${started}">${started}</time> <span class="age">(up ${
    formatDuration(input.now - input.startTime)
  })</span></td></tr>
    ${input.runtime.map(([k, value]) => kvRow(k, value))}
  </table>
</section>
<section class="panel">
  <h2>Build information</h2>
  <table class="kv">${build.map(([k, value]) => kvRow(k, value))}</table>
</section>
<section class="panel">
  <h2>Startup flags</h2>
  ${
    flags.length === 0
      ? html`<p class="muted">No flags recorded.</p>`
      : html`<table class="kv kv-code">${
        flags.map(([k, value]) => kvRow(k, value))
      }</table>`
  }
</section>`;
}

function kvRow(key: string, value: string): Html {
  return html`
    <tr>
      <th scope="row">${key}</th>
      <td>${value === "" ? html`<span class="muted">""</span>` : value}</td>
    </tr>
  `;
}
