/**
 * Running one row against one server: start it in a fresh directory, probe
 * it from a Worker, run the abuse under the row's cap, stop it by PID.
 * @module
 */

import { V8_FLAGS } from "../../compile.ts";
import type { ProberConfig, ProberDone } from "../abuse_prober.ts";
import {
  type Check,
  formatMs,
  memoryCheck,
  probeCheck,
  type RowReport,
  type ServerCell,
  summarizeProbes,
  verdict,
} from "../abuse_report.ts";
import { Server } from "../gateway/servers.ts";
import {
  freePort,
  HOST,
  type Kind,
  now,
  PROBE_INTERVAL_MS,
  progress,
  PUSHGATEWAY_BIN,
  READY_TIMEOUT_MS,
  REPO,
  SETTLE_MS,
  sleep,
  TAIL_MS,
} from "./common.ts";
import type { Row, RowContext, RowOutcome, ServerSetup } from "./row.ts";
import type { Sizes } from "./sizes.ts";

export const servers = new Set<Server>();

export async function startServer(
  kind: Kind,
  dir: string,
  setup: ServerSetup,
): Promise<Server> {
  const port = await freePort();
  const flags = setup.flags ?? [];
  const server = kind === "pushvault"
    ? await Server.spawn(
      kind,
      Deno.execPath(),
      [
        "run",
        "-A",
        ...V8_FLAGS, // as `deno task start` runs it
        "src/main.ts",
        `--web.listen-address=${HOST}:${port}`,
        `--persistence.file=${dir}/pushvault.db`,
        ...flags,
      ],
      port,
      `${dir}/${kind}`,
      REPO,
    )
    : await Server.spawn(
      kind,
      PUSHGATEWAY_BIN,
      [
        `--web.listen-address=${HOST}:${port}`,
        `--persistence.file=${
          setup.pushgatewayFile ?? `${dir}/pushgateway.data`
        }`,
        ...flags,
      ],
      port,
      `${dir}/${kind}`,
      REPO,
    );
  servers.add(server);
  void server.status.then(() => servers.delete(server));
  return server;
}

export async function waitReady(
  server: Server,
  base: string,
  headers: Readonly<Record<string, string>>,
  client: Deno.HttpClient | undefined,
): Promise<number> {
  const deadline = now() + READY_TIMEOUT_MS;
  const started = now();
  while (now() < deadline) {
    if (server.exited) throw new Error(`${server.name} exited during start-up`);
    try {
      const res = await fetch(`${base}/-/ready`, {
        headers,
        signal: AbortSignal.timeout(5_000),
        ...(client === undefined ? {} : { client }),
      });
      await res.body?.cancel();
      if (res.status === 200) return now() - started;
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  throw new Error(`${server.name} not ready after ${READY_TIMEOUT_MS} ms`);
}

export interface Prober {
  stop(): Promise<ProberDone>;
}

export function startProber(config: ProberConfig): Prober {
  const worker = new Worker(
    new URL("../abuse_prober.ts", import.meta.url).href,
    { type: "module" },
  );
  const done = new Promise<ProberDone>((resolve) => {
    worker.onmessage = (event: MessageEvent<ProberDone>) => resolve(event.data);
  });
  worker.postMessage({ type: "start", config });
  return {
    async stop() {
      worker.postMessage({ type: "stop" });
      const result = await Promise.race([
        done,
        sleep(10_000).then((): ProberDone => ({
          type: "done",
          probes: [],
          cutStartMs: null,
        })),
      ]);
      worker.terminate();
      return result;
    },
  };
}

export function tail(path: string, lines = 3): string {
  try {
    return Deno.readTextFileSync(path).trim().split("\n").slice(-lines)
      .join(" / ").slice(0, 300);
  } catch {
    return "";
  }
}

export interface CellResult {
  readonly cell: ServerCell;
  readonly checks: readonly Check[];
  readonly figures: Readonly<Record<string, unknown>>;
}

export async function runOne(
  row: Row,
  kind: Kind,
  sizes: Sizes,
): Promise<CellResult> {
  const dir = await Deno.makeTempDir({ prefix: `pv-abuse-${row.id}-${kind}-` });
  try {
    const setup = await row.setup?.({ kind, dir, sizes }) ?? {};
    const headers = setup.headers ?? {};
    const client = setup.caCert === undefined
      ? undefined
      : Deno.createHttpClient({ caCerts: [setup.caCert] });
    const server = await startServer(kind, dir, setup);
    const base = `${
      setup.caCert === undefined ? "http" : "https"
    }://${HOST}:${server.port}`;
    try {
      const readyMs = await waitReady(server, base, headers, client).catch(
        (error: unknown) => {
          throw new Error(
            `${error instanceof Error ? error.message : String(error)}: ${
              tail(`${dir}/${kind}.err`)
            }`,
          );
        },
      );
      const capMs = row.capMs(sizes);
      const prober = startProber({
        url: `${base}/-/healthy`,
        intervalMs: PROBE_INTERVAL_MS,
        headers,
        ...(setup.caCert === undefined ? {} : { caCert: setup.caCert }),
        maxMs: SETTLE_MS + capMs + 60_000,
      });
      // Start-up work that goes on after ready is not the abuse's; the
      // probes of the last half of this wait show what an idle server (and
      // the shared machine) gives.
      await sleep(SETTLE_MS / 2);
      const idleStart = now();
      await sleep(SETTLE_MS / 2);
      const idleEnd = now();
      let peakMiB = 0;
      const readPeak = () => {
        try {
          peakMiB = Math.max(peakMiB, server.memory().hwmMiB);
        } catch {
          // exited
        }
      };
      const sampler = setInterval(readPeak, 200);
      const controller = new AbortController();
      let abuseStart = now();
      const ctx: RowContext = {
        kind,
        dir,
        sizes,
        server,
        base,
        headers,
        client,
        signal: controller.signal,
        dbPath: `${dir}/pushvault.db`,
        startAbuse: () => {
          abuseStart = now();
        },
      };
      let outcome: RowOutcome;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const running = row.run(ctx);
        running.catch(() => {});
        const capped = await Promise.race([
          running,
          new Promise<"timed out">((resolve) => {
            timer = setTimeout(() => resolve("timed out"), capMs);
          }),
        ]);
        outcome = capped === "timed out"
          ? {
            request: `timed out after ${formatMs(capMs)}`,
            detail: "",
            figures: {},
          }
          : capped;
      } catch (error) {
        outcome = {
          request: `error: ${
            error instanceof Error ? error.message : String(error)
          }`,
          detail: "",
          figures: {},
          checks: [{ name: "ran", met: false, text: "the row failed" }],
        };
      } finally {
        clearTimeout(timer);
        controller.abort();
      }
      const abuseEnd = now();
      await sleep(TAIL_MS);
      const done = await prober.stop();
      clearInterval(sampler);
      readPeak();
      const probe = summarizeProbes(
        done.probes,
        abuseStart,
        abuseEnd + TAIL_MS,
        done.cutStartMs,
      );
      const idle = summarizeProbes(done.probes, idleStart, idleEnd);
      let detail = outcome.detail;
      if (server.exited) {
        const status = await server.status;
        detail += `; SERVER EXITED (code ${status.code}${
          status.signal ? `, ${status.signal}` : ""
        }): ${tail(`${dir}/${kind}.err`)}`;
      }
      const checks = kind === "pushvault"
        ? [
          probeCheck(probe),
          ...(outcome.memoryLimitMiB === undefined
            ? []
            : [memoryCheck(peakMiB, outcome.memoryLimitMiB)]),
          ...(outcome.checks ?? []),
        ]
        : [];
      return {
        cell: {
          probe,
          idle,
          peakMiB,
          request: outcome.request,
          detail: detail.replace(/^; /, "").replace(/; $/, ""),
        },
        checks,
        figures: {
          ...outcome.figures,
          readyMs,
          abuseMs: abuseEnd - abuseStart,
        },
      };
    } finally {
      client?.close();
      await server.kill();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** runOne(), with a failure to run (a server that does not start) as the row's result. */
export async function runOneOrError(
  row: Row,
  kind: Kind,
  sizes: Sizes,
): Promise<CellResult> {
  try {
    return await runOne(row, kind, sizes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    progress(`${row.id}: ${kind}: ${message}`);
    return {
      cell: { request: `error: ${message.slice(0, 200)}` },
      checks: [{ name: "ran", met: false, text: "did not run" }],
      figures: { error: message },
    };
  }
}

export async function runRow(
  row: Row,
  sizes: Sizes,
  pushvaultOnly: boolean,
): Promise<RowReport & { figures: Record<string, unknown> }> {
  const figures: Record<string, unknown> = {};
  progress(`${row.id}: pushvault`);
  const pv = await runOneOrError(row, "pushvault", sizes);
  figures.pushvault = pv.figures;
  progress(
    `${row.id}: pushvault probe ${
      formatMs(pv.cell.probe?.maxMs ?? NaN)
    }, peak ${Math.round(pv.cell.peakMiB ?? 0)} MiB, ${pv.cell.request} → ${
      verdict(pv.checks)
    }`,
  );
  let pg: ServerCell;
  if (row.pushgatewayNa !== undefined) {
    pg = { skipped: row.pushgatewayNa };
  } else if (pushvaultOnly) {
    pg = { skipped: "not run (--pushvault-only)" };
  } else {
    progress(`${row.id}: pushgateway`);
    const result = await runOneOrError(row, "pushgateway", sizes);
    figures.pushgateway = result.figures;
    pg = result.cell;
    progress(
      `${row.id}: pushgateway probe ${formatMs(pg.probe?.maxMs ?? NaN)}, peak ${
        Math.round(pg.peakMiB ?? 0)
      } MiB, ${pg.request}`,
    );
  }
  return {
    id: row.id,
    title: row.title(sizes),
    pushvault: pv.cell,
    pushgateway: pg,
    checks: pv.checks,
    figures,
  };
}
