/**
 * How long the "value of one series over time" query of docs/database.md takes
 * (docs/performance.md): a store of `--groups` groups of 1,000 series
 * (pushed `--rounds` times), plus one group of 10 series pushed once a
 * minute for `--days` days; then the history of one of its series through
 * `sample_history`, `--runs` times, with its EXPLAIN QUERY PLAN:
 *
 *   deno run -A scripts/bench/series_history.ts [--groups 100] [--days 7]
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { Store } from "../../src/store/store.ts";
import { textPushCommand } from "./store_command.ts";
import { type BodyKind, loadBody, loadPath } from "./workload.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function print(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

async function pushAll(
  store: Store,
  kind: BodyKind,
  groups: number,
  rounds: number,
  t0: number,
): Promise<void> {
  const body = loadBody(kind);
  for (let r = 0; r < rounds; r++) {
    const pending = [];
    for (let g = 0; g < groups; g++) {
      const tail = decoder.decode(body.tails[(r + g) % body.tails.length]);
      pending.push(store.enqueuePush(
        textPushCommand(
          loadPath(kind, g),
          body.head(r) + tail,
          t0 + r * 60,
          "series_history",
        ),
      ));
      if (pending.length === 8) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
  }
}

const QUERY =
  `SELECT pushed_at, value FROM sample_history WHERE metric = 'load_job_items_total'
   AND group_key = '{instance="client-0",job="load-small"}'
   AND labels = '{"instance":"client-0","job":"load-small","shard":"3"}' ORDER BY time`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      groups: { type: "string", default: "100" },
      rounds: { type: "string", default: "2" },
      days: { type: "string", default: "7" },
      runs: { type: "string", default: "20" },
      "keep-db": { type: "string" },
    },
  });
  const dir = await Deno.makeTempDir({ prefix: "pv-series-history-" });
  try {
    const path = values["keep-db"] ?? `${dir}/pv.db`;
    const t0 = Date.UTC(2026, 11, 1) / 1000;
    const start = performance.now();
    {
      using store = new Store({ path });
      await pushAll(
        store,
        "1000series",
        Number(values.groups),
        Number(values.rounds),
        t0,
      );
      await pushAll(store, "10series", 1, Number(values.days) * 1440, t0);
    }
    print(
      `store written in ${((performance.now() - start) / 1000).toFixed(0)} s`,
    );
    using db = new DatabaseSync(path, { readOnly: true });
    const n = (sql: string) =>
      Number(Object.values(db.prepare(sql).get() ?? {})[0]);
    print(
      `${n("SELECT count(*) FROM series")} series, ${
        n("SELECT count(*) FROM samples")
      } samples`,
    );
    print("EXPLAIN QUERY PLAN:");
    for (const row of db.prepare(`EXPLAIN QUERY PLAN ${QUERY}`).all()) {
      print(`  ${row.detail}`);
    }
    const statement = db.prepare(QUERY);
    const times: number[] = [];
    let points = 0;
    const cpu0 = cpuUsage();
    for (let i = 0; i < Number(values.runs); i++) {
      const t = performance.now();
      points = statement.all().length;
      times.push(performance.now() - t);
    }
    const cpu = cpuUsage(cpu0);
    times.sort((a, b) => a - b);
    print(
      `${points} points; median ${
        times[times.length >> 1]?.toFixed(1)
      } ms, max ${
        times[times.length - 1]?.toFixed(1)
      } ms over ${times.length} runs; CPU ${
        ((cpu.user + cpu.system) / 1000 / times.length).toFixed(1)
      } ms a run`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
