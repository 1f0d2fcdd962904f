/**
 * The web UI (`/`, `/group`, `/status`, `/static/*`, `/favicon.ico`), as
 * docs/compatibility.md describes it. Gathers what a page shows (a page of
 * groups, one group's families and recent pushes, flags, build info) and
 * hands it to the pure renderers in `ui/`. Methods and request counting
 * (`status` and `static` handlers) come from the route table in routes.ts.
 * @module
 */

import { isAggregatingGroup } from "../store/aggregate_writes.ts";
import { parseDuration } from "../duration.ts";
import { ASSET_VERSION, STATIC_ASSETS } from "../ui/assets.ts";
import {
  type CardFamily,
  type CardOptions,
  type GroupCardsInput,
  MAX_GROUP_ROWS,
  MAX_SERIES_ROWS,
  PAGE_GROUPS,
  PUSH_COUNT_LIMIT,
  renderGroupBody,
  renderGroupCards,
  renderGroupList,
  renderGroupPage,
  renderMissingGroup,
} from "../ui/group_cards.ts";
import { selectGroups } from "../ui/group_selection.ts";
import { type Html, html } from "../ui/html.ts";
import { formatBytes, formatTime } from "../ui/format.ts";
import { renderStatusPage } from "../ui/status_page.ts";
import type { Tab } from "../ui/status_page.ts";
import {
  BRANCH,
  BUILD_DATE,
  BUILD_USER,
  REVISION,
  VERSION,
} from "../version.ts";
import { notFound } from "./errors.ts";
import { compareNames } from "../exposition/sort.ts";
import { PUSH_FAILURE_TIME, PUSH_TIME } from "../push/validate.ts";
import { familyHead } from "../store/family_pages.ts";
import type { Store } from "../store/store.ts";
import type { GroupState } from "../store/view.ts";
import { readLitestreamSync } from "../store/litestream.ts";
import type { SelfMetrics } from "./self_metrics.ts";
import { type GroupScope, inScope } from "../push/group_scope.ts";

/** What the UI needs of the app's dependencies (routes.ts passes them all). */
export interface UiDeps {
  readonly store: Store;
  readonly metrics: SelfMetrics;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly enableAdminApi: boolean;
  readonly utf8Names: boolean;
  readonly flagValues: Readonly<Record<string, string>>;
  /** Unix seconds. */
  readonly startTime: number;
  readonly telemetryPath: string;
  readonly routePrefix: string;
}

/** How many history rows each group card lists. */
const RECENT_PUSHES = 10;

/**
 * `/`, `/status` and `/group`: the pages (routes.ts answers other methods);
 * with a scope limited by selectors, of the groups in it only.
 */
export function handlePage(
  request: Request,
  rel: string,
  deps: UiDeps,
  scope?: GroupScope,
): Promise<Response> {
  return pageResponse(request, rel, deps, scope);
}

/** `/static/…` and `/favicon.ico`: the embedded assets. */
export function handleAsset(request: Request, rel: string): Response {
  return assetResponse(
    request,
    rel === "/favicon.ico" ? "favicon.ico" : rel.slice("/static/".length),
  );
}

/** Milliseconds a page may keep the event loop before it lets others in. */
const SLICE_MS = 8;

/**
 * `/` (one page of groups; `?part=groups`: only its list), `/group?id=…`
 * (one group, opened; `&part=body`: only its card's body) and `/status`.
 * What a page reads is bounded by the page, not by the store (README "Web
 * UI"): `/` looks at every group once, a slice at a time, and reads
 * nothing from the database.
 */
async function pageResponse(
  request: Request,
  rel: string,
  deps: UiDeps,
  scope: GroupScope | undefined,
): Promise<Response> {
  const url = new URL(request.url);
  const params = url.searchParams;
  const view = deps.store.view;
  const options: CardOptions = {
    now: deps.now() / 1000,
    enableAdminApi: deps.enableAdminApi,
    utf8Names: deps.utf8Names,
    // The deps carry the flag as text only; main.ts always passes it.
    defaultTtl: (parseDuration(deps.flagValues["group.ttl"] ?? "0") ?? 0) /
      1000,
    isAggregating: isAggregatingGroup,
  };
  if (rel === "/status") {
    const rows = await replicationRows(deps.store);
    return htmlResponse(page("status", html``, deps, rows));
  }
  if (rel === "/group") {
    const found = view.group(params.get("id") ?? "");
    const group = found && inScope(found.key.labels, scope) ? found : undefined;
    const status = group ? 200 : 404;
    const body = group && {
      families: cardFamilies(deps.store, group),
      recentPushes: deps.store.history({
        groupKey: group.id,
        limit: RECENT_PUSHES,
      }),
      pushCount: deps.store.countPushes(group.rowId, PUSH_COUNT_LIMIT + 1),
    };
    if (params.get("part") === "body") {
      return htmlResponse(
        group && body
          ? renderGroupBody(group, body, options).text
          : renderMissingGroup().text,
        status,
      );
    }
    return htmlResponse(
      page(
        "metrics",
        group && body
          ? renderGroupPage(group, body, options)
          : renderMissingGroup(),
        deps,
      ),
      status,
    );
  }
  const query = params.get("q") ?? "";
  let since = performance.now();
  const selection = await selectGroups({
    groups: scope === undefined
      ? view.groups()
      : groupsIn(view.groups(), scope),
    query,
    after: params.get("after") ?? undefined,
    limit: PAGE_GROUPS,
    pause: async () => {
      if (performance.now() - since < SLICE_MS) return;
      await new Promise((resolve) => setTimeout(resolve, 0));
      since = performance.now();
    },
  });
  const input: GroupCardsInput = {
    ...options,
    selection,
    query,
    pushUrl: `${pushBase(url, deps)}/metrics/job/`,
  };
  if (params.get("part") === "groups") {
    return htmlResponse(renderGroupList(input).text);
  }
  return htmlResponse(page("metrics", renderGroupCards(input), deps));
}

/**
 * The Status tab's replication rows (docs/operations.md, "Beyond one machine"): whether
 * Litestream replicates the database, and when it last copied the WAL.
 */
async function replicationRows(store: Store): Promise<[string, string][]> {
  if (!store.litestream) {
    return [["Replication", "none (no Litestream tables in the database)"]];
  }
  const sync = await readLitestreamSync(store.path);
  return [
    [
      "Replication",
      `Litestream${sync.generation ? `, generation ${sync.generation}` : ""}`,
    ],
    [
      "Last Litestream sync",
      sync.lastSyncMs === null
        ? "none yet"
        : formatTime(sync.lastSyncMs / 1000),
    ],
  ];
}

/**
 * A group's families as its card shows them, reading only the series it
 * shows: renderGroupBody's MAX_SERIES_ROWS a family and MAX_GROUP_ROWS in
 * all, in name order with the two metadata families (README "Web UI").
 * Read whole, one group of a million series kept the server minutes.
 */
function cardFamilies(store: Store, group: GroupState): CardFamily[] {
  const readRows = store.familyRowsAfter.bind(store);
  const shown = [
    ...[...group.families.values()].map((stored) => ({
      name: stored.name,
      stored,
    })),
    { name: PUSH_TIME, stored: undefined },
    { name: PUSH_FAILURE_TIME, stored: undefined },
  ].sort((a, b) => compareNames(a.name, b.name));
  const out: CardFamily[] = [];
  let budget = MAX_GROUP_ROWS;
  for (const { stored } of shown) {
    const rows = Math.min(MAX_SERIES_ROWS, budget);
    if (stored === undefined) {
      budget -= Math.min(rows, 1);
      continue;
    }
    const count = stored.keys.length;
    out.push({
      family: familyHead(readRows, stored, Math.min(rows, count)),
      pushedAt: stored.pushedAt,
      seriesCount: count,
    });
    budget -= Math.min(rows, count);
  }
  return out;
}

function page(
  tab: Tab,
  metrics: Html,
  deps: UiDeps,
  extraRuntime: readonly (readonly [string, string])[] = [],
): string {
  const view = deps.store.view;
  return renderStatusPage({
    tab,
    metrics,
    now: deps.now() / 1000,
    startTime: deps.startTime,
    flags: deps.flagValues,
    buildInfo: {
      branch: BRANCH,
      buildDate: BUILD_DATE,
      buildUser: BUILD_USER,
      goVersion: `deno${Deno.version.deno}`,
      revision: REVISION,
      version: VERSION,
    },
    runtime: [
      ["Database", deps.store.path],
      ["Groups", String(view.groupCount)],
      ["Series", String(view.seriesCount)],
      ...extraRuntime,
      ...historyRows(deps),
    ],
    version: VERSION,
    assetVersion: `${VERSION}-${REVISION}-${ASSET_VERSION}`,
    telemetryPath: deps.telemetryPath,
  });
}

/**
 * The database's size against --history.max-size and what the pruner has
 * removed since start (README "The database").
 */
function historyRows(deps: UiDeps): (readonly [string, string])[] {
  const disk = deps.metrics.disk?.();
  if (disk === undefined) return [];
  return [
    [
      "Database file",
      `${formatBytes(disk.fileBytes)} (${
        formatBytes(disk.freeBytes)
      } free, reused before it grows)`,
    ],
    [
      "History budget",
      disk.maxSizeBytes === 0
        ? "none: --history.retention only"
        : `${formatBytes(disk.maxSizeBytes)} (--history.max-size)`,
    ],
    [
      "History pruned since start",
      `${deps.metrics.prunedRows} rows, ${
        formatBytes(deps.metrics.prunedBytes)
      } freed`,
    ],
  ];
}

function htmlResponse(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      // Defence in depth on top of escaping: only our own script and style run.
      "Content-Security-Policy":
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "same-origin",
    },
  });
}

/** Where clients reach us: `--web.external-url` when set (a proxy in front), else this request's origin. */
function pushBase(url: URL, deps: UiDeps): string {
  const external = deps.flagValues["web.external-url"] ?? "";
  if (external !== "") return external.replace(/\/+$/, "");
  return `${url.origin}${deps.routePrefix}`;
}

function assetResponse(request: Request, name: string): Response {
  const asset = STATIC_ASSETS.get(name);
  if (!asset) return notFound();
  const headers = {
    "Content-Type": asset.contentType,
    "ETag": asset.etag,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
  };
  const match = request.headers.get("if-none-match");
  if (match !== null && match.split(",").some((t) => t.trim() === asset.etag)) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(asset.body, { headers });
}

/** The groups of `groups` in `scope`, as they come. */
function* groupsIn(
  groups: Iterable<GroupState>,
  scope: GroupScope,
): Generator<GroupState, void, undefined> {
  for (const group of groups) {
    if (inScope(group.key.labels, scope)) yield group;
  }
}
