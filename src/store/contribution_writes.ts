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
import type { MetricFamily } from "../exposition/model.ts";
import type { AddedFamily } from "../push/aggregate.ts";
import { familyToRows } from "../push/sample_rows.ts";
import type { SeriesMemory } from "./row_writers.ts";
import type { Writer } from "./statements.ts";

/** What the write of the sums left: the group's row, the families' rows. */
export interface WrittenSums {
  readonly groupRow: number;
  readonly stored: readonly { readonly rowId: number }[];
}

/** The multi-row INSERTs of this module, by connection and row count. */
const INSERTS = new WeakMap<Writer, Map<string, StatementSync>>();

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
    addDeltas(state, state.rows.length);
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
      addDeltas(state, Math.min(state.rows.length, state.next + SLICE_ROWS));
      if (state.next >= state.rows.length) break;
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
  readonly rows: readonly PushedRow[];
  readonly seen: Set<number>;
  /** The next pushed row; the metric of the last one, and its next row. */
  next: number;
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
  return {
    familyId,
    sum,
    ids,
    rows: pushedRows(pushed),
    seen: new Set(),
    next: 0,
    metric: -1,
    at: 0,
    deltas: "",
  };
}

/** The deltas of the family's pushed rows up to `until`. */
function addDeltas(state: FamilyDeltas, until: number): void {
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

/** What `contributions` keeps of a pushed sample row. */
interface PushedRow {
  readonly series: number;
  readonly value: number | null;
  readonly valueText: string | null;
  readonly native: string | null;
}

/**
 * The values of `family`'s sample rows, in familyToRows's order, without
 * their names and labels (the series rows have them); a family with
 * native histograms through familyToRows, for their JSON.
 */
function pushedRows(family: MetricFamily): PushedRow[] {
  if (
    family.metrics.some((m) =>
      "buckets" in m &&
      (m.native !== undefined || m.sampleCountFloat !== undefined)
    )
  ) {
    return familyToRows(family);
  }
  const rows: PushedRow[] = [];
  const add = (series: number, v: number) => {
    const exact = Number.isNaN(v) || Object.is(v, -0);
    rows.push({
      series,
      value: Number.isNaN(v) ? null : v,
      valueText: exact ? formatGoFloat(v) : null,
      native: null,
    });
  };
  family.metrics.forEach((m, series) => {
    if ("quantiles" in m) {
      for (const q of m.quantiles) add(series, q.value);
      add(series, m.sampleSum);
      add(series, m.sampleCount);
    } else if ("buckets" in m) {
      for (const b of m.buckets) add(series, b.cumulativeCount);
      add(series, m.sampleSum);
      add(series, m.sampleCount);
    } else add(series, m.value);
  });
  return rows;
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
  for (let start = 0; start < total; start += ROWS_PER_INSERT) {
    const n = Math.min(ROWS_PER_INSERT, total - start);
    let statement = cache.get(`${n} ${sql}`);
    if (statement === undefined) {
      const row = `(${Array.from({ length: width }, () => "?").join(",")})`;
      statement = w.db.prepare(
        sql + Array.from({ length: n }, () => row).join(","),
      );
      cache.set(`${n} ${sql}`, statement);
    }
    statement.run(...values.slice(start * width, (start + n) * width));
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
