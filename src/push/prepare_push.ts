/**
 * A push body made ready for the store, in pure steps: decoded (decode.ts),
 * checked against the per-push limits (limits.ts), sanitized (validate.ts,
 * docs/compatibility.md, Validation), and, when asked, each family prepared
 * for writing (prepare.ts). Synchronous: the HTTP handler runs it inline,
 * the push worker (push/push_worker.ts) runs the very same steps for large
 * bodies on the other core.
 * @module
 */

import type {
  Metric,
  MetricFamily,
  MetricType,
  ScalarMetric,
} from "../exposition/model.ts";
import { decodeBody } from "./decode.ts";
import {
  checkLabelLengths,
  checkSeriesCount,
  checkSeriesPerPush,
  type PushLimits,
  tokenLimitsOf,
} from "./limits.ts";
import {
  type ChunkedFamily,
  FamilyBuilder,
  type PreparedFamily,
  prepareKeyedFamily,
  unchunked,
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

/** {@link SlicedPush} as the push worker keeps it: keys as JSON. */
export interface ChunkedPush extends Omit<SlicedPush, "prepared"> {
  readonly prepared?: readonly ChunkedFamily[];
}

/** Metrics sanitized and prepared at once by {@link preparePushInSlices}. */
const SLICE_SERIES = 16_384;

/**
 * {@link preparePush}, prepared, for the push worker: the same outcome
 * (the same error thrown, the same problems, the same prepared families),
 * but each family sanitized and prepared {@link SLICE_SERIES} metrics at a
 * time. A text body's counters, gauges and untyped families are handed
 * over by the parser a slice at a time as it reads them, so that the
 * decoded body is never held whole (a million series took 285 MB
 * decoded); the rest is decoded whole and each decoded metric let go once
 * its slice is prepared. At once, a million series held their decoded,
 * sanitized and prepared forms together, 1.2 GB.
 */
export function preparePushInSlices(push: PushBody): SlicedPush {
  const { prepared, ...rest } = prepareChunkedInSlices(push);
  return prepared === undefined
    ? rest
    : { ...rest, prepared: prepared.map(unchunked) };
}

/**
 * A family's keys (JSON arrays) and rows' labels (whole parts) prepared
 * while the body is still parsed, handed over in order; the prepared
 * family then carries only those that came after.
 */
export type SliceSink = (
  family: string,
  keys: readonly string[],
  labels: readonly string[],
) => void;

/**
 * {@link preparePushInSlices} with each family's keys as JSON
 * (key_chunks.ts), as the push worker hands them over; with `sink`, what a
 * slice handed over by the parser adds is given to it at once (the worker
 * sends it on) and not kept. A push refused in the end has given some.
 */
export function prepareChunkedInSlices(
  push: PushBody,
  sink?: SliceSink,
): ChunkedPush {
  const slicer = new PushSlicer(push, sink);
  const families = decodeBody(push.body, push.contentType, {
    utf8Names: push.utf8Names,
    limits: tokenLimitsOf(push.limits),
    slices: { size: SLICE_SERIES, take: slicer.take },
  });
  // What the parse handed over counts as if it had been kept.
  let series = slicer.takenSeries;
  for (const family of families) series += family.metrics.length;
  checkSeriesCount(series, push.limits);
  return slicer.finish(families);
}

/** What {@link PushSlicer} knows of one family. */
interface SlicedFamily {
  /** Undefined once the push is refused: nothing more is prepared. */
  builder: FamilyBuilder | undefined;
  /** Metrics seen (decoded). */
  count: number;
  /** Sanitized series. */
  series: number;
  timestamps: boolean;
  readonly problems: string[];
  /** The first error its label checks threw, thrown at the end. */
  error: unknown;
}

/** Stands in for each metric already prepared. */
const DONE: Metric = { labels: [], value: 0 };

/**
 * The families of a push prepared slice by slice, as the parser hands them
 * over (in body order, families interleaved) and then from the decoded
 * rest. Problems and errors are kept per family and given in the families'
 * order at the end, as preparing them one family after another would.
 */
class PushSlicer {
  readonly #push: PushBody;
  readonly #families = new Map<string, SlicedFamily>();
  /** A problem or error refuses the push: builders are dropped. */
  #refused = false;
  readonly #sink: SliceSink | undefined;
  /** Metrics the parser handed over. */
  takenSeries = 0;

  constructor(push: PushBody, sink: SliceSink | undefined) {
    this.#push = push;
    this.#sink = sink;
  }

  /** The parser's slice of a scalar family (text_parse.ts ScalarSlices). */
  readonly take = (
    family: { readonly name: string; readonly type: MetricType },
    metrics: ScalarMetric[],
  ): void => {
    this.takenSeries += metrics.length;
    if (this.takenSeries > this.#push.limits.maxSeriesPerPush) {
      // Refused for its size once parsed (unless the parse fails first).
      this.#refuse();
      return;
    }
    if (family.name === PUSH_TIME || family.name === PUSH_FAILURE_TIME) return;
    const header = { name: family.name, type: family.type, help: undefined };
    let state = this.#families.get(family.name);
    if (state === undefined) {
      state = this.#newFamily(
        new FamilyBuilder(header, {
          series: metrics.length,
          rows: metrics.length,
          growing: true,
          chunkKeys: true,
        }),
      );
      this.#families.set(family.name, state);
    }
    this.#prepare(state, { ...header, metrics } as MetricFamily);
    if (this.#sink !== undefined && state.builder !== undefined) {
      const { keys, labels } = state.builder.drain();
      this.#sink(family.name, keys, labels);
    }
  };

  #newFamily(builder: FamilyBuilder | undefined): SlicedFamily {
    return {
      builder: this.#refused ? undefined : builder,
      count: 0,
      series: 0,
      timestamps: false,
      problems: [],
      error: undefined,
    };
  }

  /** Sanitizes and prepares `slice`, the family's next metrics. */
  #prepare(state: SlicedFamily, slice: MetricFamily): void {
    state.count += slice.metrics.length;
    if (state.error !== undefined) return;
    const push = this.#push;
    const part = sanitizePush([slice], push.key, {
      utf8Names: push.utf8Names,
    });
    try {
      checkLabelLengths(part.families, push.key, push.limits);
    } catch (error) {
      state.error = error;
      this.#refuse();
      return;
    }
    state.series += part.seriesCount;
    for (const problem of part.problems) {
      if (problem === TIMESTAMPS_PROBLEM) state.timestamps = true;
      else state.problems.push(problem);
    }
    if (state.problems.length > 0 || state.timestamps) this.#refuse();
    const sanitized = part.families[0];
    if (state.builder === undefined || sanitized === undefined) return;
    state.builder.add(sanitized, seriesKeysOf(sanitized));
  }

  #refuse(): void {
    if (this.#refused) return;
    this.#refused = true;
    for (const state of this.#families.values()) state.builder = undefined;
  }

  /**
   * Prepares the decoded rest of `families` (the parse's result, in its
   * order) and gives the push's outcome; throws the first family's error.
   */
  finish(families: readonly MetricFamily[]): ChunkedPush {
    const order: { family: MetricFamily; state: SlicedFamily }[] = [];
    for (const family of families) {
      // Dropped by sanitizePush: the gateway's own values.
      if (family.name === PUSH_TIME || family.name === PUSH_FAILURE_TIME) {
        continue;
      }
      const metrics = family.metrics as Metric[];
      const { metrics: _, ...header } = family;
      let state = this.#families.get(family.name);
      if (state === undefined) {
        state = this.#newFamily(
          new FamilyBuilder(header, {
            series: metrics.length,
            rows: rowCountOf(family),
            chunkKeys: true,
          }),
        );
        this.#families.set(family.name, state);
      }
      order.push({ family, state });
      for (let from = 0; from < metrics.length; from += SLICE_SERIES) {
        const to = Math.min(metrics.length, from + SLICE_SERIES);
        this.#prepare(state, {
          ...header,
          metrics: metrics.slice(from, to),
        } as MetricFamily);
        // The decoded metrics of the slice are garbage from here on.
        metrics.fill(DONE, from, to);
      }
    }
    for (const { state } of order) {
      if (state.error !== undefined) throw state.error;
    }
    const problems: string[] = [];
    let timestamps = false;
    let seriesCount = 0;
    for (const { state } of order) {
      problems.push(...state.problems);
      timestamps ||= state.timestamps;
      seriesCount += state.series;
    }
    if (timestamps) problems.unshift(TIMESTAMPS_PROBLEM);
    const shapes = order.map(({ family, state }): FamilyShape => ({
      name: family.name,
      type: family.type,
      help: family.help,
      unit: family.unit,
      count: state.count,
    }));
    if (problems.length > 0) return { shapes, problems, seriesCount };
    const prepared = order.map(({ family, state }) => ({
      ...(state.builder as FamilyBuilder).finishChunked(),
      // A HELP line may follow the slices the parser handed over.
      help: family.help,
      unit: family.unit,
    }));
    return { shapes, problems, seriesCount, prepared };
  }
}
