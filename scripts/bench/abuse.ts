/**
 * Abusive requests against Pushvault and Debian's Pushgateway 1.5.1, side by
 * side on loopback (`deno task bench:abuse`):
 *
 *   deno run -A scripts/bench/abuse.ts [--quick] [--only <row>]…
 *     [--json out.json] [--pushvault-only] [--timeout <seconds>]
 *
 * Each row runs against a fresh server in a fresh temporary directory:
 * Pushvault started as `deno task start` starts it (plus the listen address,
 * the database file and the row's flags), the Pushgateway as
 * `prometheus-pushgateway --web.listen-address=… --persistence.file=…` (a
 * file in the row's directory, written only after 5 min, so never here).
 * While the row's abuse runs, a prober in a Worker sends `GET /-/healthy`
 * every 10 ms on one keep-alive connection (with the row's credentials and
 * CA); the row reports the longest probe of the abuse (setup such as filling
 * the store excluded) beside the longest probe of the same server idle just
 * before (the noise floor of a shared machine), the server's peak resident
 * memory (VmHWM of the whole process life), and the abusive requests'
 * statuses and times. Pushvault's targets: longest probe ≤ 100 ms in every
 * row, memory as the row says. Rows not here: disk full at start-up and the
 * injective grouping key, which are functional checks, not performance.
 *
 * Rows (`--only` takes a row id or the group before its first `-`):
 * labels, password, ui-<groups>, big-number, big-push, big-push-concurrent,
 * long-reader, retention, long-uri, tls. Every request has a timeout
 * (`--timeout`, 60 s) and every row a cap, after which it reads "timed out"; the server
 * is then killed. Servers are stopped by PID, temporary directories removed.
 * @module
 */

import {
  print,
  PROBE_INTERVAL_MS,
  progress,
  REPO,
  TAIL_MS,
} from "./abuse/common.ts";
import { rowsFor } from "./abuse/rows_other.ts";
import { runRow, servers } from "./abuse/run.ts";
import { FULL, QUICK, type Sizes } from "./abuse/sizes.ts";
import {
  formatTable,
  parseAbuseOptions,
  type RowReport,
} from "./abuse_report.ts";

async function gitHead(): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-C", REPO, "rev-parse", "--short=12", "HEAD"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function writeJson(
  path: string,
  run: {
    startedAt: string;
    head: string;
    sizes: Sizes;
    reports: readonly RowReport[];
  },
): Promise<void> {
  await Deno.writeTextFile(
    path,
    JSON.stringify(
      {
        startedAt: run.startedAt,
        head: run.head,
        sizes: run.sizes,
        rows: run.reports,
      },
      null,
      2,
    ) + "\n",
  );
}

async function main(args: readonly string[]): Promise<number> {
  const options = parseAbuseOptions(args);
  const sizes: Sizes = {
    ...(options.quick ? QUICK : FULL),
    requestTimeoutMs: options.timeoutMs,
  };
  const all = rowsFor(sizes);
  const selected = options.only.length === 0
    ? all
    : all.filter((row) =>
      options.only.some((o) => o === row.id || o === row.id.split("-")[0])
    );
  if (selected.length === 0) {
    throw new RangeError(
      `--only matches no row; rows: ${all.map((r) => r.id).join(", ")}`,
    );
  }
  const onSignal = () => {
    progress(`signal: killing ${servers.size} server(s) by PID`);
    for (const server of servers) server.killNow();
    Deno.exit(130);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, onSignal);
  }
  // An error nobody awaits ends the process without running `finally`:
  // the servers must not outlive it.
  globalThis.addEventListener("unhandledrejection", () => {
    for (const server of servers) server.killNow();
  });
  const startedAt = new Date().toISOString();
  const head = await gitHead();
  const reports: (RowReport & { figures: Record<string, unknown> })[] = [];
  try {
    for (const row of selected) {
      const report = await runRow(row, sizes, options.pushvaultOnly);
      reports.push(report);
      progress(formatTable([report]).split("\n")[2] ?? "");
      // Written after every row, so that an interrupted run keeps its rows.
      if (options.jsonPath !== undefined) {
        await writeJson(options.jsonPath, { startedAt, head, sizes, reports });
      }
    }
  } finally {
    for (const server of [...servers]) await server.kill();
  }
  const met = reports.filter((r) => r.checks.every((c) => c.met)).length;
  print(
    `Abuse benchmark, ${
      options.quick ? "quick" : "full"
    } sizes, work tree at ${head}, started ${startedAt}\n` +
      `Probe: GET /-/healthy every ${PROBE_INTERVAL_MS} ms on one keep-alive connection; ` +
      `longest over the abuse plus ${TAIL_MS} ms. Peak RSS: VmHWM. ` +
      `Pushvault met its targets in ${met}/${reports.length} rows.\n\n` +
      formatTable(reports) +
      "\nNot run: disk full at start-up and the injective grouping key " +
      "(functional checks, not performance).\n",
  );
  if (options.jsonPath !== undefined) progress(`wrote ${options.jsonPath}`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
