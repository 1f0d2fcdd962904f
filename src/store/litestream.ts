/**
 * Whether Litestream replicates the database, and what it has recorded of
 * its last sync (docs/operations.md, "Beyond one machine"). Litestream 0.3 creates two
 * tables in the file it replicates, `_litestream_seq` and `_litestream_lock`,
 * and keeps its shadow WAL next to it in `.<file>-litestream/`: the name of
 * its current generation in `generation`, and the WAL it copied last in
 * `generations/<generation>/wal/<index>.wal`, written at every sync.
 *
 * Reads only: never writes the database nor Litestream's directory, and
 * never runs on the path of a push (the status page asks, not a commit).
 * The replica's own position is not on this machine: Litestream keeps it in
 * memory and exports it on its own metrics endpoint (`addr:`).
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** Counts Litestream's tables in the open database: 2 when it replicates it. */
export const LITESTREAM_TABLES_SQL = `SELECT count(*) AS n FROM sqlite_master
  WHERE type = 'table' AND name IN ('_litestream_seq', '_litestream_lock')`;

/** Whether Litestream has created its tables in `db`. Never throws. */
export function hasLitestreamTables(db: DatabaseSync): boolean {
  try {
    const row = db.prepare(LITESTREAM_TABLES_SQL).get() as
      | { n: number }
      | undefined;
    return row !== undefined && row.n > 0;
  } catch {
    // A closed or locked connection: asked again later.
    return false;
  }
}

/** What Litestream's directory next to the database says. */
export interface LitestreamSync {
  /** Litestream's current generation; a new one begins with a snapshot. */
  readonly generation: string | null;
  /**
   * When Litestream last copied the WAL to its shadow WAL (ms since the
   * epoch), which its replicas upload from every `sync-interval`.
   */
  readonly lastSyncMs: number | null;
}

/** Litestream's directory for the database at `dbPath`. */
export function litestreamMetaPath(dbPath: string): string {
  const slash = dbPath.lastIndexOf("/");
  const dir = slash < 0 ? "." : dbPath.slice(0, slash) || "/";
  return `${dir}/.${dbPath.slice(slash + 1)}-litestream`;
}

/** Reads Litestream's generation and last sync; nulls where it has none. */
export async function readLitestreamSync(
  dbPath: string,
): Promise<LitestreamSync> {
  const meta = litestreamMetaPath(dbPath);
  let generation: string | null = null;
  try {
    generation = (await Deno.readTextFile(`${meta}/generation`)).trim() ||
      null;
  } catch {
    return { generation: null, lastSyncMs: null };
  }
  let lastSyncMs: number | null = null;
  try {
    const wal = `${meta}/generations/${generation}/wal`;
    let last = "";
    for await (const entry of Deno.readDir(wal)) {
      // Names are the index in 8 hex digits: the largest is the newest.
      if (entry.name.endsWith(".wal") && entry.name > last) last = entry.name;
    }
    if (last !== "") {
      lastSyncMs = (await Deno.stat(`${wal}/${last}`)).mtime?.getTime() ?? null;
    }
  } catch {
    // Between two generations the directory may be gone for a moment.
  }
  return { generation, lastSyncMs };
}
