/**
 * Start-up's reading of the database into the view: the groups at once,
 * their current families a slice at a time, after the server is ready
 * (docs/architecture.md). Reads only; the store writes back what is missing.
 * @module
 */

import { noteKind } from "./aggregate_writes.ts";
import { makeGroupingKey } from "../push/grouping_key.ts";
import { decodeRendered, type LoadedSeries } from "../push/rendered_blob.ts";
import { rowsToFamily } from "../push/sample_rows.ts";
import {
  type FamilyRow,
  type GroupRow,
  type SampleDbRow,
  sampleRow,
  type Statements,
} from "./statements.ts";
import { type RenderedSeries, renderSeries } from "../push/rendered_series.ts";
import type { View } from "./view.ts";

/** Families assembled per background step: a few ms (startBackgroundIndexing). */
export const ASSEMBLE_SLICE = 500;

/** What {@link assembleFamilies} has still to read. */
export interface PendingFamilies {
  /** `groups.id` → the group's id in the view. */
  readonly groups: ReadonlyMap<number, string>;
  /** The last `families.id` read. */
  afterId: number;
}

/** A current family whose `rendered` has to be written again. */
export interface MissingRendered {
  readonly rowId: number;
  readonly series: RenderedSeries;
}

/**
 * Rebuilds the view from the current rows (docs/operations.md, Durability: the
 * database is the truth): the groups here, their families by
 * {@link assembleFamilies}.
 * Writes nothing.
 */
export function loadGroups(stmt: Statements, view: View): PendingFamilies {
  /** `groups.id` → the group's id in the view. */
  const groups = new Map<number, string>();
  for (const row of stmt.loadGroups.all() as unknown as GroupRow[]) {
    const labels = JSON.parse(row.labels) as Record<string, string>;
    const key = makeGroupingKey(new Map(Object.entries(labels)));
    groups.set(row.id, key.id);
    view.loadGroup(key, row.id, {
      pushTime: row.push_time,
      failureTime: row.push_failure_time,
      ttl: row.ttl ?? undefined,
      createdAt: row.created_at,
    });
    noteKind(view.group(key.id), row.aggregating === 1);
  }
  return { groups, afterId: 0 };
}

/**
 * Reads up to `budget` of the families `pending` has still to read into
 * `view`, in id order, advancing `pending`; a family whose `rendered` has
 * to be written again goes into `missing`. Returns whether every family
 * has been read.
 */
export function assembleFamilies(
  stmt: Statements,
  view: View,
  pending: PendingFamilies,
  budget: number,
  missing: MissingRendered[],
): boolean {
  for (let left = budget; left > 0; left -= ASSEMBLE_SLICE) {
    const limit = Math.min(left, ASSEMBLE_SLICE);
    // all(), a slice at a time, not iterate(): Deno's iterate() ends
    // quietly where a step fails (a damaged page, a changed schema), and
    // the view would lack families without a word; all() throws.
    const rows = stmt.loadFamiliesSlice.all(
      pending.afterId,
      limit,
    ) as unknown as FamilyRow[];
    for (const row of rows) {
      const groupId = pending.groups.get(row.group_id);
      if (groupId !== undefined) {
        const m = loadFamily(stmt, view, groupId, row);
        if (m) missing.push(m);
      }
      pending.afterId = row.id;
    }
    if (rows.length < limit) return true;
  }
  return false;
}

/**
 * Puts one current family row into the view. Rows written before v3 (or
 * in another format) are rendered from their samples: returned, to be
 * written back for the next start.
 */
function loadFamily(
  stmt: Statements,
  view: View,
  groupId: string,
  f: FamilyRow,
): MissingRendered | undefined {
  const header = {
    name: f.name,
    type: f.type,
    help: f.help ?? undefined,
    unit: f.unit ?? undefined,
  };
  let series: LoadedSeries | undefined = decodeRendered(f.rendered);
  let missing: MissingRendered | undefined;
  if (series === undefined) {
    const rows = (stmt.familySamples.all(f.id) as unknown as SampleDbRow[]).map(
      sampleRow,
    );
    const rendered = renderSeries(rowsToFamily(header, rows));
    missing = { rowId: f.id, series: rendered };
    series = rendered;
  }
  view.loadFamily(groupId, {
    ...header,
    rowId: f.id,
    pushedAt: f.time,
    keys: series.keys,
    texts: series.texts,
  });
  return missing;
}
