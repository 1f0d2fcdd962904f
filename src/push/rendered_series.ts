/**
 * The series of one family as a prepared push carries them to the store:
 * each series' key and its text lines as a scrape shows them, rendered once
 * when the family is pushed (or, at start-up, read back from its samples).
 * Pure.
 * @module
 */

import type { Metric, MetricFamily } from "../exposition/model.ts";
import { renderMetric } from "../exposition/text_render.ts";
import { seriesKeysOf } from "./series_key.ts";

/** The series of one family as the view keeps them, in pushed order. */
export interface RenderedSeries {
  /** `seriesKey` of each series (duplicates included). */
  readonly keys: readonly string[];
  /** The text lines of each series, as a scrape shows them. */
  readonly texts: readonly string[];
}

/**
 * Keys and text lines of every series of `family`, in its order;
 * `seriesKeys` when the push brings them (computed once, in the pipeline).
 */
export function renderSeries(
  family: MetricFamily,
  seriesKeys: readonly string[] = seriesKeysOf(family),
): RenderedSeries {
  const keys: string[] = [];
  const texts: string[] = [];
  const metrics = family.metrics as readonly Metric[];
  for (let i = 0; i < metrics.length; i++) {
    keys.push(flat(seriesKeys[i] as string));
    // Not flattened: texts are kept as bytes (TextArena), not as strings.
    texts.push(renderMetric(family.name, family.type, metrics[i] as Metric));
  }
  return { keys, texts };
}

/**
 * Returns `text` flattened: a string built by concatenation is a tree of its
 * pieces in V8, several times the size of its characters. Converting it to a
 * number makes V8 flatten it in place (the number is thrown away); the GC
 * then drops the tree.
 */
export function flat(text: string): string {
  FLATTEN_SINK.n = +text;
  return text;
}
/**
 * Where {@link flat} writes the number, so that the compiler cannot drop the
 * conversion as unused. Scratch only: nothing reads it.
 */
const FLATTEN_SINK = { n: 0 };
