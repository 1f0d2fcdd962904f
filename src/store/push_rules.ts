/**
 * The rules a push is checked against inside its transaction, where the
 * stored state cannot change under it: the store's series limit,
 * validation problems found earlier, consistency with the stored families,
 * and metadata series collisions (docs/compatibility.md). Each push is
 * checked against the view as the pushes committed with it left it.
 * @module
 */

import {
  checkConsistency,
  checkConsistencySteps,
  type PushPlan,
} from "../push/consistency.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import type { LimitError } from "../push/push_error.ts";
import { seriesKey, seriesKeysOf } from "../push/series_key.ts";
import { type SeriesBound, storeCapacityRefusal } from "./capacity.ts";
import type { PushCommand } from "./store_types.ts";
import type { ReadView } from "./view.ts";

/**
 * The 507 of a push that would take the store past `command.maxSeries`;
 * undefined when it fits or there is no limit.
 */
export function capacityRefusal(
  view: ReadView,
  command: PushCommand,
  bound: SeriesBound,
): LimitError | undefined {
  if (command.maxSeries === undefined || command.maxSeries <= 0) {
    return undefined;
  }
  return storeCapacityRefusal(
    view,
    {
      key: command.key,
      families: command.families,
      replaceAll: command.method === "PUT",
    },
    command.maxSeries,
    bound,
  );
}

/** The series keys of each pushed family: the push's own, else computed. */
export function keysOf(command: PushCommand): readonly (readonly string[])[] {
  return command.keys ?? command.families.map(seriesKeysOf);
}

/** Why a push is refused (validation, then consistency): none to accept. */
export function problemsOf(view: ReadView, command: PushCommand): string[] {
  const problems = [...command.problems];
  if (command.checkConsistency && problems.length === 0) {
    problems.push(...checkConsistency(planOf(view, command), view));
  }
  return problems;
}

/**
 * {@link problemsOf} a step at a time (see checkConsistencySteps), for a
 * large push; the view must not change meanwhile.
 */
export function* problemSteps(
  view: ReadView,
  command: PushCommand,
): Generator<void, string[], undefined> {
  const problems = [...command.problems];
  if (command.checkConsistency && problems.length === 0) {
    problems.push(
      ...yield* checkConsistencySteps(planOf(view, command), view),
    );
  }
  return problems;
}

function planOf(view: ReadView, command: PushCommand): PushPlan {
  return {
    groupId: command.key.id,
    metadataLabels: metadataLabels(view, command.key),
    replaceAll: command.method === "PUT",
    families: command.families,
    keys: keysOf(command),
    distinct: command.distinct,
  };
}

/**
 * The labels of a group's push_time_seconds and push_failure_time_seconds
 * series: the stored group's, or its grouping labels with an empty
 * `instance` when it has none, sorted by name.
 */
export function metadataLabels(view: ReadView, key: GroupingKey) {
  return view.group(key.id)?.metadataLabels ??
    [
      ...key.labels,
      ...(key.labels.some((l) => l.name === "instance")
        ? []
        : [{ name: "instance", value: "" }]),
    ].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Whether another group already holds the metadata series a group with
 * these labels would have (docs/compatibility.md, Metadata metrics).
 */
export function metadataCollides(
  view: ReadView,
  labels: readonly { name: string; value: string }[],
  groupId: string,
): boolean {
  const owner = view.family("push_time_seconds")?.ownerOf(seriesKey(labels));
  return owner !== undefined && owner !== groupId;
}
