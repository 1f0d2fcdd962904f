/**
 * The rows of the store's commands other than a push, each inside a
 * transaction its caller opened and commits: deleting groups (DELETE,
 * admin wipe, bulk delete, expiry), importing groups, pruning history,
 * recording a refused request (docs/database.md). Given the writer, the
 * view and the row writers' memory explicitly; the view changes only
 * after the COMMIT, by the caller, except in an import.
 * @module
 */

import { checkConsistency } from "../push/consistency.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import { inconsistent, PushError } from "../push/push_error.ts";
import { seriesKeysOf } from "../push/series_key.ts";
import { prepareFamily } from "../push/prepare.ts";
import { metadataLabels } from "./push_rules.ts";
import { drain } from "./push_writes.ts";
import { dropGroupAggregates } from "./aggregate_writes.ts";
import {
  forgetSeries,
  insertFamilies,
  insertPush,
  previousSeries,
  type SeriesMemory,
  supersede,
  upsertGroup,
} from "./row_writers.ts";
import type { Statements, Writer } from "./statements.ts";
import type { ImportCommand, RequestInfo } from "./store_types.ts";
import type { View } from "./view.ts";

/** A group as a delete needs it: its id and its `groups` row. */
export interface GroupToDelete {
  readonly id: string;
  readonly rowId: number;
}

/**
 * DELETE of one group: its history row (with the group's row when it
 * exists, in the view or only in the database), and the group's end.
 */
export function writeDelete(
  w: Writer,
  view: View,
  series: SeriesMemory,
  key: GroupingKey,
  group: GroupToDelete | undefined,
  time: number,
  request: RequestInfo,
): void {
  const existing = group?.rowId ?? findGroupRow(w.stmt, key.id);
  const pushId = insertPush(w, {
    time,
    method: "DELETE",
    groupRow: existing,
    status: 202,
    error: null,
    series: 0,
    request,
  });
  if (group) endGroup(w, view, series, group, pushId, time);
}

/**
 * Deletes `groups`, each with a history row of `method`; with none, an
 * admin wipe leaves one row without a group.
 */
export function writeDeletes(
  w: Writer,
  view: View,
  series: SeriesMemory,
  groups: readonly GroupToDelete[],
  method: "WIPE" | "BULK_DELETE" | "EXPIRE",
  time: number,
  request: RequestInfo,
): void {
  const row = (groupRow: number | null) =>
    insertPush(w, {
      time,
      method,
      groupRow,
      status: 202,
      error: null,
      series: 0,
      request,
    });
  if (groups.length === 0 && method === "WIPE") row(null);
  for (const group of groups) {
    const pushId = row(group.rowId);
    endGroup(w, view, series, group, pushId, time);
  }
}

/** Ends a group's row and supersedes its families (history kept or not). */
function endGroup(
  w: Writer,
  view: View,
  series: SeriesMemory,
  group: GroupToDelete,
  pushId: number,
  time: number,
): void {
  forgetSeries(view, series, group.id);
  dropGroupAggregates(w, series.keepHistory, group.rowId);
  w.stmt.deleteGroup.run(time, group.rowId);
  supersede(w, series.keepHistory, pushId, time, group.rowId);
}

/**
 * Imports groups, each replaced as by a PUT, keeping its push times and
 * per-family times; the view is updated as groups go. A group that breaks
 * a consistency rule throws, naming it: the caller rolls everything back.
 */
export function writeImport(
  w: Writer,
  view: View,
  series: SeriesMemory,
  groups: readonly ImportCommand[],
  request: RequestInfo,
): void {
  const keepHistory = series.keepHistory;
  for (const g of groups) {
    const problems = [...g.problems];
    if (problems.length === 0) {
      problems.push(...checkConsistency({
        groupId: g.key.id,
        metadataLabels: metadataLabels(view, g.key),
        replaceAll: true,
        families: g.families,
        keys: g.families.map(seriesKeysOf),
      }, view));
    }
    if (problems.length > 0) {
      throw new PushError(
        "inconsistent",
        `group ${g.key.id} cannot be imported: ${
          inconsistent(problems).message
        }`,
      );
    }
    const groupRow = upsertGroup(w, view, g.key, g.pushTime, "push");
    w.stmt.setFailureTime.run(g.failureTime, groupRow);
    // One history row per group, as a PUT writes. Its families take
    // its time: a family's time is its push row's, and the Pushgateway's
    // per-family time_stamp differs from push_time_seconds only in
    // rounding, unless the family was POSTed apart (docs/operations.md, "Moving from
    // a Pushgateway").
    const pushId = insertPush(w, {
      time: g.pushTime,
      method: "IMPORT",
      groupRow,
      status: 200,
      error: null,
      series: g.seriesCount,
      request,
    });
    const prepared = g.families.map(prepareFamily);
    const previous = previousSeries(
      keepHistory ? view.group(g.key.id) : undefined,
      prepared,
    );
    forgetSeries(view, series, g.key.id, new Set(previous.keys()));
    supersede(w, keepHistory, pushId, g.pushTime, groupRow);
    const stored = drain(insertFamilies(
      w,
      series,
      groupRow,
      pushId,
      prepared,
      g.pushTime,
      previous,
    ));
    view.applyPush({
      key: g.key,
      rowId: groupRow,
      replaceAll: true,
      families: stored,
      time: g.pushTime,
    });
    if (g.failureTime > 0) {
      view.applyFailure(g.key, groupRow, g.failureTime);
    }
  }
}

/**
 * Deletes at most `batch` rows of each kind of history older than
 * `cutoff`; returns how many went.
 */
export function pruneRows(
  stmt: Statements,
  cutoff: number,
  batch: number,
): number {
  let n = Number(stmt.pruneSeries.run(cutoff, batch).changes);
  n += Number(stmt.pruneSamples.run(cutoff, batch).changes);
  n += Number(stmt.pruneExtras.run(cutoff, batch).changes);
  n += Number(stmt.pruneContributions.run(cutoff, batch).changes);
  n += Number(stmt.pruneResidues.run(cutoff, batch).changes);
  n += Number(stmt.pruneFamilies.run(cutoff, batch).changes);
  const pushes = stmt.prunedPushes.all(cutoff, batch) as unknown as [
    number,
    number,
  ][];
  if (pushes.length > 0) {
    n += Number(
      stmt.prunePushesById.run(JSON.stringify(pushes.map(([id]) => id)))
        .changes,
    );
    const requests = [...new Set(pushes.map(([, request]) => request))];
    n += Number(stmt.dropRequests.run(JSON.stringify(requests)).changes);
  }
  n += Number(stmt.pruneGroups.run(cutoff, batch).changes);
  return n;
}

/** A request refused before it reached the rules. */
export interface InvalidRequest {
  method: string;
  key: GroupingKey | undefined;
  status: number;
  error: string;
  time: number;
  request: RequestInfo;
}

/** The history row of a refused request; no group changes. */
export function writeInvalid(
  w: Writer,
  view: View,
  entry: InvalidRequest,
): void {
  const groupRow = entry.key
    ? (view.group(entry.key.id)?.rowId ?? findGroupRow(w.stmt, entry.key.id))
    : null;
  insertPush(w, {
    time: entry.time,
    method: entry.method,
    groupRow,
    status: entry.status,
    error: entry.error,
    series: 0,
    request: entry.request,
  });
}

/** The `groups` row of a group the view does not hold (deleted), if any. */
function findGroupRow(stmt: Statements, id: string): number | null {
  return (stmt.findGroup.get(id) as { id: number } | undefined)?.id ?? null;
}
