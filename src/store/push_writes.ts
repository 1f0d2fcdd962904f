/**
 * The rows of one push, inside a transaction its caller opened and
 * commits: an accepted push's group, history row and families, or a
 * refused push's history row; and what the view learns of it after the
 * COMMIT (docs/architecture.md). Given the writer, the view and the row
 * writers' memory explicitly, so that the same code writes on the store's
 * connection and on the second one of a large push.
 * @module
 */

import { inconsistent } from "../push/push_error.ts";
import { type PreparedFamily, prepareKeyedFamily } from "../push/prepare.ts";
import { keysOf, metadataCollides, metadataLabels } from "./push_rules.ts";
import { problemsOf } from "./push_rules.ts";
import {
  dropEarlierPushes,
  forgetSeries,
  insertFamilies,
  insertPush,
  previousSeries,
  type SeriesMemory,
  supersede,
  upsertGroup,
} from "./row_writers.ts";
import type { Writer } from "./statements.ts";
import type { PushCommand, PushOutcome } from "./store_types.ts";
import type { FamilyInput, View } from "./view.ts";
import type { StagedFamily } from "./staged_family.ts";
import { aggregate, kindConflict, refuseConflict } from "./aggregate_writes.ts";

/** What {@link writeAccepted} wrote, for the view. */
export interface AcceptedWrite {
  readonly groupRow: number;
  readonly stored: FamilyInput[];
}

/** A push written in its transaction, and what to do after the COMMIT. */
export interface WrittenPush {
  readonly outcome: PushOutcome;
  /** Puts the push into the view: only after its COMMIT. */
  readonly apply: () => void;
}

/** Checks and writes one push inside an open transaction or savepoint. */
export function pushInTransaction(
  w: Writer,
  view: View,
  series: SeriesMemory,
  command: PushCommand,
): WrittenPush {
  const conflict = kindConflict(w, view, command);
  if (conflict !== undefined) return refuseConflict(w, view, command, conflict);
  // An aggregating push is written as the push of its sums.
  const sums = command.aggregate === undefined || command.problems.length > 0
    ? undefined
    : aggregate(w, view, series, command);
  if (sums !== undefined && "problems" in sums) {
    return refuseInTransaction(w, view, series, command, sums.problems);
  }
  const toWrite = sums?.command ?? command;
  const problems = problemsOf(view, toWrite);
  if (problems.length > 0) {
    return refuseInTransaction(w, view, series, command, problems);
  }
  const status = command.checkConsistency ? 200 : 202;
  sums?.before();
  const written = drain(writeAccepted(w, view, series, toWrite, status));
  sums?.written(written);
  return {
    outcome: { status },
    apply: () => {
      applyAccepted(view, toWrite, written);
      sums?.applied(view);
    },
  };
}

/**
 * Writes an accepted push through `w`, inside its open transaction. A
 * generator: it yields after each multi-row INSERT of samples, so that a
 * large push can be written a slice at a time (GroupCommit, written
 * aside); everywhere else it is run to its end at once ({@link drain}).
 * The view is read only before the first yield.
 */
export function* writeAccepted(
  w: Writer,
  view: View,
  series: SeriesMemory,
  command: PushCommand,
  status: 200 | 202,
): Generator<void, AcceptedWrite> {
  const keepHistory = series.keepHistory;
  const groupRow = upsertGroup(w, view, command.key, command.time, "push");
  if (command.ttl !== undefined) w.stmt.setTtl.run(command.ttl, groupRow);
  const pushId = insertPush(w, {
    time: command.time,
    method: command.method,
    groupRow,
    status,
    error: null,
    series: command.seriesCount,
    request: command.request,
  });
  const prepared = command.prepared ?? prepareAll(command);
  // Read before the versions they replace are ended (or, without
  // history, deleted).
  const previous = previousSeries(
    keepHistory ? view.group(command.key.id) : undefined,
    prepared,
  );
  if (command.method === "PUT") {
    forgetSeries(view, series, command.key.id, new Set(previous.keys()));
    supersede(w, keepHistory, pushId, command.time, groupRow);
  }
  if (command.method === "POST") {
    for (const family of command.families) {
      supersede(w, keepHistory, pushId, command.time, groupRow, family.name);
    }
  }
  const stored = yield* insertFamilies(
    w,
    series,
    groupRow,
    pushId,
    prepared,
    command.time,
    previous,
  );
  dropEarlierPushes(w, keepHistory, groupRow, pushId);
  return { groupRow, stored };
}

/** Puts an accepted push into the view: only after its COMMIT. */
export function applyAccepted(
  view: View,
  command: PushCommand,
  written: AcceptedWrite,
  staged?: ReadonlyMap<string, StagedFamily>,
): void {
  view.applyPush({
    key: command.key,
    rowId: written.groupRow,
    replaceAll: command.method === "PUT",
    families: written.stored,
    time: command.time,
    ...(command.ttl === undefined ? {} : { ttl: command.ttl ?? undefined }),
  }, staged);
}

/** A refused push: its history row, and the group's failure time. */
function refuseInTransaction(
  w: Writer,
  view: View,
  series: SeriesMemory,
  command: PushCommand,
  problems: string[],
): WrittenPush {
  const error = inconsistent(problems).message;
  // Unchecked mode refuses silently with 202 (docs/compatibility.md).
  const status = command.checkConsistency ? 400 : 202;
  // Creating a group whose metadata series collide with another group's
  // would poison every later scrape; record history only then
  // (docs/compatibility.md, Metadata metrics).
  const mayCreate = view.group(command.key.id) !== undefined ||
    !metadataCollides(
      view,
      metadataLabels(view, command.key),
      command.key.id,
    );
  const groupRow = mayCreate
    ? upsertGroup(w, view, command.key, command.time, "failure")
    : null;
  const pushId = insertPush(w, {
    time: command.time,
    method: command.method,
    groupRow,
    status,
    error,
    series: command.seriesCount,
    request: command.request,
  });
  if (groupRow !== null) {
    dropEarlierPushes(w, series.keepHistory, groupRow, pushId);
  }
  return {
    outcome: { status, error },
    apply: () => {
      if (groupRow !== null) {
        view.applyFailure(command.key, groupRow, command.time);
      }
    },
  };
}

/** Runs a write generator to its end at once; returns what it returns. */
export function drain<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** The families of a push prepared inline, each with the push's own keys. */
function prepareAll(command: PushCommand): PreparedFamily[] {
  const keys = keysOf(command);
  return command.families.map((family, i) =>
    prepareKeyedFamily(family, keys[i] as readonly string[])
  );
}
