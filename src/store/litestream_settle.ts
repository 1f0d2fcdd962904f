/**
 * Waiting, before close, for Litestream's last sync to find a WAL it can
 * close without error (docs/operations.md, "Beyond one machine").
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/**
 * Before the store closes under Litestream: waits (at most `timeoutMs`)
 * until the WAL holds fewer frames than Litestream's
 * `min-checkpoint-page-count` (1000 unless configured). Litestream 0.3.13 checkpoints in its last
 * sync when the WAL is longer, and that checkpoint fails on its already
 * cancelled context ("error closing db … release read lock: context
 * canceled", exit status 1). With no more pushes its next sync (within a
 * second) checkpoints and restarts the WAL itself. Then it waits
 * `uploadMs` more (Litestream's default sync-interval and a margin), so
 * that its replicas have uploaded before its last sync: 0.3.13 runs that
 * one beside a replica's own and both write the same temporary file
 * ("client write: stat ….wal.lz4.tmp: no such file or directory").
 * Returns the frames left.
 */
export async function settleWal(
  db: DatabaseSync,
  timeoutMs: number,
  minCheckpointPages: number,
  uploadMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let frames = 0;
    try {
      // PASSIVE: waits for nobody and is what Litestream allows.
      const row = db.prepare("PRAGMA wal_checkpoint(PASSIVE)")
        .get() as { log: number } | undefined;
      frames = row?.log ?? 0;
    } catch {
      return 0; // the file cannot be read: close() says so
    }
    if (frames < minCheckpointPages || Date.now() >= deadline) {
      await new Promise((resolve) => setTimeout(resolve, uploadMs));
      return frames;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
