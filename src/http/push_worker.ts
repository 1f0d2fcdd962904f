/**
 * Large push bodies are decoded, sanitized and prepared for writing on a
 * worker thread (issue 7): a 1,000-series push spends most of its time
 * there, and the machine has a second core. The main thread then only
 * checks consistency, writes and answers. Small bodies stay inline: handing
 * one over costs more than it saves.
 *
 * The worker runs this very module (`import.meta.url`), also from the
 * bundle and the compiled binary, where it is the whole program: nothing
 * is read from the source tree. Whatever the worker cannot do (a refused
 * or invalid push, a worker that failed) is done inline again, so answers
 * and error messages never depend on where a push was prepared.
 * @module
 */

import type { Metric, MetricFamily } from "../exposition/model.ts";
import type { PreparedFamily } from "../store/prepare.ts";
import { rememberSeriesKeys } from "../push/consistency.ts";
import { preparePush, type PushBody, type ReadyPush } from "./prepare_push.ts";

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

interface Job {
  readonly id: number;
  readonly push: PushBody;
}

type Answer =
  | { readonly id: 0; readonly ok: false; readonly ready: true }
  | {
    readonly id: number;
    readonly ok: true;
    readonly seriesCount: number;
    readonly prepared: PreparedFamily[];
  }
  | { readonly id: number; readonly ok: false };

/** What the worker does with one job: a push ready to write, or not ok. */
function work(job: Job): Answer {
  try {
    const ready = preparePush(job.push, true);
    if (ready.problems.length > 0 || ready.prepared === undefined) {
      return { id: job.id, ok: false };
    }
    return {
      id: job.id,
      ok: true,
      seriesCount: ready.seriesCount,
      prepared: ready.prepared,
    };
  } catch {
    return { id: job.id, ok: false }; // answered inline, with its message
  }
}

if (isPushWorker()) {
  const scope = globalThis as unknown as {
    onmessage: (event: MessageEvent<Job>) => void;
    postMessage: (answer: Answer) => void;
  };
  scope.onmessage = (event) => scope.postMessage(work(event.data));
  scope.postMessage({ id: 0, ok: false, ready: true });
}

/** Stands in for each metric of a family prepared on the worker. */
const PLACEHOLDER: Metric = { labels: [], value: 0 };

/**
 * The push worker, started on the first large push (a gateway that never
 * gets one never pays for it); until it is ready, pushes are prepared
 * inline.
 */
export class PushWorker {
  #worker: Worker | undefined;
  #ready = false;
  /** Closed, or the worker failed: not used again. */
  #closed = false;
  #next = 1;
  readonly #waiting = new Map<number, (answer: Answer | undefined) => void>();

  #start(): void {
    let worker: Worker;
    try {
      worker = new Worker(import.meta.url, {
        type: "module",
        name: PUSH_WORKER_NAME,
      });
    } catch {
      this.#closed = true;
      return;
    }
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent<Answer>) => {
      if ("ready" in event.data) {
        this.#ready = true;
        return;
      }
      const resolve = this.#waiting.get(event.data.id);
      this.#waiting.delete(event.data.id);
      resolve?.(event.data);
    };
    // A worker that fails is not used again; pushes are prepared inline.
    worker.onerror = (event) => {
      event.preventDefault();
      this.close();
    };
    worker.onmessageerror = () => this.close();
  }

  /**
   * The push prepared on the worker, or undefined when it must be prepared
   * inline (the worker is gone, or the push is refused or invalid there:
   * inline, it gets its exact answer). Families come back without their
   * metrics (placeholders stand in, with the series keys remembered for
   * the consistency check): a push the check refuses is prepared inline
   * again for its messages (PushCommand.exactFamilies).
   */
  async prepare(push: PushBody): Promise<ReadyPush | undefined> {
    if (this.#closed) return undefined;
    if (this.#worker === undefined) this.#start();
    const worker = this.#worker;
    if (worker === undefined || !this.#ready) return undefined;
    const id = this.#next++;
    const answer = await new Promise<Answer | undefined>((resolve) => {
      this.#waiting.set(id, resolve);
      worker.postMessage({ id, push } satisfies Job);
    });
    if (answer === undefined || !answer.ok) return undefined;
    const families = answer.prepared.map((f) => {
      const family = {
        name: f.name,
        type: f.type,
        help: f.help,
        unit: f.unit,
        metrics: new Array(f.keys.length).fill(PLACEHOLDER),
      } as MetricFamily;
      rememberSeriesKeys(family, f.keys);
      return family;
    });
    return {
      families,
      problems: [],
      seriesCount: answer.seriesCount,
      prepared: answer.prepared,
    };
  }

  /** Starts the worker now; resolves true once it is ready (tests). */
  async whenReady(timeoutMs = 10_000): Promise<boolean> {
    if (this.#worker === undefined && !this.#closed) this.#start();
    const until = performance.now() + timeoutMs;
    while (!this.#ready && !this.#closed && performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.#ready && !this.#closed;
  }

  /** Stops the worker; pushes waiting for it are prepared inline. */
  close(): void {
    this.#closed = true;
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const resolve of this.#waiting.values()) resolve(undefined);
    this.#waiting.clear();
  }
}
