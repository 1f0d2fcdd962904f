/**
 * The log lines for what the background checkpointer reports: a failing
 * checkpoint, a reader holding the WAL (docs/operations.md, "Durability").
 * @module
 */

import { unreachable } from "../exposition/model.ts";
import type { CheckpointerEvent } from "./checkpointer.ts";

/** The log line for what the checkpointer reports (docs/operations.md, "Durability"). */
export function describeCheckpointerEvent(event: CheckpointerEvent): string {
  const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
  switch (event.type) {
    case "failed":
      return "background WAL checkpoints failed; retrying with backoff (the WAL grows meanwhile)";
    case "resumed":
      return "background WAL checkpoints work again";
    case "held":
      return `a reader (sqlite3 shell, backup, Litestream) has held the WAL for ${
        Math.round(event.heldSeconds)
      }s; the WAL is ${mib(event.walBytes)} MiB; end long read transactions`;
    case "released":
      return `WAL checkpoints caught up after a reader held them for ${
        Math.round(event.heldSeconds)
      }s`;
    default:
      return unreachable(event);
  }
}
