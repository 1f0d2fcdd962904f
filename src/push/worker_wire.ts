/**
 * What crosses between the HTTP thread and the push worker, and how
 * (postMessage): a job, the answer to it (a push ready to write, the
 * problems that refuse it, or the error it is refused with, rebuilt on
 * this side as it would have been thrown inline), and a ready push cut
 * into messages a task's worth of deserializing each, then put back
 * together (docs/architecture.md).
 * @module
 */

import {
  ExpositionError,
  type MetricFamily,
  unreachable,
} from "../exposition/model.ts";
import {
  LimitError,
  PushError,
  type PushErrorKind,
  type PushRefusal,
} from "./push_error.ts";
import { errorStack } from "../error_message.ts";
import type { PreparedFamily } from "./prepare.ts";
import type { PushBody } from "./prepare_push.ts";

export interface Job {
  readonly id: number;
  readonly push: PushBody;
}

/** A family's shape without its metrics: enough to count and refuse. */
export interface FamilyShape {
  readonly name: string;
  readonly type: MetricFamily["type"];
  readonly help: string | undefined;
  readonly unit: string | undefined;
  readonly count: number;
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
 * A prepared push crosses in pieces: a header, then the series keys, texts
 * and sample rows in chunks, then the end. Each message is deserialized on
 * the HTTP thread as a task of its own: one of a million series took 2 s
 * there at once, and no request could be answered meanwhile.
 */
export type Message =
  | Exclude<Answer, { outcome: "prepared" }>
  | {
    readonly id: number;
    readonly outcome: "prepared";
    readonly seriesCount: number;
    readonly families: readonly FamilyHeader[];
  }
  | {
    readonly id: number;
    readonly family: number;
    readonly field: ChunkedField;
    readonly values: PreparedFamily[ChunkedField];
  }
  | { readonly id: number; readonly done: true };

export type ChunkedField = "keys" | "texts" | "rows";
const CHUNKED_FIELDS: readonly ChunkedField[] = ["keys", "texts", "rows"];

/** A prepared family without its chunked arrays. */
type FamilyHeader = Omit<PreparedFamily, ChunkedField> & {
  readonly distinct: boolean;
};

const ENCODER = new TextEncoder();

/** Values per chunk: about 10 ms of deserializing on this machine. */
const CHUNK_VALUES = 32_768;

export function* messagesOf(answer: Answer): Generator<Message> {
  if (answer.outcome !== "prepared") {
    yield answer;
    return;
  }
  const { id, prepared } = answer;
  yield {
    id,
    outcome: "prepared",
    seriesCount: answer.seriesCount,
    families: prepared.map(({ keys: _k, texts: _t, rows: _r, ...f }, k) => ({
      ...f,
      // As bytes: a string of 35 MB (a million series) took the HTTP thread
      // about 0.3 s to deserialize and 0.8 s more to bind; bytes are copied.
      rendered: typeof f.rendered === "string"
        ? ENCODER.encode(f.rendered)
        : f.rendered,
      distinct: answer.distinct[k] ?? false,
    })),
  };
  for (let family = 0; family < prepared.length; family++) {
    const f = prepared[family] as PreparedFamily;
    for (const field of CHUNKED_FIELDS) {
      const all = f[field];
      for (let at = 0; at < all.length; at += CHUNK_VALUES) {
        yield { id, family, field, values: all.slice(at, at + CHUNK_VALUES) };
      }
    }
  }
  yield { id, done: true };
}

/** The HTTP thread asks for a push's next message when it is free again. */
export interface Next {
  readonly next: number;
}

/** A prepared push being put back together from its messages. */
export interface Assembly {
  readonly seriesCount: number;
  readonly families: {
    readonly header: FamilyHeader;
    readonly chunks: Record<ChunkedField, PreparedFamily[ChunkedField][]>;
  }[];
}

/**
 * The chunks of a field as one array. One `concat` costs the HTTP thread
 * about 0.3 s for a million series (8M row values), a quarter of appending
 * each value; the store takes the rows as one array.
 */
function joined<T>(chunks: readonly (readonly T[])[]): T[] {
  return ([] as T[]).concat(...chunks);
}

/**
 * Takes one message of the worker; returns the answer it completes.
 */
export function assemble(
  assemblies: Map<number, Assembly>,
  message: Message,
): Answer | undefined {
  if ("done" in message) {
    const assembly = assemblies.get(message.id);
    assemblies.delete(message.id);
    if (assembly === undefined) return undefined;
    return {
      id: message.id,
      outcome: "prepared",
      seriesCount: assembly.seriesCount,
      prepared: assembly.families.map((f) => {
        const { distinct: _, ...header } = f.header;
        return {
          ...header,
          keys: joined(f.chunks.keys as readonly (readonly string[])[]),
          texts: joined(f.chunks.texts as readonly (readonly string[])[]),
          rows: joined(f.chunks.rows),
        };
      }),
      distinct: assembly.families.map((f) => f.header.distinct),
    };
  }
  if ("field" in message) {
    assemblies.get(message.id)?.families[message.family]?.chunks[message.field]
      .push(message.values);
    return undefined;
  }
  if (message.outcome === "prepared") {
    assemblies.set(message.id, {
      seriesCount: message.seriesCount,
      families: message.families.map((header) => ({
        header,
        chunks: { keys: [], texts: [], rows: [] },
      })),
    });
    return undefined;
  }
  return message;
}
