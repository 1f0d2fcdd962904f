/**
 * The aggregation step of a push, inside the store's transaction (README
 * "Aggregating groups"; docs/database.md, Aggregating groups): a group's
 * kind (aggregating or replacing) and the refusal of a push of the other
 * kind; an aggregating push turned into the push of its sums, computed
 * from the group's values as this transaction holds them (never from
 * values read before it), so that concurrent contributions add up
 * exactly; then each contribution's values as pushed, and what the exact
 * sums keep beyond their values. The arithmetic is push/aggregate.ts's.
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import {
  type AddedFamily,
  addFamily,
  addFamilySteps,
  keptSums,
  seriesCountOf,
  type StoredSums,
  type SummedFamily,
} from "../push/aggregate.ts";
import type { Partials } from "../push/exact_sum.ts";
import type { MetricFamily } from "../exposition/model.ts";
import { insertPush, readFamily, type SeriesMemory } from "./row_writers.ts";
import type { Writer } from "./statements.ts";
import {
  contributionSteps,
  writeContributions,
  type WrittenSums,
} from "./contribution_writes.ts";
import { familyOfPrepared } from "../push/prepared_family.ts";
import type { PushCommand, PushOutcome } from "./store_types.ts";
import type { GroupState, ReadView, StoredFamily, View } from "./view.ts";

/** Whether each group the view holds is aggregating, as its row says. */
const KINDS = new WeakMap<GroupState, boolean>();

/** This module's statements, prepared once per connection. */
const STATEMENTS = new WeakMap<DatabaseSync, AggregateStatements>();

interface AggregateStatements {
  readonly kind: StatementSync;
  readonly setAggregating: StatementSync;
  readonly residues: StatementSync;
  readonly dropAll: readonly StatementSync[];
  readonly dropOne: readonly StatementSync[];
}

function statementsOf(db: DatabaseSync): AggregateStatements {
  let s = STATEMENTS.get(db);
  if (s === undefined) {
    const current =
      "SELECT id FROM families WHERE group_id = ? AND current = 1";
    const tables = ["contributions", "sum_residues"];
    s = {
      kind: db.prepare("SELECT aggregating FROM groups WHERE id = ?"),
      setAggregating: db.prepare(
        "UPDATE groups SET aggregating = 1 WHERE id = ?",
      ),
      residues: db.prepare(
        "SELECT series_id, partials FROM sum_residues WHERE family_id = ?",
      ),
      dropAll: tables.map((t) =>
        db.prepare(`DELETE FROM ${t} WHERE family_id IN (${current})`)
      ),
      dropOne: tables.map((t) =>
        db.prepare(
          `DELETE FROM ${t} WHERE family_id IN (${current}
            AND name_id = (SELECT id FROM metric_names WHERE name = ?))`,
        )
      ),
    };
    STATEMENTS.set(db, s);
  }
  return s;
}

/** Remembers a group's kind as read with it at start (loading.ts). */
export function noteKind(group: GroupState | undefined, aggregating: boolean) {
  if (group !== undefined) KINDS.set(group, aggregating);
}

/**
 * Whether the view's `group` is an aggregating group, as far as this
 * process has read or written it (every group from start on): for the UI.
 */
export function isAggregatingGroup(group: GroupState): boolean {
  return KINDS.get(group) === true;
}

/** Whether `group` is an aggregating group (its row read once). */
function isAggregating(w: Writer, group: GroupState): boolean {
  let aggregating = KINDS.get(group);
  if (aggregating === undefined) {
    const row = statementsOf(w.db).kind.get(group.rowId) as
      | { aggregating: number | null }
      | undefined;
    aggregating = row?.aggregating === 1;
    KINDS.set(group, aggregating);
  }
  return aggregating;
}

/**
 * Why `command` may not change its group: a push of the other kind than
 * the group's (409); undefined when it may. A group takes the kind of its
 * first accepted push and keeps it until it is deleted.
 */
export function kindConflict(
  w: Writer,
  view: ReadView,
  command: PushCommand,
): string | undefined {
  const group = view.group(command.key.id);
  if (group === undefined) return undefined;
  const aggregating = command.aggregate !== undefined;
  if (isAggregating(w, group) === aggregating) return undefined;
  if (aggregating && group.pushTime === 0 && group.families.size === 0) {
    return undefined; // only refused pushes so far: no kind yet
  }
  return aggregating
    ? `group ${command.key.id} is a replacing group: an aggregating push (under /aggregate/metrics/job/…) cannot add to it; push it under /metrics/job/… or delete the group first`
    : `group ${command.key.id} is an aggregating group: a replacing push (under /metrics/job/…) cannot change it; push it under /aggregate/metrics/job/… or delete the group first`;
}

/** The history row of a push refused for its kind; nothing else changes. */
export function refuseConflict(
  w: Writer,
  view: ReadView,
  command: PushCommand,
  error: string,
): { outcome: PushOutcome; apply: () => void } {
  insertPush(w, {
    time: command.time,
    method: command.method,
    groupRow: view.group(command.key.id)?.rowId ?? null,
    status: 409,
    error,
    series: command.seriesCount,
    request: command.request,
  });
  return { outcome: { status: 409, error }, apply: () => {} };
}

/** An aggregating push as the push of its sums, and what follows its write. */
export interface Aggregation {
  /** The push of the sums: written as any push is. */
  readonly command: PushCommand;
  /** Runs before the sums are written (they replace the current versions). */
  readonly before: () => void;
  /** Writes the contribution's rows, once the sums are written. */
  readonly written: (written: WrittenSums) => void;
  /** {@link Aggregation.written} a step at a time (written aside). */
  readonly writtenSteps: (
    written: WrittenSums,
  ) => Generator<void, void, undefined>;
  /** Tells the view's side of this module, after the push is applied. */
  readonly applied: (view: View) => void;
}

/**
 * The sums an aggregating push leaves in its group, or the problems it is
 * refused with (a histogram layout, a type, that differ from the group's).
 * A plain loop for a push of parsed families (small, inline); one the
 * push worker prepared runs {@link aggregateSteps} to its end.
 */
export function aggregate(
  w: Writer,
  view: ReadView,
  series: SeriesMemory,
  command: PushCommand,
): Aggregation | { readonly problems: string[] } {
  if (command.prepared !== undefined) {
    const steps = aggregateSteps(w, view, series, command);
    for (;;) {
      const step = steps.next();
      if (step.done === true) return step.value;
    }
  }
  const gauge = command.aggregate?.gauge ?? "last";
  const group = view.group(command.key.id);
  const pushed = command.families;
  const summed: AddedFamily[] = [];
  /** What each family's sum was added to, for remember(). */
  const previous: (StoredSums | undefined)[] = [];
  const problems: string[] = [];
  for (let f = 0; f < pushed.length; f++) {
    const family = pushed[f] as MetricFamily;
    const stored = group?.families.get(family.name);
    const before = stored === undefined
      ? undefined
      : readSummed(w, series, stored);
    const result = addFamily(before, family, gauge, {
      stored: stored?.keys,
      pushed: command.keys?.[f],
    });
    previous.push(before);
    if (result.ok) summed.push(result.summed);
    else problems.push(result.problem);
  }
  if (problems.length > 0) return { problems };
  return aggregation(w, view, series, command, pushed, summed, previous);
}

/**
 * {@link aggregate} a step at a time, for a large push written aside
 * (store/aggregate_aside.ts): it yields after each family's stored values
 * are read and after its sum; the view must not change meanwhile.
 */
export function* aggregateSteps(
  w: Writer,
  view: ReadView,
  series: SeriesMemory,
  command: PushCommand,
): Generator<void, Aggregation | { readonly problems: string[] }, undefined> {
  const gauge = command.aggregate?.gauge ?? "last";
  const group = view.group(command.key.id);
  const summed: AddedFamily[] = [];
  /** What each family's sum was added to, for remember(). */
  const previous: (StoredSums | undefined)[] = [];
  const problems: string[] = [];
  // Prepared on the push worker: its metrics read back from its rows.
  const pushed = yield* pushedFamilies(command);
  for (let f = 0; f < pushed.length; f++) {
    const family = pushed[f] as MetricFamily;
    const stored = group?.families.get(family.name);
    const before = stored === undefined
      ? undefined
      : readSummed(w, series, stored);
    if (before !== undefined) yield;
    const result = yield* addFamilySteps(before, family, gauge, {
      stored: stored?.keys,
      pushed: command.keys?.[f] ?? command.prepared?.[f]?.keys,
    });
    previous.push(before);
    if (result.ok) summed.push(result.summed);
    else problems.push(result.problem);
    yield;
  }
  if (problems.length > 0) return { problems };
  return aggregation(w, view, series, command, pushed, summed, previous);
}

/** The push of the sums, and what writes the contribution once it is. */
function aggregation(
  w: Writer,
  view: ReadView,
  series: SeriesMemory,
  command: PushCommand,
  pushed: readonly MetricFamily[],
  summed: readonly AddedFamily[],
  previous: readonly (StoredSums | undefined)[],
): Aggregation {
  const group = view.group(command.key.id);
  const { keys: _keys, distinct: _distinct, prepared: _prepared, ...rest } =
    command;
  const sums: PushCommand = {
    ...rest,
    families: summed.map((s) => s.family),
    keys: summed.map((s) => s.keys),
  };
  const wasAggregating = group !== undefined && isAggregating(w, group);
  const before = (written: WrittenSums) => {
    if (!wasAggregating) {
      statementsOf(w.db).setAggregating.run(written.groupRow);
    }
    if (series.keepHistory) {
      for (let f = 0; f < summed.length; f++) {
        const familyId = written.stored[f]?.rowId;
        if (familyId !== undefined) {
          remember(familyId, summed[f] as SummedFamily, previous[f]);
        }
      }
    }
  };
  return {
    command: sums,
    before: () => dropBeforeWrite(w, view, series, command),
    written: (written) => {
      before(written);
      writeContributions(w, series, pushed, summed, written);
    },
    writtenSteps: function* (written) {
      before(written);
      yield* contributionSteps(w, series, pushed, summed, written);
    },
    applied: (view) => {
      const state = view.group(command.key.id);
      if (state !== undefined) KINDS.set(state, true);
    },
  };
}

/** The pushed families with their metrics. */
function* pushedFamilies(
  command: PushCommand,
): Generator<void, readonly MetricFamily[], undefined> {
  if (command.prepared === undefined) return command.families;
  const families: MetricFamily[] = [];
  for (const prepared of command.prepared) {
    families.push(yield* familyOfPrepared(prepared));
  }
  return families;
}

/**
 * Without history: removes the contributions and residues of the group's
 * current versions that `command` replaces, before they are superseded.
 */
function dropBeforeWrite(
  w: Writer,
  view: ReadView,
  series: SeriesMemory,
  command: PushCommand,
): void {
  if (series.keepHistory) return;
  const group = view.group(command.key.id);
  if (group === undefined) return;
  const s = statementsOf(w.db);
  if (command.method === "PUT") {
    for (const drop of s.dropAll) drop.run(group.rowId);
    return;
  }
  for (const family of command.families) {
    for (const drop of s.dropOne) drop.run(group.rowId, family.name);
  }
}

/**
 * Without history: the contributions and residues of a group's current
 * versions, before a delete removes those versions.
 */
export function dropGroupAggregates(
  w: Writer,
  keepHistory: boolean,
  groupRow: number,
): void {
  if (keepHistory) return;
  for (const drop of statementsOf(w.db).dropAll) drop.run(groupRow);
}

/**
 * The sums this process last wrote, by `families.id`: a family version's
 * values never change once written, so the next contribution to it reads
 * them here instead of from its rows. Trusted only while the row writers
 * remember the version's series ids (SeriesMemory, with history kept):
 * they forget everything on a rollback, whose row ids SQLite may hand out
 * again. At most {@link MAX_REMEMBERED} versions, the oldest forgotten
 * first; a scalar family's as its values alone (keptSums).
 */
const REMEMBERED = new Map<number, StoredSums>();
const MAX_REMEMBERED = 20_000;

function remember(
  familyId: number,
  summed: SummedFamily,
  previous: StoredSums | undefined,
): void {
  REMEMBERED.set(familyId, keptSums(summed, previous));
  if (REMEMBERED.size > MAX_REMEMBERED) {
    REMEMBERED.delete(REMEMBERED.keys().next().value as number);
  }
}

/** A stored family with the residues of its sums, by row. */
function readSummed(
  w: Writer,
  series: SeriesMemory,
  stored: StoredFamily,
): StoredSums {
  const remembered = REMEMBERED.get(stored.rowId);
  // It is being replaced: the new version is remembered once written.
  REMEMBERED.delete(stored.rowId);
  if (
    remembered !== undefined && series.cache.has(stored.rowId) &&
    // Values alone are matched by the view's keys of the same version.
    ("family" in remembered ||
      seriesCountOf(remembered) === stored.keys.length)
  ) return remembered;
  const family = readFamily(w.stmt, stored);
  const residueRows = statementsOf(w.db).residues.all(stored.rowId) as {
    series_id: number;
    partials: string;
  }[];
  const residues: (Partials | undefined)[] = [];
  if (residueRows.length > 0) {
    const bySeries = new Map<number, Partials>();
    for (const r of residueRows) {
      bySeries.set(r.series_id, JSON.parse(r.partials) as Partials);
    }
    // Series ids rise along a family: their order is the rows' order.
    const ids = w.stmt.familySeries.all(stored.rowId) as unknown as [
      number,
      string,
      string,
    ][];
    for (const [id] of ids) residues.push(bySeries.get(id));
  }
  return { family, residues };
}
