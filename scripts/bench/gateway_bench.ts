/**
 * Pushvault and Debian's Pushgateway 1.5.1 side by side on loopback, with
 * the same data and the same load (`deno task bench:gateway`):
 *
 *   deno run -A scripts/bench/gateway_bench.ts [--quick]
 *     [--sizes 100000,1000000 | --series 100000] [--json out.json]
 *     [--load-seconds 10] [--scrapes 5] [--rev HEAD] [--keep]
 *     [--profile [--profile-body 10series|1000series]] [--tier 10m|sizes]
 *
 * The whole comparison runs once per store size (`--sizes`, in series;
 * default 100k and 1M, `--quick` 20k), one table per size, one JSON file
 * with every size. The full run then runs the ten-million-series tier
 * (gateway/tier_10m.ts: 10,000 groups of 1,000 series, against its targets
 * for memory, scrapes and restart); `--tier 10m` runs it alone, `--tier
 * sizes` leaves it out. `--rev` runs Pushvault from a `git archive` of that
 * commit (the work tree may change under a run); by default it runs from
 * the work tree.
 *
 * Both servers run as child processes (killed by PID when the run ends, on
 * error and on SIGINT/SIGTERM). Pushvault is preloaded by HTTP pushes of the
 * workload groups (workload.ts), scraped, restarted on its database. The
 * Pushgateway is not preloaded by HTTP: every push re-gathers its whole
 * store (O(n²) over a preload, hours at 1M series), so it starts on a
 * persistence file of the same groups written by pg_snapshot.ts, which it
 * restores before it answers /-/ready; then it is scraped. In the full run,
 * at up to 100k series, a second, empty Pushgateway also takes HTTP pushes
 * of the same groups for at most 30 s, for its preload rate. Both are then
 * loaded by `load.ts` in a process of its own, one server at a time, and
 * scraped while `load.ts` pushes. `wrk` runs the same kind of load to show
 * that load.ts is not what limits the figures. `sqlite_ceiling.ts` measures
 * what `node:sqlite` alone commits, the ceiling of the performance
 * plan. Prints a table per size and writes every figure as JSON.
 * `--profile` instead runs Pushvault alone under `deno run --cpu-prof` and
 * prints where a load run (`--profile-body 10series|1000series`) spends its
 * time.
 *
 * Every loop is bounded in count and time. Loopback only.
 * @module
 */

import { exists, print, progress, WRK_BIN } from "./gateway/common.ts";
import { runProfile } from "./gateway/profile.ts";
import { formatReport } from "./gateway/report.ts";
import { tableRows } from "./gateway/report_rows.ts";
import { formatTier, targetLines } from "./gateway/report_tier.ts";
import { machineInfo, runComparison } from "./gateway/run.ts";
import { runTier10m } from "./gateway/tier_10m.ts";
import { parseOptions } from "./gateway/options.ts";
import {
  preparePushvault,
  pushvaultSource,
  running,
} from "./gateway/servers.ts";

export { parseCount, parseOptions, settingsFor } from "./gateway/options.ts";
export { mainThreadBusy } from "./gateway/report_rows.ts";
export { preload, preloadRequests } from "./gateway/measure_scrape.ts";
export { wrkLua } from "./gateway/measure_load.ts";
export { Server, startPushvault } from "./gateway/servers.ts";

async function main(args: readonly string[]): Promise<number> {
  const options = parseOptions(args);
  const dir = await Deno.makeTempDir({ prefix: "pv-gateway-bench-" });
  const onSignal = () => {
    progress(`signal: killing ${running.size} server(s) by PID`);
    for (const server of running) server.killNow();
    Deno.exit(130);
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  // An error nobody awaits ends the process without running `finally`:
  // the servers must not outlive it.
  const onUncaught = () => {
    for (const server of running) server.killNow();
  };
  globalThis.addEventListener("unhandledrejection", onUncaught);
  globalThis.addEventListener("error", onUncaught);
  try {
    await preparePushvault(options.rev, dir);
    if (options.profile) {
      print(await runProfile(options, dir));
      return 0;
    }
    if (!await exists(WRK_BIN)) {
      progress(
        `${WRK_BIN} is absent (scripts/setup.sh installs it: apt-get install wrk): the wrk rows, which show that load.ts is not the limit, are left out`,
      );
    }
    const output: Record<string, unknown> = {};
    if (options.tiers.includes("sizes")) {
      const result = await runComparison(options, dir);
      print(formatReport(result));
      Object.assign(output, {
        ...result,
        sizes: result.sizes.map((size) => ({
          ...size,
          table: tableRows(size).map(([n, a, b]) => ({
            figure: n,
            pushvault: a ?? null,
            pushgateway: b ?? null,
          })),
        })),
      });
    } else {
      Object.assign(output, {
        date: new Date().toISOString(),
        machine: await machineInfo(),
        options,
        pushvaultRevision: pushvaultSource.revision,
      });
    }
    if (options.tiers.includes("10m")) {
      const tierDir = `${dir}/10m`;
      await Deno.mkdir(tierDir);
      const tier = await runTier10m(
        tierDir,
        options.concurrency,
        options.preloadCapMs,
      );
      if (!options.keep) await Deno.remove(tierDir, { recursive: true });
      print(formatTier(tier));
      output.tier10m = { ...tier, targetLines: targetLines(tier) };
    }
    if (options.jsonPath) {
      await Deno.writeTextFile(
        options.jsonPath,
        JSON.stringify(output, null, 2) + "\n",
      );
      progress(`wrote ${options.jsonPath}`);
    }
    return 0;
  } finally {
    for (const server of [...running]) await server.kill();
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    globalThis.removeEventListener("unhandledrejection", onUncaught);
    globalThis.removeEventListener("error", onUncaught);
    if (options.keep) progress(`kept ${dir}`);
    else await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
