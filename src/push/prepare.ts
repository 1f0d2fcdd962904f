/**
 * What the store writes for one family, computed before the store is
 * called: the series' keys, their texts (for the view), `families.rendered`
 * and the `samples` rows. Pure, so that it can run on the push worker
 * (push/push_worker.ts) as well as inline. Compact: the texts are one
 * UTF-8 buffer and the rows columns of typed arrays (sample_columns.ts),
 * which cross from the worker without a copy; only the keys are a string
 * each, as the view keeps them.
 * @module
 */

import type { Metric, MetricFamily, MetricType } from "../exposition/model.ts";
import { renderMetric } from "../exposition/text_render.ts";
import { LimitError } from "./push_error.ts";
import { KeyChunks } from "./key_chunks.ts";
import {
  encodeRendered,
  encodeRenderedChunks,
  encodeRenderedJoined,
  encodeRenderedStrings,
  type JoinedTexts,
  renderedOfKeyPieces,
  type SeriesTexts,
} from "./rendered_blob.ts";
import { flat } from "./rendered_series.ts";
import { rowCountOf } from "./sample_rows.ts";
import {
  columnBuffers,
  ColumnsBuilder,
  type SampleColumns,
} from "./sample_columns.ts";
import { seriesKeysOf } from "./series_key.ts";
import { concatBytes } from "../bytes.ts";

export interface PreparedFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string | undefined;
  readonly unit: string | undefined;
  /** `seriesKey` of each series, in order. */
  readonly keys: readonly string[];
  /**
   * The text lines of each series, as a scrape shows them: from
   * {@link COMPACT_MIN_SERIES} series on, their UTF-8 bytes joined by
   * U+0001 (each one's bounds in `bounds`), else a string each.
   */
  readonly texts: SeriesTexts;
  /**
   * The `families.rendered` value, or its UTF-8 bytes (from the push
   * worker): the store writes either as the same TEXT.
   */
  readonly rendered: string | Uint8Array;
  /** The `samples` rows, read through sample_columns.ts's accessors. */
  readonly samples: SampleColumns;
}

/**
 * A prepared family as the push worker keeps it (FamilyBuilder with
 * `chunkKeys`): its keys as JSON arrays of consecutive keys (key_chunks.ts),
 * which the HTTP thread parses as they cross.
 */
export interface ChunkedFamily extends Omit<PreparedFamily, "keys"> {
  readonly keyChunks: readonly string[];
  /** Whether its keys are known all different. */
  readonly distinct: boolean;
}

/** `family` with its keys as strings again. */
export function unchunked(family: ChunkedFamily): PreparedFamily {
  const { keyChunks, distinct: _, ...rest } = family;
  return {
    ...rest,
    keys: keyChunks.flatMap((chunk) => JSON.parse(chunk) as string[]),
  };
}

/** {@link prepareKeyedFamily} with the family's keys computed here. */
export function prepareFamily(family: MetricFamily): PreparedFamily {
  return prepareKeyedFamily(family, seriesKeysOf(family));
}

/** What the store writes for `family`, whose series keys are `keys`. */
export function prepareKeyedFamily(
  family: MetricFamily,
  keys: readonly string[],
): PreparedFamily {
  const builder = new FamilyBuilder(family, {
    series: family.metrics.length,
    rows: rowCountOf(family),
  });
  builder.add(family, keys);
  return builder.finish();
}

/** The buffers of a prepared family, to transfer between threads. */
export function preparedBuffers(family: PreparedFamily): ArrayBuffer[] {
  const buffers = columnBuffers(family.samples);
  const texts = family.texts;
  if (!Array.isArray(texts)) {
    const { joined, bounds } = texts as JoinedTexts;
    buffers.push(joined.buffer as ArrayBuffer);
    if (bounds instanceof Uint32Array) {
      buffers.push(bounds.buffer as ArrayBuffer);
    }
  }
  if (typeof family.rendered !== "string") {
    buffers.push(family.rendered.buffer as ArrayBuffer);
  }
  return buffers.filter((b, i) => buffers.indexOf(b) === i);
}

const encoder = new TextEncoder();

/**
 * Series from which a family's texts are one UTF-8 buffer: a smaller
 * family keeps a string per text, which the view encodes into its own
 * buffer (a buffer per family cost a 10-series push about 5% more CPU).
 */
export const COMPACT_MIN_SERIES = 256;

/** The bounds of a family that keeps its texts as strings: none. */
const NO_BOUNDS = new Uint32Array(0);

/** Most bytes of texts a family may take: their bounds are 32-bit. */
const MAX_TEXT_BYTES = 2 ** 32 - 1;

/**
 * A family prepared a slice of its metrics at a time: the push worker
 * prepares a large family so, letting each slice's objects go before the
 * next (a million series took 1.2 GB at once). `size` is the whole
 * family's: its series and its rows (rowCountOf); or, `growing`, its first
 * slice's, when the family's size is learnt as its body is parsed (the
 * arrays then grow as slices come; from {@link COMPACT_MIN_SERIES} series
 * in the first slice, the texts are one buffer). With `chunkKeys` (the push
 * worker), the keys are kept as JSON (key_chunks.ts) and the family is
 * finished by {@link finishChunked}.
 */
export class FamilyBuilder {
  readonly #header: Omit<MetricFamily, "metrics">;
  readonly #keys: string[] = [];
  /** The keys, with `chunkKeys`; else they are in `#keys`. */
  readonly #chunks: KeyChunks | undefined;
  /** Series added. */
  #count = 0;
  /** The texts as strings, for a family of few series. */
  readonly #strings: string[] | undefined;
  #bounds: Uint32Array;
  readonly #growing: boolean;
  readonly #texts: Uint8Array[] = [];
  #textBytes = 0;
  #separatorFree = true;
  readonly #columns: ColumnsBuilder;

  constructor(
    header: Omit<MetricFamily, "metrics">,
    size: {
      readonly series: number;
      readonly rows: number;
      readonly growing?: boolean;
      readonly chunkKeys?: boolean;
    },
  ) {
    this.#header = header;
    this.#chunks = size.chunkKeys === true
      ? new KeyChunks(size.growing === true ? Infinity : size.series)
      : undefined;
    const compact = size.series >= COMPACT_MIN_SERIES;
    this.#growing = size.growing === true;
    this.#strings = compact ? undefined : [];
    this.#bounds = compact ? new Uint32Array(2 * size.series) : NO_BOUNDS;
    this.#columns = new ColumnsBuilder(size.rows, { growing: this.#growing });
  }

  /**
   * Appends `slice`'s series (the family's next ones, with its header),
   * whose keys are `keys`.
   */
  add(slice: MetricFamily, keys: readonly string[]): void {
    const first = this.#count;
    const metrics = slice.metrics as readonly Metric[];
    this.#count += metrics.length;
    if (this.#growing) this.#reserve(this.#count);
    if (this.#chunks !== undefined) this.#chunks.add(keys);
    const texts: string[] = new Array(metrics.length);
    for (let i = 0; i < metrics.length; i++) {
      // Flat: the view keeps the keys, and one built by concatenation is a
      // tree of its pieces, several times its size.
      if (this.#chunks === undefined) this.#keys.push(flat(keys[i] as string));
      const text = renderMetric(slice.name, slice.type, metrics[i] as Metric);
      // encodeRendered looks at the strings of a small family itself.
      if (
        this.#strings === undefined && this.#separatorFree &&
        (text.includes("\u0001") || text.includes("\u0002"))
      ) {
        this.#separatorFree = false;
      }
      texts[i] = text;
    }
    if (this.#strings === undefined) this.#addTexts(first, texts);
    else this.#strings.push(...texts);
    this.#columns.add(slice, first);
  }

  /** Room for the bounds of `series` series (growing, compact only). */
  #reserve(series: number): void {
    if (this.#strings !== undefined || 2 * series <= this.#bounds.length) {
      return;
    }
    const bounds = new Uint32Array(
      Math.max(2 * series, 2 * this.#bounds.length),
    );
    bounds.set(this.#bounds);
    this.#bounds = bounds;
  }

  /** Encodes the texts of series `first`… at once, noting their bounds. */
  #addTexts(first: number, texts: readonly string[]): void {
    if (texts.length === 0) return;
    const joined = texts.length === 1
      ? texts[0] as string
      : texts.join("\u0001");
    // Slices after the first begin with the separator after the last text.
    const lead = this.#texts.length === 0 ? 0 : 1;
    const bytes = encoder.encode(lead === 0 ? joined : `\u0001${joined}`);
    let at = this.#textBytes + lead;
    if (this.#textBytes + bytes.length > MAX_TEXT_BYTES) {
      throw new LimitError(
        "too_large",
        "body_too_large",
        `the series of family ${
          JSON.stringify(this.#header.name)
        } take more than 4 GiB as text; push them in several pushes`,
      );
    }
    // ASCII, the usual case, is a byte per UTF-16 unit.
    const ascii = bytes.length === joined.length + lead;
    const bounds = this.#bounds;
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i] as string;
      const length = ascii ? text.length : encoder.encode(text).length;
      bounds[2 * (first + i)] = at;
      bounds[2 * (first + i) + 1] = at + length;
      at += length + 1;
    }
    this.#texts.push(bytes);
    this.#textBytes += bytes.length;
  }

  /** The prepared family; the builder is not used after. */
  finish(): PreparedFamily {
    if (this.#chunks !== undefined) return unchunked(this.finishChunked());
    const keys = this.#keys;
    const texts = this.#finishTexts();
    return {
      ...this.#headerFields(),
      keys,
      texts,
      rendered: Array.isArray(texts)
        ? encodeRendered({ keys, texts: texts as string[] })
        : encodeRenderedJoined(keys, texts as JoinedTexts, this.#separatorFree),
      samples: this.#columns.finish(),
    };
  }

  /**
   * With `chunkKeys`: hands over the keys (JSON arrays) and the rows'
   * labels (whole parts) added since the last call, keeping neither (the
   * push worker sends them on while it still parses the body).
   */
  drain(): { readonly keys: string[]; readonly labels: string[] } {
    return {
      keys: this.#chunks?.drain() ?? [],
      labels: this.#columns.drainParts(),
    };
  }

  /**
   * The prepared family of a builder with `chunkKeys`, without what
   * {@link drain} handed over; not used after.
   */
  finishChunked(): ChunkedFamily {
    const chunks = this.#chunks ?? new KeyChunks(Infinity);
    const texts = this.#finishTexts();
    const distinct = chunks.distinct();
    let rendered: string | Uint8Array;
    if (Array.isArray(texts)) {
      rendered = encodeRenderedStrings(chunks.chunks, texts);
    } else if (!chunks.drained) {
      rendered = encodeRenderedChunks(
        chunks.chunks,
        chunks.count,
        texts as JoinedTexts,
        this.#separatorFree,
      );
    } else if (this.#separatorFree) {
      const keyChunks = chunks.chunks;
      rendered = renderedOfKeyPieces(
        chunks.deflatedPieces(),
        (texts as JoinedTexts).joined,
      );
      return this.#chunked(keyChunks, distinct, texts, rendered);
    } else {
      rendered = encodeRenderedJoined(
        chunks.keys(),
        texts as JoinedTexts,
        false,
      );
    }
    return this.#chunked(chunks.chunks, distinct, texts, rendered);
  }

  #chunked(
    keyChunks: readonly string[],
    distinct: boolean,
    texts: SeriesTexts,
    rendered: string | Uint8Array,
  ): ChunkedFamily {
    return {
      ...this.#headerFields(),
      keyChunks,
      distinct,
      texts,
      rendered,
      samples: this.#columns.finish(),
    };
  }

  #headerFields() {
    return {
      name: this.#header.name,
      type: this.#header.type,
      help: this.#header.help,
      unit: this.#header.unit,
    };
  }

  /** The texts: strings (a small family), or one buffer and the bounds. */
  #finishTexts(): SeriesTexts {
    if (this.#strings !== undefined) return this.#strings;
    const joined = this.#texts.length === 1
      ? this.#texts[0] as Uint8Array
      : concatBytes(this.#texts, this.#textBytes);
    this.#texts.length = 0;
    const used = 2 * this.#count;
    const bounds = used < this.#bounds.length
      ? this.#bounds.slice(0, used)
      : this.#bounds;
    return { joined, bounds };
  }
}
