/**
 * `--profile`: Pushvault alone under `deno run --cpu-prof`, preloaded, then
 * one load run, and where that run spent its time.
 * @module
 */

import { formatSummary, summarizeProfile } from "../cpuprofile_top.ts";
import { SERIES_PER_GROUP } from "../workload.ts";
import { progress } from "./common.ts";
import { runLoadProcess } from "./measure_load.ts";
import { preload, preloadRequests } from "./measure_scrape.ts";
import { type Options, settingsFor } from "./options.ts";
import { pushvaultSource, startPushvault } from "./servers.ts";

export async function runProfile(
  options: Options,
  dir: string,
): Promise<string> {
  const settings = settingsFor(options, options.sizes[0] ?? 100_000);
  const groups = settings.groups;
  // Outside the run's temp dir, which is removed at the end.
  const profDir = await Deno.makeTempDir({ prefix: "pv-cpuprofile-" });
  const pvFile = `${dir}/pv.db`;
  progress(`profile: preloading ${groups} groups without the profiler`);
  const first = await startPushvault(dir, pvFile, "pv");
  await first.waitReady();
  await preload(
    first,
    preloadRequests(groups),
    options.concurrency,
    options.preloadCapMs,
  );
  await first.stop();
  const kind = options.profileBody;
  progress(`profile: restart under --cpu-prof, ${kind} load`);
  const server = await startPushvault(dir, pvFile, "pv-prof", [
    "--cpu-prof",
    `--cpu-prof-dir=${profDir}`,
  ]);
  const readyMs = await server.waitReady();
  const loadStart = performance.now() - server.spawnedAt + options.warmupMs;
  const small = await runLoadProcess(
    server,
    kind,
    kind === "10series" ? options.smallGroups : options.largeGroups,
    options,
    settings.loadMs,
  );
  const loadEnd = performance.now() - server.spawnedAt;
  await server.stop();
  // The main thread's profile; workers (the WAL checkpointer) write their own.
  const files = [...Deno.readDirSync(profDir)].filter((e) =>
    e.name.endsWith(".cpuprofile") && !e.name.includes(".worker-")
  );
  const file = files[0];
  if (!file) throw new Error("no .cpuprofile was written");
  const profile = JSON.parse(
    await Deno.readTextFile(`${profDir}/${file.name}`),
  );
  const summary = summarizeProfile(profile, 30, {
    fromUs: loadStart * 1000,
    toUs: loadEnd * 1000,
  });
  return [
    `# Pushvault CPU profile — ${new Date().toISOString()}`,
    `pushvault: ${pushvaultSource.revision}`,
    `store: ${groups * SERIES_PER_GROUP} series; ready in ${
      readyMs.toFixed(0)
    } ms after restart`,
    `load: ${kind} PUTs, ${options.concurrency} clients, ${
      small.perSecond.toFixed(0)
    } pushes/s, p50 ${small.p50Ms.toFixed(2)} ms, p99 ${
      small.p99Ms.toFixed(2)
    } ms, errors ${small.errors}`,
    `window: samples from the end of the warm-up to the end of the load (start-up excluded)`,
    `profile file: ${profDir}/${file.name}`,
    "",
    formatSummary(summary),
  ].join("\n");
}
