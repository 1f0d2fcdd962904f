/**
 * Which groups one page of the Metrics tab shows: those matching the filter
 * (`?q=`), in the Pushgateway's order (docs/compatibility.md, Web UI), the
 * first `limit` after a cursor (`?after=`, the sort key of the last group of
 * the previous page), with the counts the page prints. One pass over the
 * groups, keeping only the best `limit`: no sort of the whole store, no string
 * per group kept, whatever the store's size (README "Web UI").
 *
 * Pure but for `pause`, which the caller awaits every so many groups to let
 * other requests in; never touches the store or the clock.
 * @module
 */

import { compareUtf8 } from "../exposition/sort.ts";
import type { GroupState } from "../store/view.ts";

export interface GroupSelection {
  /** The groups to show, in order; at most `limit`. */
  readonly groups: readonly GroupState[];
  /** Groups in the store. */
  readonly total: number;
  /** Groups that match the filter. */
  readonly matched: number;
  /** Matching groups at or before the cursor (shown on earlier pages). */
  readonly before: number;
  /** The cursor of the next page; undefined when this page is the last. */
  readonly next: string | undefined;
}

export interface SelectOptions {
  readonly groups: Iterable<GroupState>;
  /** The filter as typed: whitespace-separated terms, all must occur ({@link queryTerms}). */
  readonly query: string;
  /** Sort key after which the page starts; undefined: from the first group. */
  readonly after: string | undefined;
  readonly limit: number;
  /** Awaited every {@link PAUSE_EVERY} groups. */
  readonly pause: () => Promise<void>;
}

/** Groups looked at between two calls of `pause`. */
export const PAUSE_EVERY = 256;

/**
 * The Pushgateway's order of groups: by the internal grouping key, label
 * names sorted, each name and value followed by 0xFF, compared bytewise
 * (docs/compatibility.md, Web UI; Go templates range over maps in key
 * order).
 */
export function groupSortKey(group: GroupState): string {
  return group.key.labels.map((l) => `${l.name}\xff${l.value}`).join("\xff");
}

/** What the filter searches: `name="value"` of every grouping label, lower case. */
export function searchText(group: GroupState): string {
  return group.key.labels.map((l) => `${l.name}="${l.value}"`).join(" ")
    .toLowerCase();
}

/**
 * The filter's terms, lower case. A term `name=value` without any quote is
 * read as `name="value"`, the whole value: that is how people type a label
 * pair (in a URL, a shell, a k8s selector), and as a substring it could
 * never occur in the text that {@link searchText} writes with quotes.
 */
export function queryTerms(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter((t) => t !== "").map((t) =>
    t.replace(UNQUOTED_PAIR, '$1="$2"')
  );
}
const UNQUOTED_PAIR = /^([^="]+)=([^"]+)$/;

/** Every term occurs in the text (the page script filtered the same way). */
export function matchesTerms(text: string, terms: readonly string[]): boolean {
  return terms.every((t) => text.includes(t));
}

export async function selectGroups(
  options: SelectOptions,
): Promise<GroupSelection> {
  const terms = queryTerms(options.query);
  const { after, limit } = options;
  /** The best `limit` so far, ascending by key. */
  const best: { key: string; group: GroupState }[] = [];
  let total = 0;
  let matched = 0;
  let before = 0;
  for (const group of options.groups) {
    if (++total % PAUSE_EVERY === 0) await options.pause();
    if (terms.length > 0 && !matchesTerms(searchText(group), terms)) continue;
    matched++;
    const key = groupSortKey(group);
    if (after !== undefined && compareUtf8(key, after) <= 0) {
      before++;
      continue;
    }
    const last = best[best.length - 1];
    if (best.length >= limit && last !== undefined) {
      if (compareUtf8(key, last.key) >= 0) continue;
      best.pop();
    }
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareUtf8((best[mid] as { key: string }).key, key) < 0) {
        lo = mid + 1;
      } else hi = mid;
    }
    best.splice(lo, 0, { key, group });
  }
  const more = matched - before - best.length > 0;
  return {
    groups: best.map((b) => b.group),
    total,
    matched,
    before,
    next: more ? best[best.length - 1]?.key : undefined,
  };
}
