/**
 * What crosses between the HTTP thread and the push worker, and how
 * (postMessage): a job, the answer to it (a push ready to write, the
 * problems that refuse it, or the error it is refused with, rebuilt on
 * this side as it would have been thrown inline), and a ready push cut
 * into messages a task's worth of deserializing each, then put back
 * together (docs/architecture.md).
 * @module
 */

import { ExpositionError, unreachable } from "../exposition/model.ts";
import {
  LimitError,
  PushError,
  type PushErrorKind,
  type PushRefusal,
} from "./push_error.ts";
import { errorStack } from "../error_message.ts";
import {
  type ChunkedFamily,
  preparedBuffers,
  type PreparedFamily,
} from "./prepare.ts";
import type { FamilyShape, PushBody } from "./prepare_push.ts";
import type { SampleColumns } from "./sample_columns.ts";

export interface Job {
  readonly id: number;
  readonly push: PushBody;
}

/** An error thrown while preparing, as it crosses threads. */
export type WireError =
  | { readonly type: "exposition"; readonly line: number; message: string }
  | {
    readonly type: "limit";
    readonly kind: PushErrorKind;
    readonly reason: PushRefusal;
    readonly message: string;
  }
  | {
    readonly type: "push";
    readonly kind: PushErrorKind;
    readonly message: string;
  }
  | { readonly type: "bug"; readonly message: string };

/** Sent once by a worker that has started. */
export interface Ready {
  readonly id: 0;
  readonly ready: true;
}

export type Answer =
  | {
    readonly id: number;
    readonly outcome: "prepared";
    readonly seriesCount: number;
    readonly prepared: readonly PreparedFamily[];
    /** Per family: whether its series keys are all different. */
    readonly distinct: readonly boolean[];
  }
  | {
    readonly id: number;
    readonly outcome: "problems";
    readonly seriesCount: number;
    readonly problems: readonly string[];
    readonly families: readonly FamilyShape[];
  }
  | {
    readonly id: number;
    readonly outcome: "error";
    readonly error: WireError;
  };

/** {@link Answer} as the worker has it: each family's keys as JSON. */
export type WorkerAnswer =
  | Exclude<Answer, { outcome: "prepared" }>
  | {
    readonly id: number;
    readonly outcome: "prepared";
    readonly seriesCount: number;
    readonly prepared: readonly ChunkedFamily[];
  };

export function toWire(error: unknown): WireError {
  if (error instanceof ExpositionError) {
    return { type: "exposition", line: error.line, message: error.message };
  }
  if (error instanceof LimitError) {
    const { kind, reason, message } = error;
    return { type: "limit", kind, reason, message };
  }
  if (error instanceof PushError) {
    return { type: "push", kind: error.kind, message: error.message };
  }
  return { type: "bug", message: errorStack(error) };
}

/** The error the push would have thrown inline, rebuilt on this thread. */
export function fromWire(wire: WireError): Error {
  switch (wire.type) {
    case "exposition":
      // Line 0 takes the message as it is; it has its line already.
      return Object.assign(new ExpositionError(0, wire.message), {
        line: wire.line,
      });
    case "limit":
      return new LimitError(wire.kind, wire.reason, wire.message);
    case "push":
      return new PushError(wire.kind, wire.message);
    case "bug":
      return new Error(`the push worker failed: ${wire.message}`);
    default:
      return unreachable(wire);
  }
}

/**
 * A prepared push crosses in pieces: a header with each family's buffers
 * (its texts, its rows' columns, its `rendered` value), transferred, not
 * copied; then its series keys a JSON array of a slice's keys at a time
 * (parsed here into strings of their own) and its rows' labels a part at
 * a time; then the end. Each message is deserialized on the HTTP thread as
 * a task of its own: a million series took 2 s there at once, and no
 * request could be answered meanwhile.
 */
export type Message =
  | Exclude<Answer, { outcome: "prepared" }>
  | {
    readonly id: number;
    readonly outcome: "prepared";
    readonly seriesCount: number;
    readonly families: readonly FamilyHeader[];
    /**
     * A small push's keys and labels, per family, with its header: the
     * whole answer in one message (see {@link WHOLE_MAX_SERIES}).
     */
    readonly whole?: readonly WholeFamily[];
  }
  | {
    readonly id: number;
    readonly family: number;
    /** A JSON array of the family's next keys. */
    readonly keys: string;
  }
  | {
    readonly id: number;
    readonly family: number;
    /** One of the family's `samples.labelParts`, in order. */
    readonly labels: string;
  }
  | { readonly id: number; readonly done: true }
  | Slice;

/**
 * What a slice of a family added while the worker still parsed the body:
 * its keys (JSON arrays) and its rows' labels (whole parts), sent at once
 * and not asked for (the worker is busy parsing). They come before the
 * header and are the start of the family's keys and labels.
 */
export interface Slice {
  readonly id: number;
  /** The family's name. */
  readonly slice: string;
  readonly keys: readonly string[];
  readonly labels: readonly string[];
}

/** A family's keys (JSON arrays) and its rows' labels (whole parts). */
interface WholeFamily {
  readonly keys: readonly string[];
  readonly labels: readonly string[];
}

/**
 * Pushes of up to this many series cross in one message: asked for one
 * at a time, a 1,000-series push of ten families took 22 messages, each a
 * timer and a message both ways, for under a millisecond of deserializing
 * in all (docs/performance-log.md).
 */
export const WHOLE_MAX_SERIES = 4_096;

/** A prepared family without its keys and its rows' labels. */
type FamilyHeader = Omit<ChunkedFamily, "keyChunks" | "samples"> & {
  readonly samples: Omit<SampleColumns, "labelParts">;
  readonly distinct: boolean;
};

const ENCODER = new TextEncoder();

export function* messagesOf(answer: WorkerAnswer): Generator<Message> {
  if (answer.outcome !== "prepared") {
    yield answer;
    return;
  }
  const { id, prepared } = answer;
  const whole = answer.seriesCount <= WHOLE_MAX_SERIES;
  yield {
    id,
    outcome: "prepared",
    seriesCount: answer.seriesCount,
    ...(whole
      ? {
        whole: prepared.map((f) => ({
          keys: f.keyChunks,
          labels: f.samples.labelParts,
        })),
      }
      : {}),
    families: prepared.map((f) => {
      const { labelParts: _, ...samples } = f.samples;
      return {
        name: f.name,
        type: f.type,
        help: f.help,
        unit: f.unit,
        texts: f.texts,
        // As bytes: a string of 35 MB (a million series) took the HTTP
        // thread about 0.3 s to deserialize and 0.8 s more to bind.
        rendered: typeof f.rendered === "string"
          ? ENCODER.encode(f.rendered)
          : f.rendered,
        samples,
        distinct: f.distinct,
      };
    }),
  };
  if (whole) return;
  for (let family = 0; family < prepared.length; family++) {
    const f = prepared[family] as ChunkedFamily;
    for (const keys of f.keyChunks) yield { id, family, keys };
    for (const labels of f.samples.labelParts) yield { id, family, labels };
  }
  yield { id, done: true };
}

/** The buffers `message` hands over instead of copying (its header's). */
export function transferOf(message: Message): ArrayBuffer[] {
  if (!("outcome" in message) || message.outcome !== "prepared") return [];
  if (!("families" in message)) return [];
  const buffers: ArrayBuffer[] = [];
  for (const f of message.families) {
    buffers.push(
      ...preparedBuffers({
        ...f,
        keys: [],
        samples: { ...f.samples, labelParts: [] },
      }),
    );
  }
  // A buffer may be listed once only.
  return [...new Set(buffers)];
}

/** The HTTP thread asks for a push's next message when it is free again. */
export interface Next {
  readonly next: number;
}

/** What a prepared family gathers from its messages. */
interface Gathered {
  /** Appended to as its chunks come: no concatenation in one turn. */
  readonly keys: string[];
  readonly labelParts: string[];
}

/** A prepared push being put back together from its messages. */
export interface Assembly {
  /** What slices brought while the body was parsed, by family name. */
  readonly early: Map<string, Gathered>;
  /** Set by the header, which comes once the body is parsed. */
  seriesCount: number;
  families: (Gathered & { readonly header: FamilyHeader })[];
}

function assemblyOf(assemblies: Map<number, Assembly>, id: number): Assembly {
  let assembly = assemblies.get(id);
  if (assembly === undefined) {
    assembly = { early: new Map(), seriesCount: 0, families: [] };
    assemblies.set(id, assembly);
  }
  return assembly;
}

/** Appends a JSON array of keys to `keys`. */
function pushKeys(keys: string[], json: string): void {
  for (const key of JSON.parse(json) as string[]) keys.push(key);
}

/** The prepared push `assembly` has put back together. */
function answerOf(id: number, assembly: Assembly): Answer {
  return {
    id,
    outcome: "prepared",
    seriesCount: assembly.seriesCount,
    prepared: assembly.families.map((f) => {
      const { distinct: _, samples, ...header } = f.header;
      return {
        ...header,
        keys: f.keys,
        samples: { ...samples, labelParts: f.labelParts },
      };
    }),
    distinct: assembly.families.map((f) => f.header.distinct),
  };
}

/**
 * Takes one message of the worker; returns the answer it completes. A
 * push refused in the end forgets what its slices brought.
 */
export function assemble(
  assemblies: Map<number, Assembly>,
  message: Message,
): Answer | undefined {
  if ("done" in message) {
    const assembly = assemblies.get(message.id);
    assemblies.delete(message.id);
    if (assembly === undefined) return undefined;
    return answerOf(message.id, assembly);
  }
  if ("slice" in message) {
    const early = assemblyOf(assemblies, message.id).early;
    let gathered = early.get(message.slice);
    if (gathered === undefined) {
      gathered = { keys: [], labelParts: [] };
      early.set(message.slice, gathered);
    }
    for (const json of message.keys) pushKeys(gathered.keys, json);
    gathered.labelParts.push(...message.labels);
    return undefined;
  }
  if ("keys" in message) {
    const keys = assemblies.get(message.id)?.families[message.family]?.keys;
    if (keys !== undefined) pushKeys(keys, message.keys);
    return undefined;
  }
  if ("labels" in message) {
    assemblies.get(message.id)?.families[message.family]?.labelParts.push(
      message.labels,
    );
    return undefined;
  }
  if (message.outcome === "prepared") {
    const assembly = assemblyOf(assemblies, message.id);
    assembly.seriesCount = message.seriesCount;
    assembly.families = message.families.map((header) => ({
      header,
      ...(assembly.early.get(header.name) ?? { keys: [], labelParts: [] }),
    }));
    assembly.early.clear();
    if (message.whole === undefined) return undefined;
    message.whole.forEach((family, k) => {
      const gathered = assembly.families[k];
      if (gathered === undefined) return;
      for (const json of family.keys) pushKeys(gathered.keys, json);
      gathered.labelParts.push(...family.labels);
    });
    assemblies.delete(message.id);
    return answerOf(message.id, assembly);
  }
  assemblies.delete(message.id);
  return message;
}
