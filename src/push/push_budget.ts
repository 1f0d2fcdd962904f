/**
 * A memory budget for large pushes (docs/security.md, "Limits"): a large body costs
 * up to about 30 times its size while it is decoded, prepared and written,
 * so the decompressed bytes of the large pushes between decoding and their
 * commit are bounded. A push past the budget waits its turn (first come,
 * first served); when the queue is full, it is answered 503 at once with a
 * message naming the budget. Small pushes never ask: they never wait behind
 * large ones.
 *
 * Pure bookkeeping; no I/O, no clock.
 * @module
 */

import { LimitError } from "./push_error.ts";

interface Waiter {
  readonly bytes: number;
  readonly admit: () => void;
}

export class PushBudget {
  readonly #budget: number;
  readonly #queueBytes: number;
  readonly #flag: string;
  #inFlight = 0;
  #waitingBytes = 0;
  readonly #queue: Waiter[] = [];

  /**
   * `budgetBytes` may be in preparation at once, `queueBytes` more wait;
   * `flag` names where they come from, for the 503 message.
   */
  constructor(
    limits: { readonly budgetBytes: number; readonly queueBytes: number },
    flag: string,
  ) {
    this.#budget = limits.budgetBytes;
    this.#queueBytes = limits.queueBytes;
    this.#flag = flag;
  }

  /** Decompressed bytes of the large pushes admitted and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Resolves with the function that gives the bytes back once the push is
   * admitted; throws LimitError (503) when the queue is full. A push alone
   * is always admitted, however large (its body passed the size limit).
   */
  async admit(bytes: number): Promise<() => void> {
    if (
      this.#queue.length === 0 &&
      (this.#inFlight === 0 || this.#inFlight + bytes <= this.#budget)
    ) {
      this.#inFlight += bytes;
      return this.#releaser(bytes);
    }
    if (this.#waitingBytes + bytes > this.#queueBytes) {
      throw new LimitError(
        "unavailable",
        "unavailable",
        `too many large pushes at once: ${this.#inFlight} bytes are being prepared and ${this.#waitingBytes} bytes wait, and this push's ${bytes} bytes would pass the queue of ${this.#queueBytes} bytes (${this.#flag}); try again`,
      );
    }
    this.#waitingBytes += bytes;
    await new Promise<void>((admit) => this.#queue.push({ bytes, admit }));
    return this.#releaser(bytes);
  }

  #releaser(bytes: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= bytes;
      this.#admitWaiting();
    };
  }

  #admitWaiting(): void {
    for (;;) {
      const next = this.#queue[0];
      if (next === undefined) return;
      if (this.#inFlight > 0 && this.#inFlight + next.bytes > this.#budget) {
        return;
      }
      this.#queue.shift();
      this.#waitingBytes -= next.bytes;
      this.#inFlight += next.bytes;
      next.admit();
    }
  }
}
