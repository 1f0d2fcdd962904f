/**
 * Where the ten-million-series tier's first text scrape spends its time:
 * Pushvault under `deno run --cpu-prof`, filled with the tier's groups by
 * HTTP, then one text scrape; prints the profile of the scrape's window.
 *
 *   deno run -A scripts/bench/gateway/tier_10m_profile.ts [--groups 10000] [--rev HEAD]
 *
 * Pushvault runs from a `git archive` of `--rev` (HEAD). The server is stopped by PID; its temporary directory removed.
 * @module
 */

import { formatSummary, summarizeProfile } from "../cpuprofile_top.ts";
import { Http1Connection } from "../http1.ts";
import { HOST, print, progress } from "./common.ts";
import { scrapeOnce } from "./measure_scrape.ts";
import { preparePushvault, running, startPushvault } from "./servers.ts";
import { preloadTier, RssSampler, TIER_GROUPS } from "./tier_10m.ts";

async function main(args: readonly string[]): Promise<number> {
  const at = args.indexOf("--groups");
  const groups = at >= 0 ? Number(args[at + 1]) : TIER_GROUPS;
  const dir = await Deno.makeTempDir({ prefix: "pv-tier-profile-" });
  try {
    // A commit, not the work tree, which others edit while this runs.
    const rev = args.indexOf("--rev");
    await preparePushvault(rev >= 0 ? args[rev + 1] : "HEAD", dir);
    const server = await startPushvault(dir, `${dir}/pv.db`, "pv", [
      "--cpu-prof",
      `--cpu-prof-dir=${dir}/prof`,
    ]);
    await server.waitReady();
    progress(`preload ${groups} groups`);
    const preload = await preloadTier(server, groups, 8, 1_800_000);
    const sampler = new RssSampler(server.pid, 50);
    const from = performance.now() - server.spawnedAt;
    const conn = await Http1Connection.open(HOST, server.port);
    const scrape = await scrapeOnce(conn, false);
    conn.close();
    const to = performance.now() - server.spawnedAt;
    const peak = sampler.stop();
    await server.stop(120_000);
    const file = [...Deno.readDirSync(`${dir}/prof`)].find((e) =>
      e.name.endsWith(".cpuprofile") && !e.name.includes(".worker-")
    );
    if (!file) throw new Error("no .cpuprofile was written");
    const profile = JSON.parse(
      await Deno.readTextFile(`${dir}/prof/${file.name}`),
    );
    print(
      [
        `preload: ${preload.groups} groups in ${
          preload.seconds.toFixed(0)
        } s, ${preload.errors} errors`,
        `first text scrape: ${(scrape.ms / 1000).toFixed(2)} s, ${
          (scrape.bytes / 2 ** 20).toFixed(0)
        } MiB, peak RSS ${peak.toFixed(0)} MiB`,
        "",
        formatSummary(
          summarizeProfile(profile, 25, {
            fromUs: from * 1000,
            toUs: to * 1000,
          }),
        ),
      ].join("\n") + "\n",
    );
    return 0;
  } finally {
    for (const server of [...running]) await server.kill();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
