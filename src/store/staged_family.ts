/**
 * A large family of a push built aside, a slice at a time, into an entry of
 * its own (indexed, sorted, its scrape pieces written), which the view then
 * swaps in at once: a million series took the HTTP thread 2–5 s in one turn
 * when applied in place (docs/performance.md, Abuse). Only for a family no
 * other group holds, so that the new entry is all there is of the name; the
 * view checks that again when it swaps (see View.applyPush).
 * @module
 */

import { renderFamilyHeader } from "../exposition/text_render.ts";
import { FamilyEntry } from "./family_entry.ts";
import { PUSH_FAILURE_TIME, PUSH_TIME } from "../push/validate.ts";
import {
  type FamilyInput,
  type StoredFamily,
  storedFamily,
  type ViewCounters,
} from "./view_types.ts";
import type { GzipFragment } from "../exposition/gzip_fragments.ts";
import {
  insertPushed,
  SHARED_STAGE_MIN_SERIES,
  sharedEntry,
  stageShared,
  STEP_COMPARISONS,
  STEP_SERIES,
} from "./staged_shared.ts";

/** Series from which a family of a push written aside is built aside. */
export const STAGE_MIN_SERIES = 4096;

/** A family built aside, ready to take the place of its name's entry. */
export interface StagedFamily {
  readonly input: FamilyInput;
  readonly stored: StoredFamily;
  readonly entry: FamilyEntry;
  /**
   * The entry it was built from, swapped only while that one is current:
   * one whose other holders' series it holds too (staged_shared.ts), or
   * whose series it shares (a push of the same series again); absent: a
   * new entry of a name no other group holds.
   */
  readonly replaces?: FamilyEntry;
}

/**
 * Builds `input`, as group `groupId` pushed it, into a new entry a step at
 * a time; undefined when the family repeats a series (only possible with
 * the consistency check off: the view's own path handles that).
 */
export function* stageFamily(
  groupId: string,
  input: FamilyInput,
  counters: ViewCounters,
): Generator<void, StagedFamily | undefined, undefined> {
  const entry = new FamilyEntry(input.type, counters);
  const stored = storedFamily(groupId, input, input.keys);
  entry.holders.add(groupId);
  if (!(yield* insertPushed(entry, stored, input.texts))) return undefined;
  entry.scrape = yield* buildScrape(entry, input);
  return { input, stored, entry };
}

/** The scrape pieces of `entry`, a family of no other group, a step at a time. */
function* buildScrape(
  entry: FamilyEntry,
  input: FamilyInput,
): Generator<void, GzipFragment[] | undefined, undefined> {
  const order = entry.sorted();
  if (order.length === 0) return [];
  const help = input.help === "" ? undefined : input.help;
  const header = new TextEncoder().encode(
    renderFamilyHeader(input.name, help, input.type),
  );
  const steps = entry.arena.buildSlices(
    header,
    order,
    () => true,
    STEP_SERIES,
  );
  let step: IteratorResult<void, GzipFragment[] | undefined>;
  while ((step = steps.next()).done !== true) yield;
  return step.value;
}

/**
 * Builds `input`, as group `groupId` pushed it again, into a new entry that
 * shares the keys, index and scrape order of `old`, the name's entry, when
 * it holds the same series as `held`, the group's version in it (the usual
 * push of a large family: only values changed): only its owners and texts
 * are new, where a whole new entry beside the old one took about 150 bytes
 * of heap a series (docs/performance.md, Abuse). Undefined otherwise (a
 * series added, removed or repeated): {@link stageFamily} then builds it.
 * The stored family keeps the keys `held` has, so the pushed ones can go
 * once the push is over.
 */
function* stageSameSeries(
  groupId: string,
  input: FamilyInput,
  held: StoredFamily,
  old: FamilyEntry,
): Generator<void, StagedFamily | undefined, undefined> {
  const keys = input.keys;
  if (keys.length !== held.keys.length) return undefined;
  old.ensureIndexed();
  if (old.size !== keys.length) return undefined;
  while (old.sortSome(STEP_COMPARISONS) > 0) yield;
  old.sorted();
  const slots = old.slots;
  const seen = new Uint8Array(old.keys.length);
  const placed = new Int32Array(keys.length);
  let inOrder = true;
  for (let from = 0; from < keys.length; from += STEP_SERIES) {
    const to = Math.min(keys.length, from + STEP_SERIES);
    for (let i = from; i < to; i++) {
      const key = keys[i] as string;
      const slot = slots.get(key);
      if (slot === undefined || seen[slot] !== 0) return undefined;
      seen[slot] = 1;
      placed[i] = slot;
      if (inOrder && held.keys[i] !== key) inOrder = false;
    }
    yield;
  }
  // Every slot of `old` is one pushed key: the same series, maybe reordered.
  const stored = storedFamily(
    groupId,
    input,
    inOrder
      ? held.keys
      : Array.from(placed, (slot) => old.keys[slot] as string),
  );
  const entry = old.sharingSeries(input.type);
  entry.holders.add(groupId);
  const owners = entry.owners;
  for (let from = 0; from < keys.length; from += STEP_SERIES) {
    const to = Math.min(keys.length, from + STEP_SERIES);
    const step: number[] = new Array(to - from);
    const indexes: number[] = new Array(to - from);
    for (let i = from; i < to; i++) {
      const slot = placed[i] as number;
      owners[slot] = stored;
      step[i - from] = slot;
      indexes[i - from] = i;
    }
    entry.arena.write(step, input.texts, indexes);
    yield;
  }
  const scrape = yield* buildScrape(entry, input);
  entry.scrape = scrape;
  return { input, stored, entry, replaces: old };
}

/** What {@link stagePush} reads of the view. */
export interface StagingView {
  readonly counters: ViewCounters;
  family(name: string): unknown;
  group(
    id: string,
  ): { readonly families: ReadonlyMap<string, StoredFamily> } | undefined;
}

/**
 * The large families of `push` (group `groupId`) built aside, by name:
 * those of {@link STAGE_MIN_SERIES} series or more whose name no other group
 * holds, nothing shadowed, and those of SHARED_STAGE_MIN_SERIES or more
 * whose name other groups hold (staged_shared.ts). A step at a time; the view must not change
 * meanwhile (the store applies no other push until this one's COMMIT).
 */
export function* stagePush(
  view: StagingView,
  groupId: string,
  families: readonly FamilyInput[],
): Generator<void, Map<string, StagedFamily>, undefined> {
  const staged = new Map<string, StagedFamily>();
  for (const input of families) {
    if (input.keys.length < STAGE_MIN_SERIES) continue;
    let family: StagedFamily | undefined;
    if (canSwap(view, groupId, input.name)) {
      const held = view.group(groupId)?.families.get(input.name);
      const old = view.family(input.name) as FamilyEntry | undefined;
      if (held !== undefined && old !== undefined) {
        family = yield* stageSameSeries(groupId, input, held, old);
      }
      family ??= yield* stageFamily(groupId, input, view.counters);
    } else if (input.keys.length >= SHARED_STAGE_MIN_SERIES) {
      const old = sharedEntry(view, groupId, input);
      if (old === undefined) continue;
      family = yield* stageShared(view, groupId, input, old, view.counters);
    }
    if (family !== undefined) staged.set(input.name, family);
  }
  return staged;
}

/**
 * Whether `staged`, built aside for group `groupId`, may take the place of
 * its name's entry now: {@link canSwap}, or for a family other groups hold
 * too, the entry it was built from is still the current one.
 */
export function maySwap(
  view: StagingView,
  groupId: string,
  staged: StagedFamily,
): boolean {
  if (staged.replaces === undefined) {
    return canSwap(view, groupId, staged.input.name);
  }
  return view.family(staged.input.name) === staged.replaces;
}

/**
 * Whether a family built aside may take the place of name `name`'s entry
 * as group `groupId` pushes it: no other group holds the name, and nothing
 * of it is shadowed or of another type (the unchecked mode's cases, which
 * the view's own path counts).
 */
export function canSwap(
  view: StagingView,
  groupId: string,
  name: string,
): boolean {
  if (name === PUSH_TIME || name === PUSH_FAILURE_TIME) return false;
  const entry = view.family(name) as FamilyEntry | undefined;
  if (entry === undefined) return true;
  const held = view.group(groupId)?.families.get(name);
  return held !== undefined && entry.holders.size === 1 &&
    entry.holders.has(groupId) && entry.shadowed === 0 &&
    held.shadowed === undefined && held.type === entry.type;
}

/**
 * `write` (a push's rows, written a step at a time), then its large
 * families built aside by {@link stagePush}, still before the COMMIT: the
 * store answers requests between the steps of both.
 */
export function* writeThenStage<
  W extends { readonly stored: readonly FamilyInput[] },
>(
  write: Generator<void, W, undefined>,
  view: StagingView,
  groupId: string,
): Generator<
  void,
  { written: W; staged: Map<string, StagedFamily> },
  undefined
> {
  const written = yield* write;
  const staged = yield* stagePush(view, groupId, written.stored);
  return { written, staged };
}
