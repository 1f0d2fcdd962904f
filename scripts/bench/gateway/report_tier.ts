/**
 * The ten-million-series tier's report: one line per figure, and one line
 * per target saying whether it was met and by how much.
 * @module
 */

import type { TierResult } from "./tier_10m.ts";

const mib = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? "—" : `${n.toFixed(0)} MiB`;
const secs = (ms: number | undefined) =>
  ms === undefined || Number.isNaN(ms) ? "—" : `${(ms / 1000).toFixed(2)} s`;
const size = (n: number | undefined) =>
  n === undefined ? "—" : `${(n / 2 ** 20).toFixed(0)} MiB`;

export interface TargetLine {
  readonly target: string;
  readonly limit: string;
  readonly measured: string;
  readonly met: boolean | undefined;
  readonly by: string;
}

/** Each target against what Pushvault did. */
export function targetLines(t: TierResult): TargetLine[] {
  const pv = t.pushvault;
  const worst = (xs: readonly { ms: number }[] | undefined) =>
    xs && xs.length > 0 ? Math.max(...xs.map((x) => x.ms)) : undefined;
  const peak = Math.max(
    pv.peakRssFirstProcessMiB ?? 0,
    pv.restart?.peakRssMiB ?? 0,
  );
  const line = (
    target: string,
    limit: number,
    value: number | undefined,
    show: (n: number | undefined) => string,
  ): TargetLine => ({
    target,
    limit: show(limit),
    measured: show(value),
    met: value === undefined ? undefined : value <= limit,
    by: value === undefined
      ? "not measured"
      : value <= limit
      ? `${show(limit - value)} to spare`
      : `over by ${show(value - limit)} (${(value / limit).toFixed(2)}×)`,
  });
  return [
    line("peak resident memory", t.targets.peakRssMiB, peak || undefined, mib),
    line(
      "full text scrape (slowest)",
      t.targets.textScrapeMs,
      worst(pv.text),
      secs,
    ),
    line(
      "gzip scrape (slowest)",
      t.targets.gzipScrapeMs,
      worst(pv.gzip),
      secs,
    ),
    line(
      "start-up to /-/ready after restart",
      t.targets.restartReadyMs,
      pv.restart?.readyMs,
      secs,
    ),
  ];
}

export function formatTier(t: TierResult): string {
  const pv = t.pushvault;
  const pg = t.pushgateway;
  const series = t.groups * t.seriesPerGroup;
  const scrapes = (xs: readonly { ms: number; peakRssMiB: number }[] = []) =>
    xs.map((x) => `${secs(x.ms)} (peak RSS ${mib(x.peakRssMiB)})`).join(", ");
  const lines = [
    `## ${series} series (the ten-million tier) — ${t.groups} groups × ${t.seriesPerGroup} series (took ${
      t.seconds.toFixed(0)
    } s)`,
    "",
    "| target | limit | Pushvault | met | by |",
    "| - | -: | -: | - | - |",
    ...targetLines(t).map((l) =>
      `| ${l.target} | ${l.limit} | ${l.measured} | ${
        l.met === undefined ? "—" : l.met ? "yes" : "no"
      } | ${l.by} |`
    ),
    "",
    `Pushvault: preload ${pv.preload?.groups ?? 0}/${t.groups} groups (${
      pv.preload?.series ?? 0
    } series) in ${pv.preload?.seconds.toFixed(0) ?? "—"} s, ${
      pv.preload?.errors ?? 0
    } errors${
      pv.preload?.errorExample ? ` (${pv.preload.errorExample})` : ""
    }; RSS after preload ${mib(pv.rssAfterPreloadMiB)}; peak RSS ${
      mib(pv.peakRssFirstProcessMiB)
    } (first process), ${mib(pv.restart?.peakRssMiB)} (after restart)`,
    `Pushvault text scrapes: ${scrapes(pv.text)}; ${
      size(pv.text?.[0]?.bytes)
    } each, RSS before ${mib(pv.text?.[0]?.rssBeforeMiB)}`,
    `Pushvault gzip scrapes: ${scrapes(pv.gzip)}; ${
      size(pv.gzip?.[0]?.bytes)
    } each`,
    `Pushvault restart: ready in ${secs(pv.restart?.readyMs)}, RSS at ready ${
      mib(pv.restart?.rssAtReadyMiB)
    }; first text scrape after ready ${
      secs(pv.restart?.firstTextScrape.ms)
    } (peak RSS ${mib(pv.restart?.firstTextScrape.peakRssMiB)}); database ${
      size(pv.databaseBytes)
    }`,
    `Pushgateway 1.5.1 on a persistence file of the same groups (${
      size(pg.snapshotBytes)
    }, written in ${pg.snapshotSeconds.toFixed(0)} s): ${
      pg.readyMs === undefined
        ? "never ready"
        : `ready in ${secs(pg.readyMs)}, RSS ${mib(pg.rssAtReadyMiB)}`
    }; ${
      pg.text
        ? `text scrape ${secs(pg.text.ms)} (${size(pg.text.bytes)})`
        : "no text scrape"
    }; peak RSS ${mib(pg.peakRssMiB)}${
      pg.stoppedBecause ? `; stopped: ${pg.stoppedBecause}` : ""
    }`,
  ];
  return lines.join("\n") + "\n";
}
