/**
 * The delimited protobuf scrape (docs/compatibility.md) made a family at a time, and a
 * big family a page of rows at a time, so that a response can send it in
 * slices between which the HTTP thread serves others. A delimited body is
 * a sequence of length-prefixed MetricFamily messages, so each family is
 * encoded on its own; its length comes first, so a family's metrics are
 * held (encoded, in the pages they were read in) until all are read.
 * The bytes equal `encodeDelimited(view.mergedFamilies(…))`.
 *
 * Each family is the view as it was when the scrape reached it (not when
 * the scrape began, as for text: the view keeps no values), or, if a push
 * replaced part of it while it was read, as it was after that push: never
 * short, never two versions of a group's family. Never writes.
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import {
  encodeDelimited,
  encodeFamilyEnds,
  encodeMetricFields,
  encodeVarint,
} from "../exposition/protobuf_encode.ts";
import { familyPages, type ReadSampleRows } from "./family_pages.ts";
import type {
  FamilyReader,
  ReadView as View,
  ScrapeSeries,
  SeriesOwner,
  StoredFamily,
} from "./view.ts";

export interface ProtobufScrapeSource {
  readonly view: View;
  /** The gateway's own families (docs/compatibility.md), merged in by name. */
  readonly own: ReadonlyMap<string, MetricFamily>;
  readonly readRows: ReadSampleRows;
  /** Reads a stored family whole: only for a name the gateway also has. */
  readonly readFamily: FamilyReader;
  /** Only these groups' series (a scope limited by selectors), `own` empty. */
  readonly visible?: ReadonlySet<string>;
}

/** A unit of work done with nothing to send yet. */
const NOTHING = new Uint8Array(0);

/**
 * The body's bytes, in pieces of any size; an empty piece marks work done
 * with nothing to send yet, so that the caller can pause between pieces.
 */
export function* protobufScrape(
  source: ProtobufScrapeSource,
): Generator<Uint8Array, void, undefined> {
  const { view, own } = source;
  for (const name of view.scrapeNames(own)) {
    const ownFamily = own.get(name);
    if (ownFamily !== undefined) {
      // The gateway's own families are small; a stored family of the same
      // name exists only in unchecked mode (docs/compatibility.md).
      const merged = view.mergedFamily(name, ownFamily, source.readFamily);
      if (merged !== undefined) yield encodeDelimited([merged]);
      continue;
    }
    yield* storedFamily(source, name);
  }
}

/**
 * One stored family: its metrics read page by page, then sent in order.
 * Each group's part is one version: if a push replaces or deletes it while
 * its pages are read (with `--history.retention=0` its rows go at once, and
 * their ids may be taken again by the new version's), the family is read
 * again from the view as it is then. The last attempt reads the family in
 * one turn, so that pushes cannot starve a scrape (only a family replaced
 * {@link MAX_REREADS} times while it was read costs that turn).
 */
function* storedFamily(
  source: ProtobufScrapeSource,
  name: string,
): Generator<Uint8Array, void, undefined> {
  for (let attempt = 0; attempt <= MAX_REREADS; attempt++) {
    const body = yield* readFamily(source, name, attempt === MAX_REREADS);
    if (body !== REPLACED) {
      yield* body;
      return;
    }
  }
}

/** Times a family is read again after a push replaced part of it. */
export const MAX_REREADS = 3;

const REPLACED = Symbol("replaced");

/**
 * Reads family `name` and returns its encoded pieces, or {@link REPLACED}
 * if a group's part was replaced while its pages were read. `atOnce`: read
 * without pausing (nothing can be replaced meanwhile).
 */
function* readFamily(
  source: ProtobufScrapeSource,
  name: string,
  atOnce: boolean,
): Generator<Uint8Array, Uint8Array[] | typeof REPLACED, undefined> {
  const { view } = source;
  const series = view.scrapeSeries(name);
  if (series === undefined) return [];
  const { type, help } = series;
  const n = series.order.length;
  // Where each series' metric field is: chunk, start, end.
  const chunks: Uint8Array[] = [];
  const chunkOf = new Int32Array(n).fill(-1);
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  if (!atOnce) yield NOTHING;
  const header = { name, help, type, metrics: [] } as MetricFamily;
  const place = (family: MetricFamily, at: readonly number[]) => {
    const fieldEnds: number[] = [];
    const bytes = encodeMetricFields(family, fieldEnds);
    chunks.push(bytes);
    for (let k = 0; k < at.length; k++) {
      const p = at[k] as number;
      if (p < 0 || (chunkOf[p] as number) >= 0) continue; // the first series of a key wins
      chunkOf[p] = chunks.length - 1;
      starts[p] = k === 0 ? 0 : fieldEnds[k - 1] as number;
      ends[p] = fieldEnds[k] as number;
    }
  };
  for (const { owner, keys } of series.holders) {
    // A holder of another type is left out (unchecked mode, docs/compatibility.md).
    if (owner.type !== type) continue;
    if (source.visible?.has(owner.groupId) === false) continue;
    const find = positionFinder(keys, owner, series);
    const metadata = view.metadataMetric(name, owner);
    if (metadata !== undefined) {
      place({ ...header, metrics: [metadata] } as MetricFamily, [find(0)]);
      continue;
    }
    if (!("rowId" in owner)) continue; // a metadata series whose group left
    // Each page is read and checked in the same turn, and a push changes
    // the database and the view in one turn too: a page read while the
    // version is still the group's current one is of that version.
    const current = () =>
      view.group(owner.groupId)?.families.get(name) === owner;
    for (const page of familyPages(source.readRows, owner as StoredFamily)) {
      if (!current()) return REPLACED;
      const at = page.series.map(find);
      place({ ...header, metrics: page.family.metrics } as MetricFamily, at);
      if (!atOnce) yield NOTHING;
    }
    // Also when its rows were gone before the first page was read.
    if (!current()) return REPLACED;
  }
  const { head, tail } = encodeFamilyEnds(header);
  let length = head.length + tail.length;
  let filled = 0;
  for (let p = 0; p < n; p++) if ((chunkOf[p] as number) >= 0) filled++;
  if (filled === 0) return []; // a family without series is left out
  for (let p = 0; p < n; p++) {
    if ((chunkOf[p] as number) >= 0) {
      length += (ends[p] as number) - (starts[p] as number);
    }
  }
  const body = [encodeVarint(length), head];
  for (let p = 0; p < n; p++) {
    const c = chunkOf[p] as number;
    if (c < 0) continue;
    body.push((chunks[c] as Uint8Array).subarray(starts[p], ends[p]));
  }
  body.push(tail);
  return body;
}

/**
 * Maps an owner's series ordinal to its position in the scrape (-1: not
 * scraped, e.g. shadowed) through the view's index; only if the view
 * changed since the snapshot, through a map of the owner's keys.
 */
function positionFinder(
  ownerKeys: readonly string[],
  owner: SeriesOwner,
  series: ScrapeSeries,
): (ordinal: number) => number {
  const { order, owners, keys } = series;
  let byKey: Map<string, number> | undefined;
  return (ordinal) => {
    const key = ownerKeys[ordinal];
    if (key === undefined) return -1;
    const p = series.positionOf(key);
    const slot = order[p];
    if (slot !== undefined && keys[slot] === key && owners[slot] === owner) {
      return p;
    }
    if (byKey === undefined) {
      byKey = new Map();
      for (let q = 0; q < order.length; q++) {
        const s = order[q] as number;
        if (owners[s] === owner) byKey.set(keys[s] as string, q);
      }
    }
    return byKey.get(key) ?? -1;
  };
}
