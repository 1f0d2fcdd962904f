/**
 * Pushvault's own API additions: bulk delete of groups by label matchers
 * and/or age (`POST /api/v1/admin/delete`, admin API only), and the push
 * history (`GET /api/v1/history`). Errors answer 400 in the Prometheus API's
 * JSON error shape and change nothing.
 * @module
 */

import { parseDuration } from "../duration.ts";
import { MatcherError, matchesAny, parseSelector } from "../push/matchers.ts";
import type { Selector } from "../push/matchers.ts";
import { expectedError, PushError } from "../push/push_error.ts";
import type { HistoryEntry, RequestInfo, Store } from "../store/store.ts";
import {
  type GroupScope,
  groupsInScope,
  inScope,
} from "../push/group_scope.ts";
import { API_HEADERS, jsonResponse } from "./api.ts";
import { goJson, type Json, rfc3339Nano, struct } from "./go_json.ts";
import { errorResponse } from "./errors.ts";
import { encodeText, slicedStream } from "./sliced_stream.ts";
import type { GroupState } from "../store/view.ts";

/** A bad query parameter: 400 with the Prometheus API error shape. */
function badQuery(message: string): PushError {
  return new PushError("bad_query", message);
}

/** The JSON API's answer to a bad query parameter; rethrows anything else. */
function answerBadQuery(error: unknown): Response {
  if (expectedError(error)?.kind === "bad_query") {
    const response = errorResponse(error, "api");
    if (response) return response;
  }
  throw error;
}

function selectors(params: URLSearchParams): Selector[] {
  return params.getAll("match[]").map((m) => {
    try {
      return parseSelector(m);
    } catch (error) {
      if (error instanceof MatcherError) {
        throw badQuery(`match[]: ${error.message}`);
      }
      throw error;
    }
  });
}

/** RFC 3339 or Unix seconds, as the Prometheus API takes times. */
export function parseTime(name: string, text: string): number {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(ms)) {
    throw badQuery(
      `invalid ${name} ${
        JSON.stringify(text)
      }: expected RFC 3339 (2026-11-25T10:00:00Z) or Unix seconds`,
    );
  }
  return ms / 1000;
}

function duration(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw badQuery(
      `invalid ${name} ${
        JSON.stringify(text)
      }: expected a duration like 30m, 12h or 7d`,
    );
  }
  return ms / 1000;
}

function bool(name: string, text: string | null): boolean {
  if (text === null || text === "" || text === "false" || text === "0") {
    return false;
  }
  if (text === "true" || text === "1") return true;
  throw badQuery(
    `invalid ${name} ${JSON.stringify(text)}: expected true or false`,
  );
}

export interface AdminDeps {
  readonly store: Store;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
}

/**
 * `POST /api/v1/admin/delete?match[]=…&older_than=…&pushed_before=…&dry_run=true`:
 * deletes every group matching any selector and last pushed before the
 * cut-off, in one transaction; lists the grouping keys.
 */
export function handleBulkDelete(
  request: Request,
  deps: AdminDeps,
  remoteAddr: string | null,
  scope?: GroupScope,
): Response {
  const url = new URL(request.url);
  const params = url.searchParams;
  try {
    const sel = selectors(params);
    const nowSeconds = deps.now() / 1000;
    let before: number | undefined;
    const olderThan = params.get("older_than");
    if (olderThan !== null) {
      before = nowSeconds - duration("older_than", olderThan);
    }
    const pushedBefore = params.get("pushed_before");
    if (pushedBefore !== null) {
      const t = parseTime("pushed_before", pushedBefore);
      before = before === undefined ? t : Math.min(before, t);
    }
    if (sel.length === 0 && before === undefined) {
      throw badQuery(
        "give at least one match[] selector or older_than/pushed_before; to delete everything use PUT /api/v1/admin/wipe",
      );
    }
    const dryRun = bool("dry_run", params.get("dry_run"));
    const groups = [...deps.store.view.groups()];
    const chosen = (g: GroupState) =>
      matchesAny(g.key.labels, sel) && inScope(g.key.labels, scope) &&
      (before === undefined || Math.max(g.pushTime, g.createdAt) < before);
    if (dryRun) {
      // Matched as the answer is sent: nothing changes, so nothing needs
      // deciding first, and 100k groups are not one string.
      return bulkDeleteResponse(true, picked(groups, chosen));
    }
    const doomed = groups.filter(chosen);
    const deleted = deps.store.deleteGroups(
      doomed.map((g) => g.id),
      "BULK_DELETE",
      nowSeconds,
      {
        path: url.pathname + url.search,
        contentType: null,
        bodyBytes: 0,
        remoteAddr,
        userAgent: request.headers.get("user-agent"),
      },
    );
    const byId = new Map(doomed.map((g) => [g.id, g]));
    return bulkDeleteResponse(
      false,
      deleted.map((id) => byId.get(id) ?? { id, key: { labels: [] } }),
    );
  } catch (error) {
    return answerBadQuery(error);
  }
}

/**
 * `PUT /api/v1/admin/wipe` by an admin scope limited by selectors: deletes
 * the groups in it, as a bulk delete does, with history rows of WIPE.
 * Returns how many.
 */
export function wipeInScope(
  store: Store,
  scope: GroupScope,
  time: number,
  request: RequestInfo,
): number {
  const ids = [...groupsInScope(store.view.groups(), scope)];
  return store.deleteGroups(ids, "WIPE", time, request).length;
}

/** What a bulk delete's answer lists of a group. */
type Listed = Pick<GroupState, "id"> & {
  readonly key: { readonly labels: GroupState["key"]["labels"] };
};

/** `groups` that `chosen` picks; undefined for each other (work done). */
function* picked(
  groups: readonly GroupState[],
  chosen: (g: GroupState) => boolean,
): Generator<GroupState | undefined, void, undefined> {
  for (const g of groups) yield chosen(g) ? g : undefined;
}

/**
 * The bulk delete's answer (README "Bulk delete"), streamed a group at a
 * time in reads of 64 KiB that pause after 5 ms of work (slicedStream):
 * the same bytes as `goJson` of the whole answer.
 */
function bulkDeleteResponse(
  dryRun: boolean,
  groups: Iterable<Listed | undefined>,
): Response {
  function* pieces(): Generator<string, void, undefined> {
    yield `{"status":"success","data":{"dry_run":${dryRun},"deleted":[`;
    let separator = "";
    for (const g of groups) {
      if (g === undefined) {
        yield "";
        continue;
      }
      const labels: { [k: string]: string } = {};
      for (const l of g.key.labels) labels[l.name] = l.value;
      yield separator + goJson(struct({ key: g.id, labels }));
      separator = ",";
    }
    yield "]}}";
  }
  return new Response(
    slicedStream(encodeText(pieces()), { gzip: false }),
    { headers: { ...API_HEADERS, "Content-Type": "application/json" } },
  );
}

/**
 * `GET /api/v1/history?match[]=…&group=…&start=…&end=…&status=accepted|refused&limit=…`;
 * `group` is one grouping key exactly as `groups.key` spells it (matchers
 * cannot say "no other label"), which is how the UI links a group's log.
 */
export function handleHistory(
  request: Request,
  deps: AdminDeps,
  scope?: GroupScope,
): Response {
  const params = new URL(request.url).searchParams;
  try {
    const sel = selectors(params);
    const start = params.get("start");
    const end = params.get("end");
    const status = params.get("status");
    if (status !== null && status !== "accepted" && status !== "refused") {
      throw badQuery(
        `invalid status ${
          JSON.stringify(status)
        }: expected accepted or refused`,
      );
    }
    const limitText = params.get("limit") ?? "100";
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw badQuery(
        `invalid limit ${
          JSON.stringify(limitText)
        }: expected a whole number from 1 to 10000`,
      );
    }
    // Matchers run here, so ask for more rows and keep the first matching ones.
    const group = params.get("group");
    const rows = deps.store.history({
      ...(group === null ? {} : { groupKey: group }),
      ...(start === null ? {} : { since: parseTime("start", start) }),
      ...(end === null ? {} : { until: parseTime("end", end) }),
      ...(status === null ? {} : { outcome: status }),
      limit: sel.length === 0 && scope === undefined ? limit : 10_000,
    });
    const out: Json[] = [];
    for (const row of rows) {
      if (out.length >= limit) break;
      if (sel.length > 0 || scope !== undefined) {
        // A row without a group (a wipe) is no limited scope's to see.
        if (!row.groupLabels) continue;
        const labels = Object.entries(row.groupLabels).map(([name, value]) => ({
          name,
          value,
        }));
        if (!matchesAny(labels, sel) || !inScope(labels, scope)) continue;
      }
      out.push(historyJson(row));
    }
    return jsonResponse(struct({ status: "success", data: out }));
  } catch (error) {
    return answerBadQuery(error);
  }
}

function historyJson(row: HistoryEntry): Json {
  return struct({
    id: row.id,
    time: rfc3339Nano(row.time),
    method: row.method,
    labels: row.groupLabels,
    path: row.path,
    status: row.status,
    error: row.error,
    content_type: row.contentType,
    body_bytes: row.bodyBytes,
    series: row.series,
    remote_addr: row.remoteAddr,
    user_agent: row.userAgent,
  });
}
