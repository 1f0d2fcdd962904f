/**
 * The text lines a family's series are scraped as, rendered once when
 * they are stored; and an own family merged with stored series.
 * @module
 */

import type { Metric, MetricFamily } from "../exposition/model.ts";
import { compareUtf8 } from "../exposition/sort.ts";
import { renderFamilyHeader, renderMetric } from "../exposition/text_render.ts";
import { seriesKey, seriesKeysOf } from "../push/series_key.ts";
import type { RenderedSeries, SeriesOwner } from "./view_types.ts";
import type { FamilyEntry } from "./family_entry.ts";

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

/** An own family, merged with stored series of the same name if any (docs/compatibility.md). */
export function renderOwn(
  family: MetricFamily,
  entry: FamilyEntry | undefined,
): string {
  const items: { key: string; text: string }[] = [];
  for (const metric of family.metrics as readonly Metric[]) {
    items.push({
      key: seriesKey(metric.labels),
      text: renderMetric(family.name, family.type, metric),
    });
  }
  if (entry) {
    const slots = [...entry.slots.values()].filter((slot) =>
      (entry.owners[slot] as SeriesOwner).type === family.type
    );
    const texts = entry.arena.texts(slots);
    slots.forEach((slot, i) => {
      items.push({ key: entry.keys[slot] as string, text: texts[i] as string });
    });
  }
  if (items.length === 0) return "";
  items.sort((x, y) => compareUtf8(x.key, y.key));
  let text = renderFamilyHeader(family.name, family.help, family.type);
  for (const item of items) text += item.text;
  return text;
}
