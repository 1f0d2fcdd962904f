/**
 * The orders of a scrape (docs/compatibility.md, Scrapes): family names and
 * label names in UTF-8 byte order, series by label count and then label values.
 * Go compares strings byte by byte in UTF-8; JavaScript's `<` compares UTF-16
 * code units, which disagrees when a character above U+FFFF (a surrogate pair)
 * meets one in U+E000–U+FFFF. {@link compareUtf8} fixes that up only where it
 * matters.
 *
 * Pure; never throws.
 * @module
 */

import type { Label } from "./model.ts";

/**
 * Maps a UTF-16 code unit ≥ U+D800 so that code unit order equals code point
 * (and thus UTF-8 byte) order: surrogates (astral characters) move above
 * U+FFFF's neighbours, U+E000–U+FFFF move down below them.
 */
function fixupHigh(unit: number): number {
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/**
 * Compares two strings as Go compares them: by their UTF-8 bytes. Returns a
 * negative number, zero or a positive number.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const length = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Below U+D800 code unit order already equals byte order.
      if (x >= 0xd800 && y >= 0xd800) return fixupHigh(x) - fixupHigh(y);
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Compares metric family names in byte order (`e` < `e10` < `e4` < `e:colon`). */
export function compareNames(a: string, b: string): number {
  return compareUtf8(a, b);
}

function compareLabelNames(a: Label, b: Label): number {
  return compareUtf8(a.name, b.name);
}

/**
 * Labels sorted by name in byte order. Returns `labels` itself when it is
 * already sorted (the common case), otherwise a sorted copy.
 */
export function sortLabels(labels: readonly Label[]): readonly Label[] {
  let previous: Label | undefined;
  for (const label of labels) {
    if (previous !== undefined && compareLabelNames(previous, label) > 0) {
      return labels.slice().sort(compareLabelNames);
    }
    previous = label;
  }
  return labels;
}

/**
 * Orders two series of one family as the Pushgateway's scrape does
 * (docs/compatibility.md, Scrapes; client_golang `metricSorter`): fewer
 * labels first, then the label values position by position in byte order.
 * Both label lists must be sorted by name (see {@link sortLabels}).
 *
 * Upstream stops there, leaving series with equal values in an unspecified
 * order; we then compare the label names position by position so the order is
 * total and deterministic. Within one family this only happens for series
 * like `{a="1"}` and `{b="1"}`.
 */
export function compareSeries(
  a: readonly Label[],
  b: readonly Label[],
): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) break; // unreachable: same length
    const c = compareUtf8(x.value, y.value);
    if (c !== 0) return c;
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) break;
    const c = compareUtf8(x.name, y.name);
    if (c !== 0) return c;
  }
  return 0;
}
