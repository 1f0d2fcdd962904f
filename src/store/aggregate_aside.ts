/**
 * A large aggregating push written aside (store/group_commit.ts: on the
 * second connection, a slice at a time, the event loop turning between
 * slices), as one transaction: the group's values read and the push added
 * to them a family at a time, the sums checked, prepared a slice of series
 * at a time, written and staged for the view as a large replacing push's
 * rows are, then the contribution's rows. Nothing else writes meanwhile
 * (the queue waits for this push), so the sums are computed from the values
 * the transaction holds, as for a push written inline
 * (docs/architecture.md, A push).
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import { FamilyBuilder, type PreparedFamily } from "../push/prepare.ts";
import { preparedWithValues } from "../push/prepared_values.ts";
import { rowCountOf } from "../push/sample_rows.ts";
import { aggregateSteps } from "./aggregate_writes.ts";
import { keysOf, problemSteps } from "./push_rules.ts";
import { type AcceptedWrite, writeAccepted } from "./push_writes.ts";
import type { SeriesMemory } from "./row_writers.ts";
import { type StagedFamily, writeThenStage } from "./staged_family.ts";
import type { Writer } from "./statements.ts";
import type { PushCommand } from "./store_types.ts";
import type { View } from "./view.ts";

/** Series of a summed family prepared between two turns. */
const PREPARE_SLICE_SERIES = 2_048;

/** What writing a large aggregating push aside left. */
export type AsideAggregate =
  | { readonly problems: string[] }
  | {
    readonly written: AcceptedWrite;
    readonly staged: ReadonlyMap<string, StagedFamily>;
    /** Tells the view's side of aggregate_writes.ts, after the push applied. */
    readonly applied?: (view: View) => void;
  };

/** Sample rows of an aggregating push, to choose whether it is written aside. */
export function aggregateRows(command: PushCommand): number {
  if (command.aggregate === undefined || command.problems.length > 0) return 0;
  let rows = 0;
  for (const family of command.families) rows += rowCountOf(family);
  return rows;
}

/**
 * Writes the aggregating `command` through `w` inside its open transaction,
 * a step at a time; the problems it is refused with (its layouts, the
 * consistency of its sums) leave nothing written.
 */
export function* writeAggregateAside(
  w: Writer,
  view: View,
  series: SeriesMemory,
  command: PushCommand,
  status: 200 | 202,
): Generator<void, AsideAggregate, undefined> {
  const sums = yield* aggregateSteps(w, view, series, command);
  if ("problems" in sums) return { problems: sums.problems };
  const problems = yield* problemSteps(view, sums.command);
  if (problems.length > 0) return { problems };
  sums.before();
  const prepared = yield* prepareSteps(sums.command, command.prepared);
  const { written, staged } = yield* writeThenStage(
    writeAccepted(w, view, series, { ...sums.command, prepared }, status),
    view,
    command.key.id,
  );
  yield* sums.writtenSteps(written);
  return { written, staged, applied: sums.applied };
}

/**
 * The sums' families prepared for writing, a slice of series at a time:
 * from the push's prepared families (`pushed`, in the same order) where
 * only their values differ (prepared_values.ts), else from their metrics.
 */
function* prepareSteps(
  command: PushCommand,
  pushed: readonly PreparedFamily[] | undefined,
): Generator<void, PreparedFamily[], undefined> {
  const keys = keysOf(command);
  const prepared: PreparedFamily[] = [];
  for (let f = 0; f < command.families.length; f++) {
    const family = command.families[f] as MetricFamily;
    const familyKeys = keys[f] as readonly string[];
    const own = pushed?.[f];
    const same = own === undefined
      ? undefined
      : yield* preparedWithValues(own, family, familyKeys);
    if (same !== undefined) {
      prepared.push(same);
      yield;
      continue;
    }
    const { metrics, ...header } = family;
    const builder = new FamilyBuilder(header, {
      series: metrics.length,
      rows: rowCountOf(family),
    });
    for (let from = 0; from < metrics.length; from += PREPARE_SLICE_SERIES) {
      const to = Math.min(metrics.length, from + PREPARE_SLICE_SERIES);
      const slice = { ...header, metrics: metrics.slice(from, to) };
      builder.add(slice as MetricFamily, familyKeys.slice(from, to));
      yield;
    }
    prepared.push(builder.finish());
    yield;
  }
  return prepared;
}
