/**
 * Push commands for the store's own tests, built as the push handler (or,
 * with `prepared`, the push worker) hands them to the Store.
 * @module
 */

import type { MetricFamily } from "../../src/exposition/model.ts";
import { parseGroupingKey } from "../../src/push/grouping_key.ts";
import type { GroupingKey } from "../../src/push/grouping_key.ts";
import { sanitizePush } from "../../src/push/validate.ts";
import { prepareFamily } from "../../src/push/prepare.ts";
import type { PushCommand } from "../../src/store/store.ts";
import type { FamilyInput } from "../../src/store/view.ts";
import { renderSeries } from "../../src/push/rendered_series.ts";

/** The request every test command carries. */
export const REQUEST = {
  path: "/metrics/job/j",
  contentType: null,
  bodyBytes: 0,
  remoteAddr: "127.0.0.1",
  userAgent: "test",
};

/** The grouping key of a push path below `/metrics/`. */
export function key(path: string): GroupingKey {
  const k = parseGroupingKey(path);
  if (!k) throw new Error(`not a push path: ${path}`);
  return k;
}

/**
 * A PUT or POST of `families` to `path`; `prepared` makes it the command
 * the push worker hands over (its families prepared already).
 */
export function command(
  method: "PUT" | "POST",
  path: string,
  families: MetricFamily[],
  time = 1000,
  { prepared = false }: { readonly prepared?: boolean } = {},
): PushCommand {
  const k = key(path);
  const s = sanitizePush(families, k);
  return {
    method,
    key: k,
    families: s.families,
    ...(prepared ? { prepared: s.families.map(prepareFamily) } : {}),
    problems: s.problems,
    seriesCount: s.seriesCount,
    checkConsistency: true,
    time,
    request: REQUEST,
  };
}

/** What the view is given of `family`, written as row `rowId`. */
export function familyInput(
  family: MetricFamily,
  rowId: number,
  pushedAt = rowId,
): FamilyInput {
  return {
    name: family.name,
    type: family.type,
    help: family.help,
    unit: family.unit,
    rowId,
    pushedAt,
    ...renderSeries(family),
  };
}

/**
 * `n` gauge series named `name` with values from `value` up, each labelled
 * `i` (some of them non-ASCII), after `g="<group>"` when a group is given
 * (as grouping labels make them).
 */
export function gaugeFamily(
  name: string,
  n: number,
  value: number,
  options: { help?: string | undefined; group?: string | undefined } = {},
): MetricFamily {
  const { help, group } = options;
  return {
    name,
    help,
    type: "gauge",
    metrics: Array.from({ length: n }, (_, i) => ({
      labels: [
        ...(group === undefined ? [] : [{ name: "g", value: group }]),
        { name: "i", value: i % 7 === 0 ? `é${i}` : String(n - i) },
      ],
      value: value + i,
    })),
  };
}
