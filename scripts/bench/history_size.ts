/**
 * Bytes on disk per kept sample of the history (docs/performance.md): the
 * store alone, without HTTP, pushes `--groups` groups of the load bodies
 * (`--kind 10series|1000series`, workload.ts) `--rounds` times, one round a
 * minute of simulated time, runs retention every round with
 * `--keep-rounds` rounds kept, then divides the file's size (tables,
 * indexes and free pages; the WAL checkpointed) by the samples kept, and
 * shows the share of the free pages and of each table and index:
 *
 *   deno run -A scripts/bench/history_size.ts --kind 1000series --groups 100 \
 *     --rounds 12 --keep-rounds 10 [--keep-db path]
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { Store } from "../../src/store/store.ts";
import { textPushCommand } from "./store_command.ts";
import { type BodyKind, loadBody, loadPath } from "./workload.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function print(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kind: { type: "string", default: "1000series" },
      groups: { type: "string", default: "100" },
      rounds: { type: "string", default: "12" },
      "keep-rounds": { type: "string", default: "10" },
      "keep-db": { type: "string" },
    },
  });
  const kind = values.kind as BodyKind;
  const groups = Number(values.groups);
  const rounds = Number(values.rounds);
  const keep = Number(values["keep-rounds"]);
  const dir = await Deno.makeTempDir({ prefix: "pv-history-size-" });
  const path = values["keep-db"] ?? `${dir}/pv.db`;
  try {
    const store = new Store({ path });
    const body = loadBody(kind);
    const t0 = Date.UTC(2026, 11, 1) / 1000;
    const start = performance.now();
    let pruneMs = 0;
    let pruneMaxMs = 0;
    let pruned = 0;
    let batches = 0;
    for (let r = 0; r < rounds; r++) {
      const time = t0 + r * 60;
      const pending = [];
      for (let g = 0; g < groups; g++) {
        const tail = decoder.decode(body.tails[(r + g) % body.tails.length]);
        pending.push(store.enqueuePush(
          textPushCommand(
            loadPath(kind, g),
            body.head(r * groups + g) + tail,
            time,
            "Go-http-client/1.1", // as long as a real client's, for the bytes
          ),
        ));
        if (pending.length === 8) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      // Retention as maintenance runs it: `keep` rounds back.
      const cutoff = time - (keep - 1) * 60 + 1;
      for (let i = 0; i < 100_000; i++) {
        const t = performance.now();
        const n = store.pruneHistory(cutoff, 16);
        const ms = performance.now() - t;
        if (n === 0) break;
        pruneMs += ms;
        pruneMaxMs = Math.max(pruneMaxMs, ms);
        pruned += n;
        batches++;
      }
    }
    const seconds = (performance.now() - start) / 1000;
    print(
      `pruner: ${pruned} rows in ${batches} batches of 16 families, ${
        pruneMs.toFixed(0)
      } ms (${
        (pruneMs * 1000 / Math.max(1, pruned)).toFixed(1)
      } µs a row, longest batch ${pruneMaxMs.toFixed(1)} ms)`,
    );
    store.close();
    const db = new DatabaseSync(path, { readOnly: true });
    const n = (sql: string) =>
      Number(Object.values(db.prepare(sql).get() ?? {})[0]);
    const pages = n("PRAGMA page_count");
    const pageSize = n("PRAGMA page_size");
    const free = n("PRAGMA freelist_count");
    const samples = n("SELECT count(*) FROM samples");
    const bytes = pages * pageSize;
    print(
      `${kind}: ${groups} groups × ${rounds} rounds (${keep} kept) in ${
        seconds.toFixed(1)
      } s; ${samples} samples kept; file ${(bytes / 1048576).toFixed(1)} MiB (${
        (free * pageSize / 1048576).toFixed(1)
      } MiB free pages); ${(bytes / samples).toFixed(1)} bytes per kept sample`,
    );
    print(
      `  ${"(free pages)".padEnd(24)} ${
        (free * pageSize / samples).toFixed(1).padStart(7)
      } B/sample`,
    );
    for (
      const row of db.prepare(
        "SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC",
      ).all()
    ) {
      print(
        `  ${String(row.name).padEnd(24)} ${
          (Number(row.bytes) / samples).toFixed(1).padStart(7)
        } B/sample`,
      );
    }
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
