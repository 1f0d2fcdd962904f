/**
 * A migration written as SQL in steps: each step run apart and logged, so
 * that a long copy of a large file says how far it has got.
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** Where a migration's SQL is cut into steps (a line of its own). */
export const STEP = "-- step --";

/**
 * Runs `script`'s steps (cut at {@link STEP}) one after another in the
 * migration's transaction, telling `progress` after each.
 */
export function runSteps(
  db: DatabaseSync,
  schema: number,
  script: string,
  progress: (message: string) => void,
): void {
  const steps = script.split(STEP);
  for (let i = 0; i < steps.length; i++) {
    db.exec(steps[i] as string);
    progress(`schema ${schema}: step ${i + 1} of ${steps.length} done`);
  }
}
