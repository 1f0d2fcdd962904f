/**
 * The storage ceiling (docs/performance.md): how many transactions
 * of 10 rows `node:sqlite` alone commits per second in WAL with
 * synchronous=NORMAL, and the cost of one row in large transactions. Run as
 * a subprocess of gateway_bench.ts (or alone):
 *
 *   deno run -A scripts/bench/sqlite_ceiling.ts --duration 3s
 *
 * Prints one JSON object. The rows look like Pushvault's samples (a family
 * id, a metric name, labels as JSON, a value) in a table with an integer
 * primary key and one index, written through one prepared statement.
 * Bounded by time and by count.
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { parseDuration } from "./load.ts";

export interface CeilingResult {
  readonly sqliteVersion: string;
  readonly rowsPerTransaction: number;
  readonly transactions: number;
  readonly seconds: number;
  readonly transactionsPerSecond: number;
  readonly bulkRows: number;
  readonly bulkMicrosPerRow: number;
}

export function measureCeiling(
  dir: string,
  durationMs: number,
  sync: "NORMAL" | "FULL" = "NORMAL",
): CeilingResult {
  const path = `${dir}/ceiling.db`;
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${sync}`);
    db.exec(`CREATE TABLE samples (
      id INTEGER PRIMARY KEY,
      family_id INTEGER NOT NULL,
      name TEXT NOT NULL,
      labels TEXT NOT NULL,
      value REAL
    )`);
    db.exec("CREATE INDEX samples_family ON samples (family_id)");
    const insert = db.prepare(
      "INSERT INTO samples (family_id, name, labels, value) VALUES (?,?,?,?)",
    );
    const version =
      (db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v;

    // Warm-up: page cache, statement, JIT.
    for (let t = 0; t < 500; t++) {
      db.exec("BEGIN IMMEDIATE");
      for (let r = 0; r < 10; r++) {
        insert.run(t, "warm_total", `{"shard":"${r}"}`, t * r);
      }
      db.exec("COMMIT");
    }

    const rows = 10;
    const maxTransactions = 5_000_000;
    let transactions = 0;
    const start = performance.now();
    const stop = start + durationMs;
    let now = start;
    while (now < stop && transactions < maxTransactions) {
      // Check the clock every 64 transactions: performance.now() is not free.
      for (let k = 0; k < 64; k++) {
        db.exec("BEGIN IMMEDIATE");
        for (let r = 0; r < rows; r++) {
          insert.run(
            transactions,
            "load_job_items_total",
            `{"shard":"${r}"}`,
            transactions + r,
          );
        }
        db.exec("COMMIT");
        transactions++;
      }
      now = performance.now();
    }
    const seconds = (now - start) / 1000;

    const bulkRows = 100_000;
    const bulkStart = performance.now();
    db.exec("BEGIN IMMEDIATE");
    for (let r = 0; r < bulkRows; r++) {
      insert.run(r >> 7, "bulk_rows_total", `{"table":"t${r & 127}"}`, r);
    }
    db.exec("COMMIT");
    const bulkMs = performance.now() - bulkStart;

    return {
      sqliteVersion: version,
      rowsPerTransaction: rows,
      transactions,
      seconds,
      transactionsPerSecond: transactions / seconds,
      bulkRows,
      bulkMicrosPerRow: (bulkMs * 1000) / bulkRows,
    };
  } finally {
    db.close();
  }
}

if (import.meta.main) {
  let duration = "3s";
  let sync: "NORMAL" | "FULL" = "NORMAL";
  for (let i = 0; i < Deno.args.length; i++) {
    if (Deno.args[i] === "--duration") duration = Deno.args[++i] ?? duration;
    if (Deno.args[i] === "--full") sync = "FULL";
  }
  const dir = await Deno.makeTempDir({ prefix: "pv-ceiling-" });
  try {
    const result = measureCeiling(dir, parseDuration(duration), sync);
    Deno.stdout.writeSync(
      new TextEncoder().encode(JSON.stringify(result) + "\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
