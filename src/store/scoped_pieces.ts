/**
 * A stored family's text pieces for a scrape limited to some groups (a
 * scope with selectors, docs/security.md), decided per group from the
 * family's holders: every holder visible, the family's cached pieces, the
 * same an unlimited scrape sends; none, nothing; some, the visible series
 * read from the family's arena and deflated for this scrape alone, the
 * cache neither read nor changed. Metadata series go with their group.
 * @module
 */

import {
  compressFragment,
  type GzipFragment,
} from "../exposition/gzip_fragments.ts";
import type { FamilyEntry } from "./family_entry.ts";
import { PIECE } from "./piece.ts";
import type { SeriesOwner } from "./view_types.ts";

/**
 * Below one visible series in this many, texts are read one by one (a
 * piece inflated per run of them); above, the family's texts are inflated
 * once for all.
 */
const SPARSE = 16;

/**
 * zlib level of the pieces written aside: sent once and dropped, so the
 * fastest (a text scrape inflates them again at once).
 */
const ASIDE_LEVEL = 1;

/** The pieces of `entry` showing only the series of groups in `visible`. */
export function scopedPieces(
  entry: FamilyEntry,
  visible: ReadonlySet<string>,
  whole: () => GzipFragment[],
  header: () => Uint8Array,
): GzipFragment[] {
  let seen = 0;
  for (const id of entry.holders) if (visible.has(id)) seen++;
  if (seen === 0) return [];
  if (seen === entry.holders.size) return whole();
  entry.ensureIndexed();
  const order = entry.sorted();
  const { owners, type } = entry;
  const slots: number[] = [];
  for (const slot of order) {
    const owner = owners[slot] as SeriesOwner;
    if (owner.type === type && visible.has(owner.groupId)) slots.push(slot);
  }
  if (slots.length === 0) return [];
  const texts = slots.length * SPARSE < order.length
    ? slots.map((slot) => entry.arena.text(slot))
    : entry.arena.texts(slots);
  const encoder = new TextEncoder();
  const pieces: GzipFragment[] = [];
  let chunk = new TextDecoder().decode(header());
  for (const text of texts) {
    if (chunk.length + text.length > PIECE / 4 && chunk !== "") {
      pieces.push(compressFragment(encoder.encode(chunk), ASIDE_LEVEL));
      chunk = "";
    }
    chunk += text;
  }
  if (chunk !== "") {
    pieces.push(compressFragment(encoder.encode(chunk), ASIDE_LEVEL));
  }
  return pieces;
}
