/**
 * A push body made ready for the store, in pure steps: decoded (decode.ts),
 * checked against the per-push limits (limits.ts), sanitized (validate.ts,
 * docs/compatibility.md, Validation), and, when asked, each family prepared
 * for writing (prepare.ts). Synchronous: the HTTP handler runs it inline,
 * the push worker (push/push_worker.ts) runs the very same steps for large
 * bodies on the other core.
 * @module
 */

import type { Metric, MetricFamily } from "../exposition/model.ts";
import { decodeBody } from "./decode.ts";
import {
  checkLabelLengths,
  checkSeriesPerPush,
  type PushLimits,
  tokenLimitsOf,
} from "./limits.ts";
import {
  FamilyBuilder,
  type PreparedFamily,
  prepareKeyedFamily,
} from "./prepare.ts";
import { rowCountOf } from "./sample_rows.ts";
import { seriesKeysOf } from "./series_key.ts";
import type { GroupingKey } from "./grouping_key.ts";
import {
  PUSH_FAILURE_TIME,
  PUSH_TIME,
  sanitizePush,
  TIMESTAMPS_PROBLEM,
} from "./validate.ts";

export interface PushBody {
  readonly body: Uint8Array;
  readonly contentType: string | null;
  readonly key: GroupingKey;
  readonly utf8Names: boolean;
  readonly limits: PushLimits;
}

/**
 * One push, ready for the store: it carries everything the store's checks
 * and writes need, its series keys included, and nothing refers back to
 * side tables.
 */
export interface ReadyPush {
  /** Sanitized families (placeholders without metrics from the worker). */
  readonly families: readonly MetricFamily[];
  /** Problems found by validation; any of them refuses the push. */
  readonly problems: readonly string[];
  readonly seriesCount: number;
  /**
   * The series keys of each family, as `families`; absent when `problems`
   * refuse the push (nothing is checked or written then).
   */
  readonly keys?: readonly (readonly string[])[];
  /** Per family: whether its keys are known all different (the worker). */
  readonly distinct?: readonly boolean[];
  /** `families` prepared for writing, when asked for. */
  readonly prepared?: readonly PreparedFamily[];
}

/** Throws what the handler answers with (an error with a kind). */
export function preparePush(push: PushBody, prepare: boolean): ReadyPush {
  const families = decodeChecked(push);
  const sanitized = sanitizePush(families, push.key, {
    utf8Names: push.utf8Names,
  });
  checkLabelLengths(sanitized.families, push.key, push.limits);
  const { problems, seriesCount } = sanitized;
  if (problems.length > 0) {
    return { families: sanitized.families, problems, seriesCount };
  }
  const keys = sanitized.families.map(seriesKeysOf);
  return {
    families: sanitized.families,
    problems,
    seriesCount,
    keys,
    ...(prepare
      ? {
        prepared: sanitized.families.map((family, i) =>
          prepareKeyedFamily(family, keys[i] as readonly string[])
        ),
      }
      : {}),
  };
}

function decodeChecked(push: PushBody): MetricFamily[] {
  const families = decodeBody(push.body, push.contentType, {
    utf8Names: push.utf8Names,
    limits: tokenLimitsOf(push.limits),
  });
  checkSeriesPerPush(families, push.limits);
  return families;
}

/** A family's shape without its metrics: enough to count and refuse. */
export interface FamilyShape {
  readonly name: string;
  readonly type: MetricFamily["type"];
  readonly help: string | undefined;
  readonly unit: string | undefined;
  readonly count: number;
}

/** A push prepared by {@link preparePushInSlices}. */
export interface SlicedPush {
  /** The sanitized families' shapes. */
  readonly shapes: readonly FamilyShape[];
  /** Problems found by validation; any of them refuses the push. */
  readonly problems: readonly string[];
  readonly seriesCount: number;
  /** The families prepared for writing, when no problem refuses the push. */
  readonly prepared?: readonly PreparedFamily[];
}

/** Metrics sanitized and prepared at once by {@link preparePushInSlices}. */
const SLICE_SERIES = 16_384;

/** Stands in for each metric already prepared. */
const DONE: Metric = { labels: [], value: 0 };

/**
 * {@link preparePush}, prepared, for the push worker: the same outcome
 * (the same error thrown, the same problems, the same prepared families),
 * but each family sanitized and prepared {@link SLICE_SERIES} metrics at a
 * time, each decoded metric let go once its slice is prepared. At once, a
 * million series held their decoded, sanitized and prepared forms together,
 * 1.2 GB.
 */
export function preparePushInSlices(push: PushBody): SlicedPush {
  const families = decodeChecked(push);
  const shapes: FamilyShape[] = [];
  const prepared: PreparedFamily[] = [];
  const problems: string[] = [];
  let timestamps = false;
  let seriesCount = 0;
  const options = { utf8Names: push.utf8Names };
  for (const family of families) {
    // Dropped by sanitizePush: the gateway's own values.
    if (family.name === PUSH_TIME || family.name === PUSH_FAILURE_TIME) {
      continue;
    }
    const metrics = family.metrics as Metric[];
    const { metrics: _, ...header } = family;
    shapes.push({
      name: family.name,
      type: family.type,
      help: family.help,
      unit: family.unit,
      count: metrics.length,
    });
    let builder = problems.length === 0 && !timestamps
      ? new FamilyBuilder(header, {
        series: metrics.length,
        rows: rowCountOf(family),
      })
      : undefined;
    for (let from = 0; from < metrics.length; from += SLICE_SERIES) {
      const to = Math.min(metrics.length, from + SLICE_SERIES);
      const slice = { ...header, metrics: metrics.slice(from, to) };
      const part = sanitizePush([slice as MetricFamily], push.key, options);
      checkLabelLengths(part.families, push.key, push.limits);
      seriesCount += part.seriesCount;
      for (const problem of part.problems) {
        if (problem === TIMESTAMPS_PROBLEM) timestamps = true;
        else problems.push(problem);
      }
      const sanitized = part.families[0];
      if (problems.length > 0 || timestamps || sanitized === undefined) {
        builder = undefined;
      }
      builder?.add(
        sanitized as MetricFamily,
        seriesKeysOf(sanitized as MetricFamily),
      );
      // The decoded metrics of the slice are garbage from here on.
      metrics.fill(DONE, from, to);
    }
    if (builder !== undefined) prepared.push(builder.finish());
  }
  if (timestamps) problems.unshift(TIMESTAMPS_PROBLEM);
  return {
    shapes,
    problems,
    seriesCount,
    ...(problems.length === 0 ? { prepared } : {}),
  };
}
