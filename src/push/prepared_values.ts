/**
 * The prepared form of a scalar family's sums made from the push's own
 * (prepare.ts) when the sums hold exactly the pushed series in the same
 * order, as a large aggregating push pushed again usually does: the keys,
 * the rows' labels and series are the push's, only the values differ, so
 * the texts are the push's with each value written again and the rows'
 * values a new column. Preparing the summed family again from its metrics
 * (a text, labels JSON and row per series) held the HTTP thread and left
 * a family's worth of strings to collect (docs/performance.md, Abuse).
 * Pure.
 * @module
 */

import type { MetricFamily, ScalarMetric } from "../exposition/model.ts";
import { formatTextFloat } from "../exposition/float.ts";
import type { PreparedFamily } from "./prepare.ts";
import { encodeRenderedJoined, type JoinedTexts } from "./rendered_blob.ts";

/** Series written between two yields. */
const SLICE_SERIES = 8_192;

const SPACE = 0x20;
const NEWLINE = 0x0a;
const TEXT_SEPARATOR = 0x01;
const TEXTS_START = 0x02;
/** The longest text of a float (`-1.7976931348623157e+308`), and more. */
const MAX_VALUE_BYTES = 32;

/**
 * `pushed` (a prepared push) with the values of `sums`, whose series keys
 * are `keys`; undefined unless they are the same series in the same order,
 * a counter, gauge or untyped family whose rows carry values alone (no
 * exemplar, created time, NaN or -0, which take a `sample_extras` row) and
 * whose texts hold no separator of `families.rendered`. Yields after each
 * {@link SLICE_SERIES} series.
 */
export function* preparedWithValues(
  pushed: PreparedFamily,
  sums: MetricFamily,
  keys: readonly string[],
): Generator<void, PreparedFamily | undefined, undefined> {
  const n = sums.metrics.length;
  const texts = pushed.texts;
  const columns = pushed.samples;
  if (
    (sums.type !== "counter" && sums.type !== "gauge" &&
      sums.type !== "untyped") ||
    pushed.type !== sums.type || pushed.name !== sums.name ||
    pushed.keys.length !== n || keys.length !== n || columns.count !== n ||
    columns.extras.length > 0 || Array.isArray(texts) ||
    !(columns.values instanceof Float64Array)
  ) return undefined;
  for (let i = 0; i < n; i++) {
    if (pushed.keys[i] !== keys[i]) return undefined;
  }
  const { joined, bounds } = texts as JoinedTexts;
  if (!separatorFree(joined, n)) return undefined;
  const values = new Float64Array(n);
  const out = new Uint8Array(joined.length + n * MAX_VALUE_BYTES);
  const outBounds = new Uint32Array(2 * n);
  let at = 0;
  const metrics = sums.metrics as readonly ScalarMetric[];
  for (let from = 0; from < n; from += SLICE_SERIES) {
    const to = Math.min(n, from + SLICE_SERIES);
    for (let i = from; i < to; i++) {
      const metric = metrics[i] as ScalarMetric;
      const value = metric.value;
      if (
        Number.isNaN(value) || Object.is(value, -0) ||
        metric.exemplar !== undefined ||
        metric.createdTimestampMs !== undefined ||
        metric.timestampMs !== undefined
      ) return undefined;
      values[i] = value;
      // A scalar's text is `<series> <value>\n`; a value holds no space.
      const start = bounds[2 * i] as number;
      const end = bounds[2 * i + 1] as number;
      let space = end - 2;
      while (space > start && joined[space] !== SPACE) space--;
      if (space <= start || joined[end - 1] !== NEWLINE) return undefined;
      if (i > 0) out[at++] = TEXT_SEPARATOR;
      outBounds[2 * i] = at;
      out.set(joined.subarray(start, space + 1), at);
      at += space + 1 - start;
      const text = formatTextFloat(value);
      for (let c = 0; c < text.length; c++) out[at++] = text.charCodeAt(c);
      out[at++] = NEWLINE;
      outBounds[2 * i + 1] = at;
    }
    yield;
  }
  const summedTexts = { joined: out.slice(0, at), bounds: outBounds };
  return {
    name: pushed.name,
    type: pushed.type,
    help: sums.help,
    unit: sums.unit,
    keys,
    texts: summedTexts,
    rendered: encodeRenderedJoined(keys, summedTexts, true),
    samples: { ...columns, values },
  };
}

/**
 * Whether `joined`, `n` texts joined by U+0001, holds no other U+0001 and
 * no U+0002: its texts are then written to `families.rendered` as bytes.
 */
function separatorFree(joined: Uint8Array, n: number): boolean {
  if (joined.indexOf(TEXTS_START) >= 0) return false;
  let separators = 0;
  for (let at = joined.indexOf(TEXT_SEPARATOR); at >= 0;) {
    if (++separators >= n) return false;
    at = joined.indexOf(TEXT_SEPARATOR, at + 1);
  }
  return true;
}
