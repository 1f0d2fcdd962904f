/**
 * The rules a push is checked against inside its transaction, where the
 * stored state cannot change under it: validation problems found earlier,
 * consistency with the stored families, and metadata series collisions
 * (docs/compatibility.md).
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import { checkConsistency, seriesKey } from "../push/consistency.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import type { PushCommand } from "./store.ts";
import type { View } from "./view.ts";

/** Why a push is refused (validation, then consistency): none to accept. */
export function problemsOf(view: View, command: PushCommand): string[] {
  const problems = [...command.problems];
  if (command.checkConsistency && problems.length === 0) {
    const check = (families: readonly MetricFamily[]) =>
      checkConsistency({
        groupId: command.key.id,
        metadataLabels: metadataLabels(view, command.key),
        replaceAll: command.method === "PUT",
        families,
      }, view);
    let found = check(command.families);
    if (found.length > 0 && command.exactFamilies !== undefined) {
      found = check(command.exactFamilies());
    }
    problems.push(...found);
  }
  return problems;
}

/**
 * The labels of a group's push_time_seconds and push_failure_time_seconds
 * series: the stored group's, or its grouping labels with an empty
 * `instance` when it has none, sorted by name.
 */
export function metadataLabels(view: View, key: GroupingKey) {
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
 * these labels would have (docs/compatibility.md, metadata metrics).
 */
export function metadataCollides(
  view: View,
  labels: readonly { name: string; value: string }[],
  groupId: string,
): boolean {
  const owner = view.family("push_time_seconds")?.ownerOf(seriesKey(labels));
  return owner !== undefined && owner !== groupId;
}
