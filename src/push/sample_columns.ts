/**
 * The `samples` rows of a prepared family in columns: typed arrays for the
 * numbers, the labels JSON of every row joined into a few strings, and the
 * rare rows that carry more than a value apart. A million-series push held
 * its rows as eight values each in a JS array (about 130 bytes a row, and a
 * million objects for the garbage collector to walk); in columns a row
 * takes about 20 bytes besides its labels, and the typed arrays cross from
 * the push worker without a copy. Read them through the accessors below
 * only: the store and the aggregating pushes do. Pure.
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import {
  type ExtraColumns,
  extraColumnsOf,
  rowCountOf,
  type SampleRow,
  type SuffixCode,
  SUFFIXES,
  writeFamilyRows,
} from "./sample_rows.ts";

/** Rows whose labels share one string of {@link SampleColumns.labelParts}. */
export const LABEL_PART_ROWS = 1 << 14;
const PART_SHIFT = 14;
const PART_MASK = LABEL_PART_ROWS - 1;

/**
 * Rows from which the columns are typed arrays (a family of fewer rows has
 * them as arrays: a typed array of more than 64 bytes is allocated outside
 * V8's heap, which cost a 10-series push about 10% more CPU).
 */
export const TYPED_MIN_ROWS = 256;

export interface SampleColumns {
  /** Rows. */
  readonly count: number;
  /** The ordinal of each row's series in its family. */
  readonly series: Int32Array | number[];
  /** Each row's index in {@link SUFFIXES}. */
  readonly suffix: Uint8Array | number[];
  /** Each row's value; NaN is NULL in the table (its text is an extra). */
  readonly values: Float64Array | number[];
  /**
   * The labels JSON of rows [p × LABEL_PART_ROWS, (p + 1) × LABEL_PART_ROWS)
   * joined, for each p: strings small enough to cross between threads a
   * message each.
   */
  readonly labelParts: readonly string[];
  /** Where each row's labels end in its part (they start where the last ended). */
  readonly labelEnds: Uint32Array | number[];
  /** The rows with a value_text, native histogram, exemplar or created time. */
  readonly extras: readonly SampleExtra[];
}

/** A row's `sample_extras` columns. */
export interface SampleExtra extends ExtraColumns {
  /** The row's index. */
  readonly row: number;
}

/** The rows of `family` in columns. */
export function familyColumns(family: MetricFamily): SampleColumns {
  const builder = new ColumnsBuilder(rowCountOf(family));
  builder.add(family, 0);
  return builder.finish();
}

/**
 * Columns built a slice of a family at a time (the push worker prepares a
 * large family so, dropping each slice's objects as it goes): `capacity`
 * rows in all, or, `growing`, at first (the push worker, which learns a
 * family's size as it parses, doubles them as rows come and trims them at
 * the end).
 */
export class ColumnsBuilder {
  #capacity: number;
  readonly #growing: boolean;
  #series: Int32Array | number[];
  #suffix: Uint8Array | number[];
  #values: Float64Array | number[];
  #labelEnds: Uint32Array | number[];
  readonly #parts: string[] = [];
  #pending: string[] = [];
  #partLength = 0;
  readonly #extras: SampleExtra[] = [];
  #count = 0;

  constructor(capacity: number, options: { readonly growing?: boolean } = {}) {
    this.#capacity = capacity;
    this.#growing = options.growing === true;
    const typed = capacity >= TYPED_MIN_ROWS;
    this.#series = typed ? new Int32Array(capacity) : [];
    this.#suffix = typed ? new Uint8Array(capacity) : [];
    this.#values = typed ? new Float64Array(capacity) : [];
    this.#labelEnds = typed ? new Uint32Array(capacity) : [];
  }

  /** Appends the rows of `family`, whose first series is series `first`. */
  add(family: MetricFamily, first: number): void {
    if (this.#growing) this.#reserve(this.#count + rowCountOf(family));
    writeFamilyRows(family, (series, suffix, labels, value, extras) => {
      const r = this.#count++;
      this.#series[r] = first + series;
      this.#suffix[r] = suffix;
      this.#values[r] = value;
      this.#pending.push(labels);
      this.#partLength += labels.length;
      this.#labelEnds[r] = this.#partLength;
      const extra = extraColumnsOf(value, extras);
      if (extra !== undefined) this.#extras.push({ row: r, ...extra });
      if ((r & PART_MASK) === PART_MASK) this.#endPart();
    });
  }

  /** Room for `rows` rows in the typed columns (arrays grow by themselves). */
  #reserve(rows: number): void {
    if (rows <= this.#capacity || Array.isArray(this.#series)) return;
    const capacity = Math.max(rows, 2 * this.#capacity);
    this.#series = grown(this.#series, new Int32Array(capacity));
    this.#suffix = grown(this.#suffix as Uint8Array, new Uint8Array(capacity));
    this.#values = grown(
      this.#values as Float64Array,
      new Float64Array(capacity),
    );
    this.#labelEnds = grown(
      this.#labelEnds as Uint32Array,
      new Uint32Array(capacity),
    );
    this.#capacity = capacity;
  }

  /**
   * Hands over the label parts completed since the last call; `finish`
   * then gives only those completed after (the push worker sends them on
   * as it parses).
   */
  drainParts(): string[] {
    return this.#parts.splice(0);
  }

  #endPart(): void {
    const pending = this.#pending;
    this.#parts.push(
      pending.length === 1 ? pending[0] as string : pending.join(""),
    );
    this.#pending = [];
    this.#partLength = 0;
  }

  /**
   * The columns; throws if fewer rows were added than announced (unless
   * growing: then the columns are cut to the rows added).
   */
  finish(): SampleColumns {
    if (this.#growing && this.#count < this.#capacity) {
      this.#trim();
    } else if (this.#count !== this.#capacity) {
      throw new Error(
        `${this.#count} sample rows were added where ${this.#capacity} were announced`,
      );
    }
    if (this.#pending.length > 0) this.#endPart();
    return {
      count: this.#count,
      series: this.#series,
      suffix: this.#suffix,
      values: this.#values,
      labelParts: this.#parts,
      labelEnds: this.#labelEnds,
      extras: this.#extras,
    };
  }

  /** Typed columns of exactly the rows added (they cross as whole buffers). */
  #trim(): void {
    const n = this.#count;
    if (!Array.isArray(this.#series)) {
      this.#series = this.#series.slice(0, n);
      this.#suffix = (this.#suffix as Uint8Array).slice(0, n);
      this.#values = (this.#values as Float64Array).slice(0, n);
      this.#labelEnds = (this.#labelEnds as Uint32Array).slice(0, n);
    }
    this.#capacity = n;
  }
}

/** `to`, a larger array, with `from`'s elements at its start. */
function grown<T extends Int32Array | Uint8Array | Float64Array | Uint32Array>(
  from: T,
  to: T,
): T {
  to.set(from as never);
  return to;
}

/** The suffix of row `r`'s metric (`_sum`, …; "" for the family's own). */
export function suffixAt(columns: SampleColumns, r: number): string {
  return SUFFIXES[columns.suffix[r] as SuffixCode];
}

/** The labels JSON of row `r`. */
export function labelsAt(columns: SampleColumns, r: number): string {
  const part = columns.labelParts[r >>> PART_SHIFT] as string;
  const start = (r & PART_MASK) === 0 ? 0 : columns.labelEnds[r - 1] as number;
  return part.slice(start, columns.labelEnds[r] as number);
}

/** The `samples.value` of row `r`: null for NaN. */
export function valueAt(columns: SampleColumns, r: number): number | null {
  const value = columns.values[r] as number;
  return Number.isNaN(value) ? null : value;
}

/** Row `r` as an object (not for the hot paths: the store reads columns). */
export function sampleRowAt(
  columns: SampleColumns,
  name: string,
  r: number,
): SampleRow {
  return sampleRowWith(
    columns,
    name,
    r,
    columns.extras.find((e) => e.row === r),
  );
}

/** {@link sampleRowAt} with row `r`'s extra found by the caller. */
export function sampleRowWith(
  columns: SampleColumns,
  name: string,
  r: number,
  extra: SampleExtra | undefined,
): SampleRow {
  return {
    series: columns.series[r] as number,
    name: name + suffixAt(columns, r),
    labels: labelsAt(columns, r),
    value: valueAt(columns, r),
    valueText: extra?.valueText ?? null,
    native: extra?.native ?? null,
    exemplar: extra?.exemplar ?? null,
    created: extra?.created ?? null,
  };
}

/** The typed arrays' buffers, to transfer between threads. */
export function columnBuffers(columns: SampleColumns): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (
    const column of [
      columns.series,
      columns.suffix,
      columns.values,
      columns.labelEnds,
    ]
  ) {
    if (!Array.isArray(column)) buffers.push(column.buffer as ArrayBuffer);
  }
  return buffers;
}

/**
 * Folds the identity of rows [from, to) (each one's ordinal, suffix and
 * labels) into
 * `hash`, two 32-bit FNV-1a states with different offsets: equal hashes of
 * all rows mean the same series rows in the same order, but for a chance of
 * one in 2^64. A slice at a time, without making a string per row.
 */
export function hashRowIdentities(
  columns: SampleColumns,
  from: number,
  to: number,
  hash: Uint32Array,
): void {
  let a = hash[0] as number;
  let b = hash[1] as number;
  for (let r = from; r < to; r++) {
    const part = columns.labelParts[r >>> PART_SHIFT] as string;
    const start = (r & PART_MASK) === 0
      ? 0
      : columns.labelEnds[r - 1] as number;
    const end = columns.labelEnds[r] as number;
    const suffix = columns.suffix[r] as number;
    const ordinal = columns.series[r] as number;
    a = Math.imul(a ^ suffix, 0x01000193);
    b = Math.imul(b ^ suffix, 0x01000193);
    a = Math.imul(a ^ ordinal, 0x01000193);
    b = Math.imul(b ^ ordinal, 0x01000193);
    for (let i = start; i < end; i++) {
      const c = part.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x01000193);
    }
    a = Math.imul(a ^ 0xffff, 0x01000193); // a separator no labels contain
    b = Math.imul(b ^ 0xfffe, 0x01000193);
  }
  hash[0] = a;
  hash[1] = b;
}

/** The initial state of {@link hashRowIdentities}. */
export function newRowHash(): Uint32Array {
  return Uint32Array.of(0x811c9dc5, 0x050c5d1f);
}
