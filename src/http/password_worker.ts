/**
 * bcrypt checks on a worker thread. bcryptjs is pure JavaScript and slow on
 * purpose (~50–300 ms per check): on the HTTP thread, a flood of wrong
 * passwords would stall every other request behind it. Here one check runs
 * at a time, on the machine's other core, and at most a bounded number
 * wait for it: past that a check is refused as `"unavailable"` at once
 * instead of queueing without end.
 *
 * The worker is started by the first check (a gateway without users, or
 * whose users are all cached, never pays for its heap) and stopped after a
 * minute without one (cached users need it no more). It runs this very
 * module (`import.meta.url`), also from the bundle and the compiled binary,
 * where it is the whole program (main.ts then does not start the server):
 * nothing is read from the source tree. This module never sees a request
 * and never caches: auth.ts does.
 * @module
 */

/** The worker's name; also how this module knows it runs as the worker. */
export const PASSWORD_WORKER_NAME = "pushvault-password";

/** Checks waiting or running before further ones are refused. */
export const MAX_PENDING_CHECKS = 16;

/** An idle worker is stopped after this many milliseconds. */
export const IDLE_STOP_MS = 60_000;

/** Whether this code runs as the password worker (see main.ts). */
export function isPasswordWorker(): boolean {
  const scope = globalThis as { WorkerGlobalScope?: unknown; name?: string };
  return scope.WorkerGlobalScope !== undefined &&
    scope.name === PASSWORD_WORKER_NAME;
}

/** What a check found; `"unavailable"`: not checked (too many waiting, or the worker failed). */
export type PasswordCheck = "match" | "mismatch" | "unavailable";

interface Job {
  readonly id: number;
  readonly password: string;
  readonly hash: string;
}

type Answer =
  | { readonly id: 0; readonly ready: true }
  | { readonly id: number; readonly match: boolean };

/** bcryptjs on the worker; a hash it cannot read matches nothing. */
function compare(
  bcrypt: typeof import("bcryptjs").default,
  job: Job,
): Answer {
  try {
    return { id: job.id, match: bcrypt.compareSync(job.password, job.hash) };
  } catch {
    return { id: job.id, match: false };
  }
}

if (isPasswordWorker()) {
  const scope = globalThis as unknown as {
    onmessage: (event: MessageEvent<Job>) => void;
    postMessage: (answer: Answer) => void;
  };
  // bcryptjs is loaded by the worker only: the server thread never hashes.
  const { default: bcrypt } = await import("bcryptjs");
  scope.onmessage = (event) => scope.postMessage(compare(bcrypt, event.data));
  scope.postMessage({ id: 0, ready: true });
}

interface Waiting extends Job {
  readonly resolve: (result: PasswordCheck) => void;
}

export interface PasswordWorkerOptions {
  /** Checks waiting or running before more are refused; tests lower it. */
  readonly maxPending?: number;
  /** Milliseconds without a check before the worker stops; tests lower it. */
  readonly idleStopMs?: number;
}

/**
 * The password worker: checks run one at a time in arrival order. A worker
 * that fails answers its checks `"unavailable"` and is replaced by the next
 * check.
 */
export class PasswordWorker {
  readonly #maxPending: number;
  readonly #idleStopMs: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #worker: Worker | undefined;
  #ready = false;
  /** The first pending check is on the worker. */
  #sent = false;
  #closed = false;
  #next = 1;
  #pending: Waiting[] = [];
  #checked = 0;

  constructor(options: PasswordWorkerOptions = {}) {
    this.#maxPending = options.maxPending ?? MAX_PENDING_CHECKS;
    this.#idleStopMs = options.idleStopMs ?? IDLE_STOP_MS;
  }

  /** Whether a worker is running (started by a check, not yet closed). */
  get started(): boolean {
    return this.#worker !== undefined;
  }

  /** Hashes compared so far, for tests and the flood benchmark. */
  get checked(): number {
    return this.#checked;
  }

  /**
   * Whether `password` matches the bcrypt `hash`. Decides synchronously
   * whether the check is taken: past the bound it is `"unavailable"` now.
   */
  check(password: string, hash: string): Promise<PasswordCheck> {
    if (this.#closed || this.#pending.length >= this.#maxPending) {
      return Promise.resolve("unavailable");
    }
    clearTimeout(this.#idleTimer);
    const { promise, resolve } = Promise.withResolvers<PasswordCheck>();
    this.#pending.push({ id: this.#next++, password, hash, resolve });
    if (this.#worker === undefined) this.#start();
    else this.#send();
    return promise;
  }

  #start(): void {
    let worker: Worker;
    try {
      worker = new Worker(import.meta.url, {
        type: "module",
        name: PASSWORD_WORKER_NAME,
      });
    } catch {
      this.#drop();
      return;
    }
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent<Answer>) => {
      const answer = event.data;
      if ("ready" in answer) {
        this.#ready = true;
      } else {
        const job = this.#pending[0];
        if (job?.id !== answer.id) return; // a failed worker's late answer
        this.#pending.shift();
        this.#sent = false;
        this.#checked++;
        job.resolve(answer.match ? "match" : "mismatch");
      }
      this.#send();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.#drop();
    };
    worker.onmessageerror = () => this.#drop();
  }

  #send(): void {
    const job = this.#pending[0];
    if (job === undefined && this.#worker !== undefined) this.#stopWhenIdle();
    if (!this.#ready || this.#sent || job === undefined) return;
    this.#sent = true;
    this.#worker?.postMessage(
      { id: job.id, password: job.password, hash: job.hash } satisfies Job,
    );
  }

  #stopWhenIdle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (this.#pending.length === 0) this.#drop();
    }, this.#idleStopMs);
    Deno.unrefTimer(this.#idleTimer);
  }

  /** Drops the worker; its checks are not done. */
  #drop(): void {
    clearTimeout(this.#idleTimer);
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready = false;
    this.#sent = false;
    const pending = this.#pending;
    this.#pending = [];
    for (const job of pending) job.resolve("unavailable");
  }

  /** Stops the worker; checks still pending are `"unavailable"`. */
  close(): void {
    this.#closed = true;
    this.#drop();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
