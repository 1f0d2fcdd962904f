/**
 * The store alone, without HTTP: how many 10-series (or 1,000-series) pushes
 * per second `Store.enqueuePush` commits in batches of `--batch` (what group
 * commit sees with that many concurrent clients), on a store preloaded with
 * the gateway benchmark's groups. Separates the store's cost from Deno's
 * HTTP plumbing when looking for where a push's time goes:
 *
 *   deno run -A scripts/bench/store_push_bench.ts [--series 100000]
 *     [--kind 10series|1000series] [--batch 8] [--seconds 5] [--sync normal|full]
 *     [--aggregate]
 *
 * `--aggregate` pushes the same bodies to aggregating groups (as
 * `load.ts --aggregate` does over HTTP): the CPU per push beside a replacing
 * run's is the aggregation's cost in the store alone.
 * @module
 */

import { setImmediate } from "node:timers";
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { type PushCommand, Store } from "../../src/store/store.ts";
import { seriesKeysOf } from "../../src/push/series_key.ts";
import { textPushCommand } from "./store_command.ts";
import {
  type BodyKind,
  loadBody,
  loadPath,
  preloadBody,
  preloadPath,
  SERIES_PER_GROUP,
} from "./workload.ts";

const decoder = new TextDecoder();

function print(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}
const encoder = new TextEncoder();
const USER_AGENT = "store_push_bench";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      series: { type: "string", default: "100000" },
      kind: { type: "string", default: "10series" },
      batch: { type: "string", default: "8" },
      seconds: { type: "string", default: "5" },
      sync: { type: "string", default: "normal" },
      aggregate: { type: "boolean", default: false },
    },
  });
  const kind = values.kind as BodyKind;
  const batch = Number(values.batch);
  const dir = await Deno.makeTempDir({ prefix: "pv-store-bench-" });
  try {
    const store = new Store({
      path: `${dir}/pv.db`,
      sync: values.sync === "full" ? "full" : "normal",
    });
    // As the server does (start.ts).
    store.startBackgroundCheckpoints((message) =>
      print(`checkpointer: ${message}`)
    );
    const groups = Math.ceil(Number(values.series) / SERIES_PER_GROUP);
    let time = Date.now() / 1000;
    const t0 = performance.now();
    for (let g = 0; g < groups; g += batch) {
      const pending = [];
      for (let k = g; k < Math.min(groups, g + batch); k++) {
        pending.push(store.enqueuePush(
          textPushCommand(preloadPath(k), preloadBody(k), time, USER_AGENT),
        ));
      }
      await Promise.all(pending);
      await new Promise((resolve) => setImmediate(resolve));
    }
    print(
      `preload: ${groups} groups in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );

    const body = loadBody(kind);
    const groupCount = kind === "10series" ? 1000 : 100;
    // Parse outside the timed loop: this measures the store.
    const commands: PushCommand[] = [];
    for (let i = 0; i < (kind === "10series" ? 4096 : 256); i++) {
      const tail = decoder.decode(body.tails[i % body.tails.length]);
      const command = textPushCommand(
        values.aggregate
          ? `/metrics/job/load-aggregate/instance/client-${i % groupCount}`
          : loadPath(kind, i % groupCount),
        body.head(i) + tail,
        time,
        USER_AGENT,
      );
      // With its series keys, as the push handler hands it to the store.
      const keyed = { ...command, keys: command.families.map(seriesKeysOf) };
      commands.push(
        values.aggregate ? { ...keyed, aggregate: { gauge: "last" } } : keyed,
      );
    }
    const deadline = performance.now() + Number(values.seconds) * 1000;
    let pushes = 0;
    const cpu0 = cpuUsage();
    const start = performance.now();
    while (performance.now() < deadline && pushes < 10_000_000) {
      time += 0.001;
      const pending = [];
      for (let k = 0; k < batch; k++) {
        const c = commands[(pushes + k) % commands.length] as PushCommand;
        pending.push(store.enqueuePush({ ...c, time }));
      }
      await Promise.all(pending);
      // Out of the timer callback that resolved the batch, so that the next
      // flush timer is not clamped to 4 ms as a nested timer.
      await new Promise((resolve) => setImmediate(resolve));
      pushes += batch;
    }
    const seconds = (performance.now() - start) / 1000;
    const cpu = cpuUsage(cpu0);
    // Wall time includes the flush timer's wait; CPU time is the store's cost.
    print(
      `${kind}${
        values.aggregate ? " aggregating" : ""
      }, batch ${batch}: ${pushes} pushes, ${
        ((cpu.user + cpu.system) / pushes).toFixed(0)
      } µs CPU per push (user ${(cpu.user / pushes).toFixed(0)}, system ${
        (cpu.system / pushes).toFixed(0)
      }), ${(pushes / seconds).toFixed(0)} pushes/s wall`,
    );
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
