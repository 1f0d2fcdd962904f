/**
 * An own family (the gateway's metrics) rendered for a scrape, merged with
 * the stored series pushed under its name.
 * @module
 */

import type { Metric, MetricFamily } from "../exposition/model.ts";
import { compareUtf8 } from "../exposition/sort.ts";
import { renderFamilyHeader, renderMetric } from "../exposition/text_render.ts";
import { seriesKey } from "../push/series_key.ts";
import type { SeriesOwner } from "./view_types.ts";
import type { FamilyEntry } from "./family_entry.ts";

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
