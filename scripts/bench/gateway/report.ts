/**
 * The printed report: the machine, the ceiling, one table per size and how
 * each figure was measured.
 * @module
 */

import type { CeilingResult } from "../sqlite_ceiling.ts";
import { SERIES_PER_GROUP } from "../workload.ts";
import { PUSHGATEWAY_BIN } from "./common.ts";
import { bytes, cpuPerPush, formatTable, tableRows } from "./report_rows.ts";
import type { Comparison, SizeResult } from "./run.ts";

export const loadAverages = (xs: readonly number[]) =>
  xs.map((x) => x.toFixed(2)).join(" ");

/**
 * Pushvault's 10-series pushes/s against the ceiling: the one measured
 * beside the load (the mean of right before and right after) where there is
 * one, and the one at the start of the run.
 */
function ceilingShare(
  pushesPerSecond: number,
  atStart: CeilingResult,
  size: SizeResult,
): string {
  const share = (tps: number) => ((100 * pushesPerSecond) / tps).toFixed(1);
  const beside = size.ceilingBesideLoad;
  if (beside === undefined) {
    return `Pushvault 10-series pushes/s = ${
      share(atStart.transactionsPerSecond)
    } % of the node:sqlite ceiling`;
  }
  const before = beside.before.transactionsPerSecond;
  const after = beside.after.transactionsPerSecond;
  return `Pushvault 10-series pushes/s = ${
    share((before + after) / 2)
  } % of the node:sqlite ceiling measured beside that load (${
    Math.round(before)
  } tx/s right before, ${Math.round(after)} right after); ${
    share(atStart.transactionsPerSecond)
  } % of the one at the start of the run`;
}

/**
 * Aggregating 10-series pushes/s as a share of replacing ones (target
 * ≥ 80 %), and the same share by the server's CPU per push, which other
 * processes on a shared machine disturb less than a rate.
 */
function aggregateShare(size: SizeResult): string {
  const replacing = size.pushvault.small;
  const aggregating = size.pushvault.smallAggregate;
  if (replacing === undefined || aggregating === undefined) return "";
  const cpuReplacing = cpuPerPush(replacing);
  const cpuAggregating = cpuPerPush(aggregating);
  const byCpu = cpuReplacing === undefined || cpuAggregating === undefined
    ? ""
    : `; by server CPU per push, ${
      (100 * cpuReplacing / cpuAggregating).toFixed(1)
    } % (${cpuReplacing.toFixed(0)} µs against ${
      cpuAggregating.toFixed(0)
    } µs)`;
  return `Pushvault 10-series aggregating pushes/s = ${
    (100 * aggregating.perSecond / replacing.perSecond).toFixed(1)
  } % of replacing ones (the same body and groups' count, run right after)${byCpu}`;
}

function formatSize(
  size: SizeResult,
  result: Comparison,
): string {
  const c = result.ceiling;
  const s = size.settings;
  const pvSmall = size.pushvault.small?.perSecond;
  const lines = [
    `## ${size.series} series — ${size.groups} groups × ${SERIES_PER_GROUP} series (6 families: gauges, counters, 3 histograms)`,
    `load ${s.loadMs / 1000} s after ${
      result.options.warmupMs / 1000
    } s warm-up, ${result.options.concurrency} keep-alive clients (load.ts, its own process), consistency check on in both; ${s.scrapes} scrapes per kind; this size took ${
      size.seconds.toFixed(0)
    } s, load average ${loadAverages(size.loadAverageAtStart)} → ${
      loadAverages(size.loadAverageAtEnd)
    }`,
    "",
    formatTable(tableRows(size)),
    pvSmall === undefined ? "" : ceilingShare(pvSmall, c, size),
    aggregateShare(size),
    `Pushgateway: not preloaded by HTTP (each push re-gathers its whole store); it started on a persistence file of the same ${size.snapshot.groups} groups (${
      bytes(size.snapshot.bytes)
    }) written by pg_snapshot.ts, so its "after preload" figures are after restoring that file.${
      size.pushgateway.httpPreload
        ? ` A second, empty Pushgateway took the same HTTP pushes for ${
          size.pushgateway.httpPreload.seconds.toFixed(0)
        } s: ${size.pushgateway.httpPreload.groups} groups, for the preload pushes/s row.`
        : ""
    }`,
  ];
  for (
    const [name, f] of [
      ["Pushvault", size.pushvault],
      ["Pushgateway", size.pushgateway],
    ] as const
  ) {
    for (const note of f.notes) lines.push(`note (${name}): ${note}`);
    for (const r of [f.small, f.large, f.scrapeUnderLoad?.load]) {
      if (r && r.errors > 0) {
        lines.push(
          `errors (${name}, ${r.bodyKind}): ${
            JSON.stringify(r.errorKinds)
          } e.g. ${r.errorExample}`,
        );
      }
    }
  }
  return lines.join("\n") + "\n";
}

export function formatReport(result: Comparison): string {
  const m = result.machine;
  const c = result.ceiling;
  const first = result.sizes[0];
  const lines = [
    `# Pushvault vs Pushgateway 1.5.1 — ${result.date}`,
    `machine: nproc ${m.nproc}, ${m.cpuModel}, ${
      (m.memTotalGiB as number).toFixed(1)
    } GiB RAM, kernel ${m.kernel}, deno ${m.deno}, load average at start ${
      loadAverages(m.loadAverageAtStart as number[])
    }, at end ${loadAverages(m.loadAverageAtEnd as number[])}`,
    "free -g:",
    ...(m.freeG as string).split("\n").map((l) => `    ${l}`),
    `pushvault: ${result.pushvaultRevision}; pushgateway: ${PUSHGATEWAY_BIN} 1.5.1 (Debian); ${
      result.options.quick ? "--quick" : "full run"
    }, sizes ${result.options.sizes.join(", ")} series`,
    `ceiling: node:sqlite ${c.sqliteVersion} alone commits ${
      Math.round(c.transactionsPerSecond)
    } transactions/s of ${c.rowsPerTransaction} rows (WAL, synchronous=NORMAL), ${
      c.bulkMicrosPerRow.toFixed(2)
    } µs/row in one ${c.bulkRows}-row transaction`,
    "",
    ...result.sizes.map((size) => formatSize(size, result)),
    "how start-up with the store was measured:",
    `  Pushvault: ${first?.pushvault.restart?.how ?? "—"}`,
    `  Pushgateway: ${first?.pushgateway.restart?.how ?? "—"}`,
    `load generator check: wrk ${
      first?.pushvault.healthyWrk?.command ?? "(absent)"
    } vs load.ts with the same connections; the 10-series wrk row uses a Lua script with distinct groups and values.`,
    "pushes/s = pushes started in the measured window and answered 2xx (load.ts waits for those still under way when the window closes) / window; where a push takes longer than the window, 'pushes measured' shows how few the figure rests on.",
    "scrapes under load: text scrapes spread over a 10-series load.ts run (one per slot, none started after the window; a slow scrape delays the next).",
    "CPU figures cover the measured window only (warm-up excluded): server and load.ts from /proc/<pid>/stat, other processes = all cores busy (/proc/stat) less both; on a shared machine a high figure there means the servers competed for the cores.",
  ];
  return lines.join("\n") + "\n";
}
