/**
 * The writes of a push's rows inside a transaction the caller opened: its
 * group, its `pushes` row, its families with their `rendered` text, their
 * series and samples, with multi-row INSERTs (docs/database.md).
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import type { PreparedFamily } from "../push/prepare.ts";
import { rowsToFamily } from "../push/sample_rows.ts";
import {
  hashRowIdentities,
  labelsAt,
  newRowHash,
  suffixAt,
  valueAt,
} from "../push/sample_columns.ts";
import {
  extrasInsert,
  FAMILIES_PER_INSERT,
  familyInsert,
  metaInsert,
  nameInsert,
  renderedInsert,
  type SampleDbRow,
  sampleInsert,
  sampleRow,
  SAMPLES_PER_INSERT,
  SERIES_PER_INSERT,
  seriesInsert,
  type Statements,
  type Writer,
} from "./statements.ts";
import type { RequestInfo } from "./store_types.ts";
import type { FamilyInput, GroupState, StoredFamily, View } from "./view.ts";

/**
 * What the row writers remember across writes: whether history is kept,
 * and, by `families.id` of a current family, its rows' series ids, so that
 * a push whose family has the same series as the version it replaces reads
 * nothing to find them (seriesIds). Cleared whenever a write is rolled
 * back: ids of rolled-back rows must never be reused.
 */
export interface SeriesMemory {
  readonly keepHistory: boolean;
  readonly cache: Map<number, CachedSeries>;
}

/** Returns `groups.id`, creating or reviving the row as needed. */
export function upsertGroup(
  w: Writer,
  view: View,
  key: GroupingKey,
  time: number,
  outcome: "push" | "failure",
): number {
  const stmt = w.stmt;
  const live = view.group(key.id);
  if (live) {
    const set = outcome === "push" ? stmt.setPushTime : stmt.setFailureTime;
    set.run(time, live.rowId);
    return live.rowId;
  }
  const pushTime = outcome === "push" ? time : 0;
  const failureTime = outcome === "failure" ? time : 0;
  const old = stmt.findGroup.get(key.id) as { id: number } | undefined;
  if (old) {
    stmt.reviveGroup.run(pushTime, failureTime, time, old.id);
    return old.id;
  }
  const labels = JSON.stringify(
    Object.fromEntries(key.labels.map((l) => [l.name, l.value])),
  );
  const result = stmt.insertGroup.run(
    key.id,
    labels,
    key.job,
    time,
    pushTime,
    failureTime,
  );
  return Number(result.lastInsertRowid);
}

export function insertPush(w: Writer, row: {
  time: number;
  method: string;
  groupRow: number | null;
  status: number;
  error: string | null;
  series: number;
  request: RequestInfo;
}): number {
  const r = row.request;
  const contentType = r.contentType ?? null;
  const remoteAddr = r.remoteAddr ?? null;
  const userAgent = r.userAgent ?? null;
  const args = [
    row.time,
    row.method,
    row.groupRow,
    row.status,
    row.error,
    r.bodyBytes,
    row.series,
    r.path,
    contentType,
    remoteAddr,
    userAgent,
  ] as const;
  // Its `requests` row exists but for a client's first push to a group: the
  // INSERT then finds none (request_id NULL), fails alone (a statement's
  // failure undoes that statement only) and runs again once it is written.
  // One statement a push instead of two.
  try {
    return Number(w.stmt.insertPush.run(...args).lastInsertRowid);
  } catch (error) {
    if (!isNotNull(error)) throw error;
  }
  w.stmt.insertRequest.run(r.path, contentType, remoteAddr, userAgent);
  return Number(w.stmt.insertPush.run(...args).lastInsertRowid);
}

/** Whether `error` is `pushes.request_id`'s NOT NULL constraint failing. */
function isNotNull(error: unknown): boolean {
  return (error as { errcode?: number }).errcode ===
      SQLITE_CONSTRAINT_NOTNULL &&
    (error as Error).message.endsWith("pushes.request_id");
}

/** SQLite's extended result code for a NOT NULL constraint that failed. */
const SQLITE_CONSTRAINT_NOTNULL = 1299;

/**
 * Writes the families of one push and their samples with multi-row
 * INSERTs: one statement for the `family_meta` rows missing (none, push
 * after push), one for the families, one for their `rendered`
 * rows, and one for all their samples (per chunk), not one per family;
 * node:sqlite's cost per statement is what a small push mostly pays.
 * Returns them as the view takes them; yields where
 * {@link insertSamples} does.
 */
export function* insertFamilies(
  w: Writer,
  series: SeriesMemory,
  groupRow: number,
  pushId: number,
  families: readonly PreparedFamily[],
  pushedAt: number,
  previous: PreviousSeries,
): Generator<void, FamilyInput[]> {
  const stored: FamilyInput[] = [];
  const args: (number | string | null)[] = [];
  const texts: (number | string | Uint8Array)[] = [];
  for (let start = 0; start < families.length; start += FAMILIES_PER_INSERT) {
    const end = Math.min(families.length, start + FAMILIES_PER_INSERT);
    args.length = 0;
    for (let i = start; i < end; i++) {
      const family = families[i] as PreparedFamily;
      // Its `family_meta` row exists where the version it replaces has it.
      const old = previous.get(family.name);
      if (
        old === undefined || old.type !== family.type ||
        old.help !== family.help || old.unit !== family.unit
      ) args.push(family.type, family.help ?? null, family.unit ?? null);
    }
    if (args.length > 0) metaInsert(w, args.length / 3).run(...args);
    args.length = 0;
    // Its `metric_names` row exists where the version it replaces has it
    // (they are never removed).
    for (let i = start; i < end; i++) {
      const family = families[i] as PreparedFamily;
      if (!previous.has(family.name)) args.push(family.name);
    }
    if (args.length > 0) nameInsert(w, args.length).run(...args);
    args.length = 0;
    for (let i = start; i < end; i++) {
      const family = families[i] as PreparedFamily;
      args.push(
        groupRow,
        pushId,
        family.name,
        family.type,
        family.help ?? null,
        family.unit ?? null,
      );
    }
    const result = familyInsert(w, end - start).run(...args);
    // One INSERT gives its rows consecutive rowids: each new rowid is one
    // more than the largest (ids are never chosen by us).
    const firstId = Number(result.lastInsertRowid) - (end - start) + 1;
    texts.length = 0;
    for (let i = start; i < end; i++) {
      const family = families[i] as PreparedFamily;
      texts.push(firstId + i - start, family.rendered);
      stored.push({
        name: family.name,
        type: family.type,
        help: family.help,
        unit: family.unit,
        rowId: firstId + i - start,
        pushedAt,
        keys: family.keys,
        texts: family.texts,
      });
    }
    renderedInsert(w, end - start).run(...texts);
    // A step of its own: a large family's `rendered` value is 8 MB
    // deflated for 1M series.
    yield;
  }
  const ids = yield* seriesIds(w, series, groupRow, families, stored, previous);
  yield* insertSamples(w, stored, families, ids);
  return stored;
}

/**
 * The `families.id` of the current version of each family of `families`
 * in the group, for {@link seriesIds}: a series keeps its row for
 * as long as it stays in consecutive versions (schema 6). Read before
 * they are replaced. Without history nothing is carried over: the
 * versions replaced go with their series in this transaction.
 */
export function previousSeries(
  group: GroupState | undefined,
  families: readonly PreparedFamily[],
): PreviousSeries {
  const out: PreviousSeries = new Map();
  if (group === undefined) return out;
  for (const family of families) {
    const stored = group.families.get(family.name);
    if (stored !== undefined) out.set(family.name, stored);
  }
  return out;
}

/**
 * The `series` id of every sample row of `families`, in order. Along a
 * family they always rise, so that its rows are written, and read back,
 * in their order along the key of `samples` (no sorting, no index on the
 * place): a row takes the previous version's id of its series where that
 * is above the id before it, else a new row (one multi-row INSERT per
 * chunk; its rowids are consecutive and above every other). A series
 * that moved before others, or is repeated (unchecked), gets a new row, as
 * does one whose metric's ordinal changed (schema 9 keeps it on the
 * series row).
 * The previous version's ids come from {@link SeriesMemory} when
 * its rows are the same series in the same order (the common case, which
 * then reads nothing), else from its samples. Yields every
 * {@link STEP_ROWS} rows looked at and after each INSERT: the new series
 * of a million-series push took the thread 2.4 s in one turn.
 */
function* seriesIds(
  w: Writer,
  series: SeriesMemory,
  groupRow: number,
  families: readonly PreparedFamily[],
  stored: readonly FamilyInput[],
  previous: PreviousSeries,
): Generator<void, number[][]> {
  const out: number[][] = [];
  const signatures: string[] = [];
  /** Rows that need a new series row: their family and row. */
  const freshFamily: number[] = [];
  const freshRow: number[] = [];
  for (let f = 0; f < families.length; f++) {
    const family = families[f] as PreparedFamily;
    const rows = family.samples;
    let signature = "";
    if (series.keepHistory) {
      const hash = newRowHash();
      for (let from = 0; from < rows.count; from += STEP_ROWS) {
        hashRowIdentities(
          rows,
          from,
          Math.min(rows.count, from + STEP_ROWS),
          hash,
        );
        yield;
      }
      signature = rowSignature(rows.count, hash);
    }
    signatures.push(signature);
    const oldRow = previous.get(family.name)?.rowId;
    const cached = oldRow === undefined ? undefined : series.cache.get(oldRow);
    if (cached !== undefined && cached.signature === signature) {
      out.push([...cached.ids]);
      continue;
    }
    let before: Map<string, number> | undefined;
    if (oldRow !== undefined) {
      before = new Map();
      const old = w.stmt.familySeries.iterate(oldRow) as Iterable<
        unknown
      > as Iterable<[number, string, string, number]>;
      let read = 0;
      for (const [id, suffix, labels, ordinal] of old) {
        before.set(`${ordinal}\u0000${suffix}\u0000${labels}`, id);
        if (++read % STEP_ROWS === 0) yield;
      }
    }
    const ids: number[] = [];
    let last = 0;
    for (let r = 0; r < rows.count; r++) {
      const id = before?.get(
        `${rows.series[r]}\u0000${suffixAt(rows, r)}\u0000${labelsAt(rows, r)}`,
      );
      if (id !== undefined && id > last) {
        ids.push(id);
        last = id;
      } else {
        ids.push(-1 - freshRow.length); // a placeholder until the INSERT
        freshFamily.push(f);
        freshRow.push(r);
        last = Infinity; // what follows is new too
      }
      if ((r + 1) % STEP_ROWS === 0) yield;
    }
    out.push(ids);
  }
  const newIds: number[] = [];
  const args: (number | string)[] = [];
  // The names' ids (insertFamilies wrote the rows) and the group's labels,
  // once per write rather than per row.
  const nameIds = new Map<number, number>();
  const groupText = freshRow.length === 0 ? "" : String(
    (w.stmt.groupLabelsText.get(groupRow) as { text: string }).text,
  );
  for (const f of freshFamily) {
    if (nameIds.has(f)) continue;
    const name = (families[f] as PreparedFamily).name;
    nameIds.set(f, Number((w.stmt.nameId.get(name) as { id: number }).id));
  }
  for (let start = 0; start < freshRow.length; start += SERIES_PER_INSERT) {
    const end = Math.min(freshRow.length, start + SERIES_PER_INSERT);
    args.length = 0;
    for (let i = start; i < end; i++) {
      const f = freshFamily[i] as number;
      const family = families[f] as PreparedFamily;
      const r = freshRow[i] as number;
      args.push(
        groupRow,
        nameIds.get(f) as number,
        family.samples.suffix[r] as number,
        family.samples.series[r] as number,
        withoutGroupLabels(labelsAt(family.samples, r), groupText),
      );
    }
    const result = seriesInsert(w, end - start).run(...args);
    const firstId = Number(result.lastInsertRowid) - (end - start) + 1;
    for (let i = start; i < end; i++) newIds.push(firstId + i - start);
    yield;
  }
  for (let f = 0; f < out.length; f++) {
    const ids = out[f] as number[];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (id < 0) ids[i] = newIds[-1 - id] as number;
    }
    if (!series.keepHistory) continue;
    const oldRow = previous.get((families[f] as PreparedFamily).name)?.rowId;
    if (oldRow !== undefined) series.cache.delete(oldRow);
    series.cache.set((stored[f] as FamilyInput).rowId, {
      signature: signatures[f] as string,
      ids,
    });
  }
  return out;
}

/**
 * A series' labels as `series_keys` keeps them: the group's labels (`text`,
 * `groups.labels` between its braces) as char(1), which a JSON text never
 * holds raw, so that the views' `replace()` gives the labels back exactly.
 * They occur once at most: they begin with a label name, and a name is in
 * the object once.
 */
export function withoutGroupLabels(labels: string, text: string): string {
  return text === "" ? labels : labels.replace(text, "\u0001");
}

/**
 * Forgets the series ids of the group's current families (a group
 * deleted, or a PUT that drops families).
 */
export function forgetSeries(
  view: View,
  series: SeriesMemory,
  groupId: string,
  keep?: ReadonlySet<string>,
): void {
  const group = view.group(groupId);
  if (group === undefined) return;
  for (const [name, stored] of group.families) {
    if (!keep?.has(name)) series.cache.delete(stored.rowId);
  }
}

/**
 * Writes the `samples` rows of `families` (stored as `stored`, same order;
 * `seriesIds` from {@link seriesIds}) with multi-row INSERTs of up
 * to {@link SAMPLES_PER_INSERT} rows: one statement step per chunk
 * instead of one per row or family. A row with a value_text, native
 * histogram, exemplar or created time (few) has them in `sample_extras`,
 * written alike. Yields after each INSERT of samples.
 */
function* insertSamples(
  w: Writer,
  stored: readonly FamilyInput[],
  families: readonly PreparedFamily[],
  seriesIds: readonly (readonly number[])[],
): Generator<void, void> {
  const args: (number | string | null)[] = [];
  const extras: (number | string | null)[] = [];
  let inChunk = 0;
  let extrasInChunk = 0;
  for (let f = 0; f < families.length; f++) {
    const familyId = (stored[f] as FamilyInput).rowId;
    const rows = (families[f] as PreparedFamily).samples;
    const ids = seriesIds[f] as readonly number[];
    let next = 0; // the next of rows.extras, which are in row order
    for (let seq = 0; seq < rows.count; seq++) {
      args.push(familyId, ids[seq] as number, valueAt(rows, seq));
      const extra = rows.extras[next];
      if (extra !== undefined && extra.row === seq) {
        next++;
        extras.push(
          familyId,
          ids[seq] as number,
          extra.valueText,
          extra.native,
          extra.exemplar,
          extra.created,
        );
        if (++extrasInChunk === SAMPLES_PER_INSERT) {
          extrasInsert(w, extrasInChunk).run(...extras);
          extras.length = 0;
          extrasInChunk = 0;
        }
      }
      if (++inChunk === SAMPLES_PER_INSERT) {
        sampleInsert(w, inChunk).run(...args);
        args.length = 0;
        inChunk = 0;
        yield;
      }
    }
  }
  if (inChunk > 0) sampleInsert(w, inChunk).run(...args);
  if (extrasInChunk > 0) extrasInsert(w, extrasInChunk).run(...extras);
}

/** A stored family's metrics, read back from its `samples` rows. */
export function readFamily(
  stmt: Statements,
  stored: StoredFamily,
): MetricFamily {
  const rows =
    (stmt.familySamples.all(stored.rowId) as unknown as SampleDbRow[])
      .map(sampleRow);
  return rowsToFamily(stored, rows);
}

/** Rows looked at between two yields of {@link seriesIds} (a few ms). */
const STEP_ROWS = 16_384;

/** Earlier pushes of its group a write removes at most, without history. */
export const DROP_PUSHES = 100;

/**
 * Ends the current version of the group's families (all, or the one named) as
 * replaced by `pushId`. Without history (`--history.retention=0`,
 * docs/database.md, History and retention) their rows and samples go at once,
 * through the indexes on the group's current families and on samples' family: a
 * push costs what it replaces, never a scan.
 */
export function supersede(
  w: Writer,
  keepHistory: boolean,
  pushId: number,
  time: number,
  groupRow: number,
  name?: string,
): void {
  const stmt = w.stmt;
  if (name === undefined) stmt.dropRenderedAll.run(groupRow);
  else stmt.dropRenderedOne.run(groupRow, name);
  if (keepHistory) {
    if (name === undefined) {
      stmt.supersedeAll.run(pushId, time, groupRow);
    } else stmt.supersedeOne.run(pushId, time, groupRow, name);
    return;
  }
  if (name === undefined) {
    stmt.dropCurrentSeries.run(groupRow);
    stmt.dropCurrentSamples.run(groupRow);
    stmt.dropCurrentExtras.run(groupRow);
    stmt.dropCurrentFamilies.run(groupRow);
  } else {
    stmt.dropCurrentSeriesOne.run(groupRow, name);
    stmt.dropCurrentSamplesOne.run(groupRow, name);
    stmt.dropCurrentExtrasOne.run(groupRow, name);
    stmt.dropCurrentFamiliesOne.run(groupRow, name);
  }
}

/**
 * Without history: removes the group's pushes before `pushId` that no
 * family refers to any more (at most {@link DROP_PUSHES} per write, so that
 * a switch to retention 0 on a long history costs no push a long
 * transaction; maintenance removes the rest).
 */
export function dropEarlierPushes(
  w: Writer,
  keepHistory: boolean,
  groupRow: number,
  pushId: number,
): void {
  if (keepHistory) return;
  const requests = w.stmt.earlierPushRequests.all(
    groupRow,
    pushId,
    DROP_PUSHES,
  );
  w.stmt.dropEarlierPushes.run(groupRow, pushId, DROP_PUSHES);
  if (requests.length > 0) {
    w.stmt.dropRequests.run(JSON.stringify(requests.flat()));
  }
}

/**
 * The `families.id` of the version each family of a write replaces, by
 * family name (see previousSeries).
 */
export type PreviousSeries = Map<string, PreviousFamily>;

/**
 * The current version of a family: its `families.id`, and its type, help
 * and unit, whose `family_meta` row a push that keeps them needs not write.
 */
export interface PreviousFamily {
  readonly rowId: number;
  readonly type: string;
  readonly help: string | undefined;
  readonly unit: string | undefined;
}

/** The series ids of a current family's rows (see SeriesMemory). */
export interface CachedSeries {
  /** {@link rowSignature} of its rows' identities (suffix and labels). */
  readonly signature: string;
  readonly ids: readonly number[];
}

/** The signature of `count` rows whose identities hashed to `hash`. */
export function rowSignature(count: number, hash: Uint32Array): string {
  const a = (hash[0] ?? 0).toString(36);
  return `${count}:${a}:${(hash[1] ?? 0).toString(36)}`;
}
