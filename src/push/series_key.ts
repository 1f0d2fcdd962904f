/**
 * Series keys: one string per series that tells series apart within a
 * family and sorts as a scrape orders them. The consistency check, the
 * store's index and the view share them; a push carries them from the
 * moment it is prepared.
 * @module
 */

import type { Label, MetricFamily } from "../exposition/model.ts";

/**
 * The key under which a series is unique within a family; labels sorted by
 * name. Keys also sort (with `compareUtf8`) exactly as `compareSeries` sorts
 * the series: the label count, then each value, then each name, each part
 * ended by two spaces, a character up to U+0020 written as a space and a
 * character above it. So one string per series serves both the index and
 * the scrape order; it stays readable, and JSON leaves it as is.
 */
export function seriesKey(labels: readonly Label[]): string {
  let key = countPrefix(labels.length);
  for (const label of labels) key += `${keyPart(label.value)}  `;
  for (const label of labels) key += `${keyPart(label.name)}  `;
  return key;
}

/** {@link seriesKey} of each metric of `family`, in order. */
export function seriesKeysOf(family: MetricFamily): string[] {
  const keys: string[] = [];
  for (const metric of family.metrics) keys.push(seriesKey(metric.labels));
  return keys;
}

/**
 * The labels a {@link seriesKey} was made of, in its order (sorted by
 * name). Messages name series from their keys: a push prepared on the push
 * worker reaches the check with its keys but without its metrics, and must
 * not be decoded again on the HTTP thread to be refused.
 */
export function labelsOfSeriesKey(key: string): Label[] {
  let n = key.charCodeAt(0) - 0x21;
  let pos = 1;
  if (key.charCodeAt(0) === 0xff) {
    n = ((key.charCodeAt(1) - 0x21) << 12) | (key.charCodeAt(2) - 0x21);
    pos = 3;
  }
  const parts: string[] = [];
  for (let k = 0; k < 2 * n; k++) {
    let end = key.indexOf("  ", pos);
    if (end < 0) end = key.length;
    parts.push(unescapeKeyPart(key.slice(pos, end)));
    pos = end + 2;
  }
  const labels: Label[] = [];
  for (let k = 0; k < n; k++) {
    labels.push({ name: parts[n + k] as string, value: parts[k] as string });
  }
  return labels;
}

function unescapeKeyPart(part: string): string {
  if (!part.includes(" ")) return part;
  let out = "";
  for (let i = 0; i < part.length; i++) {
    if (part.charCodeAt(i) === 0x20) {
      out += String.fromCharCode(part.charCodeAt(++i) - 0x21);
    } else out += part[i];
  }
  return out;
}

/** One character for up to 221 labels, more characters (sorting after) above. */
function countPrefix(n: number): string {
  if (n < 0xde) return String.fromCharCode(0x21 + n);
  return `\xff${String.fromCharCode(0x21 + (n >>> 12), 0x21 + (n & 0xfff))}`;
}

function keyPart(text: string): string {
  let low = false;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) <= 0x20) {
      low = true;
      break;
    }
  }
  if (!low) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += c <= 0x20 ? ` ${String.fromCharCode(0x21 + c)}` : text[i];
  }
  return out;
}

/** Whether `b` holds the same keys as `a`, in the same order. */
export function sameKeys(
  a: readonly string[],
  b: readonly string[] | undefined,
): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}
