/**
 * Large push bodies are decoded, sanitized and prepared for writing on a
 * worker thread: a 1,000-series push spends most of its time
 * there, and the machine has a second core. The main thread then only
 * checks consistency, writes and answers. Small bodies stay inline: handing
 * one over costs more than it saves.
 *
 * The worker runs this very module (`import.meta.url`), also from the
 * bundle and the compiled binary, where it is the whole program: nothing
 * is read from the source tree. The worker answers every push itself: with
 * the push ready to write, with the problems that refuse it, or with the
 * error it is refused with (status, reason and message as inline), so a
 * large body is never decoded on the HTTP thread, not even to be refused.
 * Only where no worker can be started at all are pushes prepared inline.
 * What crosses between the threads is in worker_wire.ts.
 * @module
 */

import {
  type Metric,
  type MetricFamily,
  unreachable,
} from "../exposition/model.ts";
import { PushError } from "./push_error.ts";
import { PushBudget } from "./push_budget.ts";
import {
  prepareChunkedInSlices,
  type PushBody,
  type ReadyPush,
} from "./prepare_push.ts";
import {
  type Answer,
  assemble,
  type Assembly,
  fromWire,
  type Job,
  type Message,
  messagesOf,
  type Next,
  type Ready,
  type Slice,
  toWire,
  transferOf,
  type WorkerAnswer,
} from "./worker_wire.ts";

/** The worker's name; also how this module knows it runs as the worker. */
export const PUSH_WORKER_NAME = "pushvault-push";

/** Bodies of at least this many bytes go to the worker. */
export const WORKER_MIN_BYTES = 32 * 1024;

/** Whether this code runs as the push worker (see main.ts). */
export function isPushWorker(): boolean {
  const scope = globalThis as { WorkerGlobalScope?: unknown; name?: string };
  return scope.WorkerGlobalScope !== undefined &&
    scope.name === PUSH_WORKER_NAME;
}

/** What the worker does with one job: the push's whole answer. */
function work(
  job: Job,
  send: (slice: Slice) => void,
): WorkerAnswer {
  try {
    const ready = prepareChunkedInSlices(
      job.push,
      (slice, keys, labels) => send({ id: job.id, slice, keys, labels }),
    );
    if (ready.problems.length > 0 || ready.prepared === undefined) {
      return {
        id: job.id,
        outcome: "problems",
        seriesCount: ready.seriesCount,
        problems: ready.problems,
        families: ready.shapes,
      };
    }
    return {
      id: job.id,
      outcome: "prepared",
      seriesCount: ready.seriesCount,
      prepared: ready.prepared,
    };
  } catch (error) {
    return { id: job.id, outcome: "error", error: toWire(error) };
  }
}

if (isPushWorker()) {
  const scope = globalThis as unknown as {
    onmessage: (event: MessageEvent<Job | Next>) => void;
    postMessage: (message: Message | Ready, transfer?: ArrayBuffer[]) => void;
  };
  // Messages queued at once are all taken by the HTTP thread in one go:
  // each waits to be asked for, so that requests are answered in between.
  const sending = new Map<number, Generator<Message>>();
  const sendNext = (id: number) => {
    const messages = sending.get(id);
    const next = messages?.next();
    if (next === undefined || next.done === true) {
      sending.delete(id);
      return;
    }
    scope.postMessage(next.value, transferOf(next.value));
    // The HTTP thread asks for nothing after a push's last message: kept
    // here, the generator would hold the whole prepared push (a GB for a
    // million series) for the life of the worker.
    const value = next.value;
    if (
      "done" in value || "whole" in value ||
      ("outcome" in value && value.outcome !== "prepared")
    ) {
      sending.delete(id);
    }
  };
  scope.onmessage = (event) => {
    const data = event.data;
    if ("next" in data) {
      sendNext(data.next);
      return;
    }
    const answer = work(data, (slice) => scope.postMessage(slice));
    sending.set(data.id, messagesOf(answer));
    sendNext(data.id);
  };
  scope.postMessage({ id: 0, ready: true } satisfies Ready);
}

/** Stands in for each metric of a family prepared on the worker. */
const PLACEHOLDER: Metric = { labels: [], value: 0 };

function placeholders(count: number): Metric[] {
  return new Array<Metric>(count).fill(PLACEHOLDER);
}

/** The default `--storage.max-body-bytes`. */
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Bodies from which the worker is ended after answering (see
 * PushWorker.#recycle): starting another costs about a tenth of a second,
 * little beside such a push.
 */
const RECYCLE_AFTER_BYTES = 4 * 1024 * 1024;

/** How long a push waits for a worker that is starting (then 503). */
const START_TIMEOUT_MS = 30_000;

interface Waiting {
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The push worker, started on the first large push (a gateway that never
 * gets one never pays for it). Pushes wait for it to be ready; one that
 * fails is replaced at the next push.
 */
export class PushWorker {
  /** Bounds the large pushes in preparation at once (push_budget.ts). */
  readonly budget: PushBudget;
  #worker: Worker | undefined;
  #ready: Promise<boolean> | undefined;
  /** Closed at shutdown: not started again. */
  #closed = false;
  /** No worker can be started here: pushes are prepared inline. */
  #unsupported = false;
  #next = 1;
  readonly #waiting = new Map<number, Waiting>();

  /**
   * `maxBodyBytes`: `--storage.max-body-bytes`. A quarter of it may be in
   * preparation at once (four 10 MB pushes together held 3.7 GB), as much
   * as it may wait (docs/security.md, "Limits").
   */
  constructor(options: { readonly maxBodyBytes?: number } = {}) {
    const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.budget = new PushBudget(
      { budgetBytes: Math.ceil(max / 4), queueBytes: max },
      "--storage.max-body-bytes",
    );
  }

  #start(): Promise<boolean> {
    let worker: Worker;
    try {
      worker = new Worker(import.meta.url, {
        type: "module",
        name: PUSH_WORKER_NAME,
      });
    } catch {
      this.#unsupported = true;
      return Promise.resolve(false);
    }
    this.#worker = worker;
    const { promise, resolve } = Promise.withResolvers<boolean>();
    const timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
    Deno.unrefTimer(timer);
    const assemblies = new Map<number, Assembly>();
    const take = (message: Message) => {
      const answer = assemble(assemblies, message);
      if (answer === undefined) {
        // Slices come unasked, while the worker parses.
        if ("slice" in message) return;
        // A macrotask: requests waiting on this thread go first.
        setTimeout(() => {
          if (this.#worker === worker) {
            worker.postMessage({ next: message.id } satisfies Next);
          }
        }, 0);
        return;
      }
      const waiting = this.#waiting.get(answer.id);
      this.#waiting.delete(answer.id);
      waiting?.resolve(answer);
    };
    // Slices are taken one a macrotask, in order with what follows them:
    // slices that queued up while this thread was busy would otherwise be
    // parsed all in one go. Other messages, asked for one at a time, are
    // taken at once when nothing waits (a timer each would slow small
    // pushes: nested timers wait 4 ms).
    const queue: Message[] = [];
    const takeNext = () => {
      const message = queue.shift();
      if (message === undefined) return;
      take(message);
      if (queue.length > 0) setTimeout(takeNext, 0);
    };
    worker.onmessage = (
      event: MessageEvent<Message | Ready>,
    ) => {
      const message = event.data;
      if ("ready" in message) {
        clearTimeout(timer);
        resolve(true);
        return;
      }
      if (queue.length === 0 && !("slice" in message)) {
        take(message);
        return;
      }
      queue.push(message);
      if (queue.length === 1) setTimeout(takeNext, 0);
    };
    // A worker that fails is dropped; the next push starts another one.
    const fail = () => {
      clearTimeout(timer);
      resolve(false);
      if (this.#worker === worker) this.#drop(UNAVAILABLE);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      fail();
    };
    worker.onmessageerror = fail;
    return promise;
  }

  /**
   * The push prepared on the worker, or undefined when no worker can run
   * here (then it is prepared inline). A refused or invalid push throws
   * what it would throw inline, with the same message; 503 (PushError
   * "unavailable") when the worker cannot be reached. Families come back
   * without their metrics (placeholders stand in); the series keys come
   * with the push, and the consistency check names series from them.
   */
  async prepare(push: PushBody): Promise<ReadyPush | undefined> {
    if (this.#unsupported) return undefined;
    if (this.#closed) throw SHUTTING_DOWN();
    this.#ready ??= this.#start();
    if (!await this.#ready) {
      if (this.#unsupported) return undefined;
      this.#drop(UNAVAILABLE);
      throw UNAVAILABLE();
    }
    const worker = this.#worker;
    if (worker === undefined) throw UNAVAILABLE();
    const id = this.#next++;
    const bytes = push.body.length;
    const answer = await new Promise<Answer>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      const body = push.body;
      // The body is handed over, not copied, when it owns its buffer.
      const transfer = body.byteOffset === 0 &&
          body.buffer instanceof ArrayBuffer &&
          body.byteLength === body.buffer.byteLength
        ? [body.buffer]
        : [];
      worker.postMessage({ id, push } satisfies Job, transfer);
    });
    if (bytes >= RECYCLE_AFTER_BYTES) this.#recycle(worker);
    switch (answer.outcome) {
      case "error":
        throw fromWire(answer.error);
      case "problems":
        return {
          families: answer.families.map((f) => ({
            name: f.name,
            type: f.type,
            help: f.help,
            unit: f.unit,
            metrics: placeholders(f.count),
          } as MetricFamily)),
          problems: answer.problems,
          seriesCount: answer.seriesCount,
        };
      case "prepared":
        return {
          families: answer.prepared.map((f) => ({
            name: f.name,
            type: f.type,
            help: f.help,
            unit: f.unit,
            metrics: placeholders(f.keys.length),
          } as MetricFamily)),
          problems: [],
          seriesCount: answer.seriesCount,
          keys: answer.prepared.map((f) => f.keys),
          distinct: answer.distinct,
          prepared: answer.prepared,
        };
      default:
        return unreachable(answer);
    }
  }

  /** Starts the worker now; resolves true once it is ready (tests). */
  whenReady(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    this.#ready ??= this.#start();
    return this.#ready;
  }

  /**
   * Ends `worker` once it has nothing to do, so that the next push starts
   * another one: its heap, grown by a large body (the decoded metrics of a
   * million series, 300 MB, are garbage once it answered), goes at once,
   * where V8 would keep it for seconds, beside the memory the HTTP thread
   * needs to write the push.
   */
  #recycle(worker: Worker): void {
    if (this.#worker !== worker || this.#waiting.size > 0) return;
    worker.terminate();
    this.#worker = undefined;
    this.#ready = undefined;
  }

  /** Forgets the worker; pushes waiting for it get `error`. */
  #drop(error: () => Error): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready = undefined;
    for (const waiting of this.#waiting.values()) waiting.reject(error());
    this.#waiting.clear();
  }

  /** Stops the worker (at shutdown); pushes waiting for it get 503. */
  close(): void {
    this.#closed = true;
    this.#drop(SHUTTING_DOWN);
  }
}

const UNAVAILABLE = () =>
  new PushError(
    "unavailable",
    "the push worker that prepares large bodies is not available; try again",
  );

const SHUTTING_DOWN = () =>
  new PushError("unavailable", "the gateway is shutting down; try again");
