/**
 * The requests in flight, so that a stop can wait for them.
 * @module
 */

import type { Handler } from "../http/routes.ts";

/**
 * Counts requests in flight so that a stop can wait for them; once
 * draining, new requests are answered 503 with `Connection: close` (the
 * listener is still open until they are done, see shutdown()).
 */
export class InFlight {
  #count = 0;
  #draining = false;
  #idle: (() => void) | undefined;

  wrap(handler: Handler): Handler {
    return async (request, info) => {
      if (this.#draining) {
        await request.body?.cancel().catch(() => {});
        return new Response("Service Unavailable: Pushvault is stopping\n", {
          status: 503,
          headers: {
            "Content-Type": "text/plain; charset=utf-8",
            Connection: "close",
          },
        });
      }
      this.#count++;
      try {
        return await handler(request, info);
      } finally {
        if (--this.#count === 0) this.#idle?.();
      }
    };
  }

  /** Refuses new requests and resolves when none is in flight. */
  drain(): Promise<void> {
    this.#draining = true;
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#idle = resolve));
  }
}
