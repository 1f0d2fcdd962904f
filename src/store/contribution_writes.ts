/**
 * The rows of one contribution to an aggregating group, inside its
 * transaction, once its sums are written (store/aggregate_writes.ts;
 * docs/database.md, Aggregating groups): per family version written, the
 * pushed sample rows' values as pushed, with their series ids, in one
 * `contributions` row; and the partials of each sum its value does not
 * hold exactly (`sum_residues`).
 * @module
 */

import type { StatementSync } from "node:sqlite";
import { formatGoFloat } from "../exposition/float.ts";
import type { Metric, MetricFamily } from "../exposition/model.ts";
import type { AddedFamily } from "../push/aggregate.ts";
import { familyToRows } from "../push/sample_rows.ts";
import type { SeriesMemory } from "./row_writers.ts";
import type { Writer } from "./statements.ts";

/** What the write of the sums left: the group's row, the families' rows. */
export interface WrittenSums {
  readonly groupRow: number;
  readonly stored: readonly { readonly rowId: number }[];
}

/** The multi-row INSERTs of this module, by connection, SQL and row count. */
const INSERTS = new WeakMap<Writer, Map<string, StatementSync[]>>();

/** Rows per multi-row INSERT of this module (3 parameters each at most). */
const ROWS_PER_INSERT = 100;

/** Sample rows of a contribution turned into JSON between two yields. */
const SLICE_ROWS = 4_096;

/**
 * The contribution's rows: each pushed sample row's value as pushed, and
 * the residue of each sum that needs one, keyed by the family versions
 * just written and their series.
 */
export function writeContributions(
  w: Writer,
  series: SeriesMemory,
  pushedFamilies: readonly MetricFamily[],
  summed: readonly AddedFamily[],
  written: WrittenSums,
): void {
  const out: Rows = { contributions: [], residues: [] };
  for (let f = 0; f < summed.length; f++) {
    const state = startFamily(
      w,
      series,
      pushedFamilies,
      summed,
      written,
      f,
      out,
    );
    if (state === undefined) continue;
    addDeltas(state, Infinity);
    out.contributions.push(state.familyId, `[${state.deltas}]`);
  }
  insertRows(w, CONTRIBUTIONS, 2, out.contributions);
  insertRows(w, RESIDUES, 3, out.residues);
}

/**
 * {@link writeContributions} a step at a time (it yields after each
 * {@link SLICE_ROWS} rows of a family), as a large push is written aside.
 */
export function* contributionSteps(
  w: Writer,
  series: SeriesMemory,
  pushedFamilies: readonly MetricFamily[],
  summed: readonly AddedFamily[],
  written: WrittenSums,
): Generator<void, void, undefined> {
  const out: Rows = { contributions: [], residues: [] };
  for (let f = 0; f < summed.length; f++) {
    const state = startFamily(
      w,
      series,
      pushedFamilies,
      summed,
      written,
      f,
      out,
    );
    if (state === undefined) continue;
    for (;;) {
      addDeltas(state, SLICE_ROWS);
      if (state.next >= state.end) break;
      yield;
    }
    out.contributions.push(state.familyId, `[${state.deltas}]`);
  }
  insertRows(w, CONTRIBUTIONS, 2, out.contributions);
  insertRows(w, RESIDUES, 3, out.residues);
}

/** The parameters of the contribution's INSERTs, gathered. */
interface Rows {
  readonly contributions: (number | string)[];
  readonly residues: (number | string)[];
}

/** One family's contribution under way: its deltas so far. */
interface FamilyDeltas {
  readonly familyId: number;
  readonly sum: AddedFamily;
  readonly ids: readonly number[];
  /**
   * The pushed family, walked a metric at a time, when its rows are its
   * metrics' values in order (no native histogram); else its rows.
   */
  readonly plain: MetricFamily | undefined;
  readonly rows: readonly PushedRow[];
  readonly seen: Set<number>;
  /** The next pushed metric (plain) or row, and where they end. */
  next: number;
  readonly end: number;
  /** The metric of the last row, and its next row in the sum. */
  metric: number;
  at: number;
  deltas: string;
}

/**
 * The residues of family `f`'s sums added to `out`, and its deltas to
 * come; undefined when the push has no family there.
 */
function startFamily(
  w: Writer,
  series: SeriesMemory,
  pushedFamilies: readonly MetricFamily[],
  summed: readonly AddedFamily[],
  written: WrittenSums,
  f: number,
  out: Rows,
): FamilyDeltas | undefined {
  const familyId = written.stored[f]?.rowId as number;
  const sum = summed[f] as AddedFamily;
  const ids = seriesIdsOf(w, series, familyId);
  const residues = sum.residues;
  for (let i = 0; i < residues.length; i++) {
    const residue = residues[i];
    if (residue !== undefined) {
      out.residues.push(familyId, ids[i] as number, JSON.stringify(residue));
    }
  }
  const pushed = pushedFamilies[f];
  if (pushed === undefined) return undefined;
  const plain = hasNative(pushed) ? undefined : pushed;
  const rows = plain === undefined ? familyToRows(pushed) : NO_ROWS;
  return {
    familyId,
    sum,
    ids,
    plain,
    rows,
    seen: plain === undefined ? new Set() : NOT_NEEDED,
    next: 0,
    end: plain === undefined ? rows.length : plain.metrics.length,
    metric: -1,
    at: 0,
    deltas: "",
  };
}

const NO_ROWS: readonly PushedRow[] = [];
const NOT_NEEDED = new Set<number>();

/** Whether `family` has a native histogram (its rows carry more). */
function hasNative(family: MetricFamily): boolean {
  for (const m of family.metrics) {
    if (
      "buckets" in m &&
      (m.native !== undefined || m.sampleCountFloat !== undefined)
    ) return true;
  }
  return false;
}

/** The deltas of about `rows` more of the family's pushed rows. */
function addDeltas(state: FamilyDeltas, rows: number): void {
  if (state.plain !== undefined) plainDeltas(state, state.plain, rows);
  else rowDeltas(state, Math.min(state.end, state.next + rows));
}

/**
 * The deltas of the pushed metrics from `state.next` on, until `budget`
 * rows are done: each metric's values in familyToRows's order, the
 * series ids from where the metric is in the sum (consecutive there, and
 * distinct: no two pushed metrics meet the same series), without an
 * object per row.
 */
function plainDeltas(
  state: FamilyDeltas,
  family: MetricFamily,
  budget: number,
): void {
  const { ids, sum } = state;
  const metrics = family.metrics as readonly Metric[];
  let deltas = state.deltas;
  let done = 0;
  let k = state.next;
  for (; k < state.end && done < budget; k++) {
    let at = sum.pushedAt[k] ?? -1; // -1: a repeated series (unchecked)
    if (at < 0) continue;
    const m = metrics[k] as Metric;
    const rows = rowsOf(m);
    for (let j = 0; j < rows; j++) {
      const id = ids[at++];
      if (id === undefined) break;
      deltas += `${deltas === "" ? "[" : ",["}${id},${
        deltaValue(rowValue(m, j))
      }]`;
    }
    done += rows;
  }
  state.next = k;
  state.deltas = deltas;
}

/** Sample rows of a metric without native histogram. */
function rowsOf(m: Metric): number {
  if ("quantiles" in m) return m.quantiles.length + 2;
  if ("buckets" in m) return m.buckets.length + 2;
  return 1;
}

/** The value of a metric's row `j`, in familyToRows's order. */
function rowValue(m: Metric, j: number): number {
  if ("value" in m) return m.value;
  const n = "quantiles" in m ? m.quantiles.length : m.buckets.length;
  if (j === n) return m.sampleSum;
  if (j > n) return m.sampleCount;
  return "quantiles" in m
    ? (m.quantiles[j] as { value: number }).value
    : (m.buckets[j] as { cumulativeCount: number }).cumulativeCount;
}

/** A pushed value in `contributions.deltas`: a number, or a string. */
function deltaValue(value: number): string {
  return Number.isFinite(value) && !Object.is(value, -0)
    ? String(value)
    : `"${formatGoFloat(value)}"`;
}

/** The deltas of the family's pushed rows up to `until` (natives). */
function rowDeltas(state: FamilyDeltas, until: number): void {
  const { rows, ids, seen, sum } = state;
  let { metric, at, deltas } = state;
  for (let r = state.next; r < until; r++) {
    const row = rows[r] as PushedRow;
    // A metric's rows are consecutive, its first at pushedAt in the sum.
    if (row.series !== metric) {
      metric = row.series;
      at = sum.pushedAt[metric] ?? -1; // -1: a repeated series (unchecked)
    }
    const id = at < 0 ? undefined : ids[at++];
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    deltas += `${deltas === "" ? "" : ","}[${id},${
      row.valueText === null && row.value !== null
        ? jsonNumber(row.value)
        : JSON.stringify(row.valueText ?? "NaN")
    }${row.native === null ? "" : `,${row.native}`}]`;
  }
  state.next = until;
  state.metric = metric;
  state.at = at;
  state.deltas = deltas;
}

/** A finite value as JSON; ±Inf as the strings `+Inf` and `-Inf`. */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : `"${formatGoFloat(value)}"`;
}

/** What `contributions` keeps of a pushed sample row (familyToRows's). */
interface PushedRow {
  readonly series: number;
  readonly value: number | null;
  readonly valueText: string | null;
  readonly native: string | null;
}

const CONTRIBUTIONS = "INSERT INTO contributions (family_id, deltas) VALUES ";
const RESIDUES =
  "INSERT INTO sum_residues (family_id, series_id, partials) VALUES ";

/** Multi-row INSERTs of `values`, `width` per row, prepared once per n. */
function insertRows(
  w: Writer,
  sql: string,
  width: number,
  values: readonly (number | string | null)[],
): void {
  const total = values.length / width;
  let cache = INSERTS.get(w);
  if (cache === undefined) INSERTS.set(w, cache = new Map());
  let bySize = cache.get(sql);
  if (bySize === undefined) cache.set(sql, bySize = []);
  for (let start = 0; start < total; start += ROWS_PER_INSERT) {
    const n = Math.min(ROWS_PER_INSERT, total - start);
    let statement = bySize[n];
    if (statement === undefined) {
      const row = `(${Array.from({ length: width }, () => "?").join(",")})`;
      statement = w.db.prepare(
        sql + Array.from({ length: n }, () => row).join(","),
      );
      bySize[n] = statement;
    }
    statement.run(
      ...(n === total
        ? values
        : values.slice(start * width, (start + n) * width)),
    );
  }
}

/**
 * The series ids of a family version's rows, in order: remembered by the
 * row writers when history is kept, else read back.
 */
function seriesIdsOf(
  w: Writer,
  series: SeriesMemory,
  familyId: number,
): readonly number[] {
  const cached = series.cache.get(familyId);
  if (cached !== undefined) return cached.ids;
  const rows = w.stmt.familySeries.all(familyId) as unknown as [
    number,
    string,
    string,
  ][];
  return rows.map(([id]) => id);
}
