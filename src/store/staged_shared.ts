/**
 * A large family of a push whose name other groups hold too, built aside a
 * slice at a time into a new entry: the other holders' series copied from
 * the current entry (keys, owners, texts, already in scrape order), then
 * the pushed ones, sorted and merged, the scrape pieces written; the view
 * swaps it in at once, as staged_family.ts does for a name no other group
 * holds. Putting 500k series in place into a family of 1.5M held the HTTP
 * thread 0.4–0.6 s in one turn (docs/performance.md, Abuse); the copy costs
 * more in all (the other holders' series once more), in slices.
 * @module
 */

import { compareUtf8 } from "../exposition/sort.ts";
import { renderFamilyHeader } from "../exposition/text_render.ts";
import type { GzipFragment } from "../exposition/gzip_fragments.ts";
import { PUSH_FAILURE_TIME, PUSH_TIME } from "../push/validate.ts";
import { sameKeys } from "../push/series_key.ts";
import { FamilyEntry } from "./family_entry.ts";
import {
  type FamilyInput,
  type SeriesOwner,
  type StoredFamily,
  storedFamily,
  type ViewCounters,
} from "./view_types.ts";

/**
 * Series from which a pushed family that other groups hold is built aside:
 * below, putting it in place takes a few tens of ms at most, and copying
 * the other groups' series would cost more than it saves.
 */
export const SHARED_STAGE_MIN_SERIES = 32_768;
/** Series copied or inserted per step of a build (a few ms). */
export const STEP_SERIES = 4096;
/** Comparisons per step of the sort. */
export const STEP_COMPARISONS = 20_000;

/** A family built aside with the series of the entry it replaces. */
export interface StagedShared {
  readonly input: FamilyInput;
  readonly stored: StoredFamily;
  readonly entry: FamilyEntry;
  /** The entry it was built from: swapped only while that one is current. */
  readonly replaces: FamilyEntry;
}

/** What {@link stageShared} reads of the view. */
export interface SharedStagingView {
  family(name: string): unknown;
  group(
    id: string,
  ): { readonly families: ReadonlyMap<string, StoredFamily> } | undefined;
}

/**
 * The current entry of `input`'s name when the push of group `groupId` may
 * be built aside with it: other groups hold it, nothing of it is shadowed
 * or of another type than the pushed family (the unchecked mode's cases,
 * which the view's own path counts); undefined otherwise.
 */
export function sharedEntry(
  view: SharedStagingView,
  groupId: string,
  input: FamilyInput,
): FamilyEntry | undefined {
  const name = input.name;
  if (name === PUSH_TIME || name === PUSH_FAILURE_TIME) return undefined;
  const entry = view.family(name) as FamilyEntry | undefined;
  if (entry === undefined || entry.shadowed > 0) return undefined;
  if (entry.type !== input.type) return undefined;
  let others = 0;
  for (const id of entry.holders) {
    const held = view.group(id)?.families.get(name);
    if (held === undefined) return undefined;
    if (held.shadowed !== undefined || held.type !== entry.type) {
      return undefined;
    }
    if (id !== groupId) others++;
  }
  return others > 0 ? entry : undefined;
}

/**
 * Builds the entry family `input` of group `groupId` would have once
 * pushed, from `old` (see {@link sharedEntry}), a step at a time; undefined
 * when a pushed series is another group's or repeats (only possible with
 * the consistency check off: the view's own path handles that). `old` must
 * not change meanwhile (the store applies no other push until this one's
 * COMMIT); a scrape that rewrites its pieces meanwhile changes nothing of it
 * that the copy reads.
 */
export function* stageShared(
  view: SharedStagingView,
  groupId: string,
  input: FamilyInput,
  old: FamilyEntry,
  counters: ViewCounters,
): Generator<void, StagedShared | undefined, undefined> {
  old.ensureIndexed();
  while (old.sortSome(STEP_COMPARISONS) > 0) yield;
  const order = old.sorted();
  const entry = new FamilyEntry(input.type, counters);
  const held = view.group(groupId)?.families.get(input.name);
  // As in place: a version with the same series keeps the group's place
  // among the holders, another one comes last.
  const keepsPlace = held !== undefined && sameKeys(input.keys, held.keys);
  for (const id of old.holders) {
    if (id !== groupId || keepsPlace) entry.holders.add(id);
  }
  entry.holders.add(groupId);
  // The other holders' series, in the scrape order they are in already.
  let reader = old.arena.reader();
  try {
    const owners = old.owners;
    for (let from = 0; from < order.length; from += STEP_SERIES) {
      const to = Math.min(order.length, from + STEP_SERIES);
      const picked: number[] = [];
      const placed: number[] = [];
      for (let k = from; k < to; k++) {
        const slot = order[k] as number;
        const owner = owners[slot] as SeriesOwner;
        if (owner.groupId === groupId) continue;
        picked.push(slot);
        placed.push(entry.insert(old.keys[slot] as string, owner));
      }
      let texts = reader.read(picked);
      if (texts === undefined) {
        // A scrape rewrote the old entry's pieces: same texts, elsewhere.
        reader.close();
        reader = old.arena.reader();
        texts = reader.read(picked) as NonNullable<typeof texts>;
      }
      entry.arena.write(placed, texts);
      yield;
    }
  } finally {
    reader.close();
  }
  entry.order = entry.added;
  entry.added = [];
  // Then the pushed series, sorted among themselves and merged.
  const stored = storedFamily(groupId, input, input.keys);
  if (!(yield* insertPushed(entry, stored, input.texts))) return undefined;
  const header = new TextEncoder().encode(
    renderFamilyHeader(
      input.name,
      help(view, entry, groupId, input),
      input.type,
    ),
  );
  const steps = entry.arena.buildSlices(
    header,
    entry.sorted(),
    () => true,
    STEP_SERIES,
  );
  let step: IteratorResult<void, GzipFragment[] | undefined>;
  while ((step = steps.next()).done !== true) yield;
  if (step.value === undefined) return undefined;
  entry.scrape = step.value;
  return { input, stored, entry, replaces: old };
}

/**
 * The family's HELP once pushed, as the view chooses it (docs/compatibility.md,
 * HELP conflicts): the first non-empty one in group order.
 */
function help(
  view: SharedStagingView,
  entry: FamilyEntry,
  groupId: string,
  input: FamilyInput,
): string | undefined {
  let best: { group: string; help: string } | undefined;
  for (const id of entry.holders) {
    const help = id === groupId
      ? input.help
      : view.group(id)?.families.get(input.name)?.help;
    if (help === undefined || help === "") continue;
    if (!best || compareUtf8(id, best.group) < 0) best = { group: id, help };
  }
  return best?.help;
}

/**
 * Inserts the pushed series of `stored` (texts `texts`) into `entry`
 * {@link STEP_SERIES} at a time, then sorts the entry a step at a time.
 * False when a key is in the entry already: the family is put in place
 * instead.
 */
export function* insertPushed(
  entry: FamilyEntry,
  stored: StoredFamily,
  texts: FamilyInput["texts"],
): Generator<void, boolean, undefined> {
  const { keys } = stored;
  const slots = entry.slots;
  for (let from = 0; from < keys.length; from += STEP_SERIES) {
    const to = Math.min(keys.length, from + STEP_SERIES);
    const placed: number[] = new Array(to - from);
    const indexes: number[] = new Array(to - from);
    for (let i = from; i < to; i++) {
      const key = keys[i] as string;
      if (slots.has(key)) return false;
      placed[i - from] = entry.insert(key, stored);
      indexes[i - from] = i;
    }
    entry.arena.write(placed, texts, indexes);
    yield;
  }
  while (entry.sortSome(STEP_COMPARISONS) > 0) yield;
  return true;
}
