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

import bcrypt from "bcryptjs";
import { V8_FLAGS } from "../compile.ts";
import { basic, makePki } from "../../tests/security/security_utils.ts";
import {
  bigNumberBody,
  type Check,
  formatBytes,
  formatMs,
  formatTable,
  gaugesBody,
  labelsBody,
  memoryCheck,
  parseAbuseOptions,
  probeCheck,
  quantile,
  type RowReport,
  seriesBody,
  seriesForBytes,
  type ServerCell,
  summarizeProbes,
  verdict,
} from "./abuse_report.ts";
import type { ProberConfig, ProberDone } from "./abuse_prober.ts";
import { Server } from "./gateway_bench.ts";
import { formatRequest, Http1Connection } from "./http1.ts";
import {
  encodeSnapshot,
  familiesFromText,
  groupingLabelsFromPath,
  type SnapshotGroup,
} from "./pg_snapshot.ts";

const HOST = "127.0.0.1";
const PUSHGATEWAY_BIN = "/usr/bin/prometheus-pushgateway";
const REPO = new URL("../../", import.meta.url).pathname;
const TEXT = { "Content-Type": "text/plain; version=0.0.4" } as const;
const PROBE_INTERVAL_MS = 10;
/** Probing goes on this long after the abuse, so a late stall is seen. */
const TAIL_MS = 500;
const READY_TIMEOUT_MS = 120_000;
/** Wait after ready, probing, before the row starts. */
const SETTLE_MS = 2_000;
const PASSWORD = "correct horse";
const encoder = new TextEncoder();

type Kind = "pushvault" | "pushgateway";

function print(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}
function progress(text: string): void {
  Deno.stderr.writeSync(
    encoder.encode(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`),
  );
}
const now = () => performance.timeOrigin + performance.now();
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await sleep(1);
  return port;
}

/** 80000 → "80k", 1000000 → "1M". */
function count(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(n);
}

function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

// --- sizes -------------------------------------------------------------------------

interface Sizes {
  readonly labels: number;
  readonly invalidLabels: number;
  readonly floodMs: number;
  readonly floodClients: number;
  readonly uiGroups: readonly number[];
  readonly uiFillCapMs: number;
  readonly bigNumberDigits: number;
  readonly bigPushSeries: number;
  readonly concurrentBytes: number;
  readonly readerMs: number;
  readonly afterReaderMs: number;
  readonly retentionMs: number;
  readonly longJob: number;
  readonly tlsCurls: number;
  readonly requestTimeoutMs: number;
}

const FULL: Sizes = {
  labels: 80_000,
  invalidLabels: 60_000,
  floodMs: 10_000,
  floodClients: 8,
  uiGroups: [10_000, 100_000],
  uiFillCapMs: 180_000,
  bigNumberDigits: 58_000_000,
  bigPushSeries: 1_000_000,
  concurrentBytes: 10_000_000,
  readerMs: 30_000,
  afterReaderMs: 5_000,
  retentionMs: 20_000,
  longJob: 100_000,
  tlsCurls: 12,
  requestTimeoutMs: 60_000,
};

const QUICK: Sizes = {
  ...FULL,
  labels: 8_000,
  invalidLabels: 6_000,
  floodMs: 3_000,
  uiGroups: [1_000],
  uiFillCapMs: 30_000,
  bigNumberDigits: 5_800_000,
  bigPushSeries: 100_000,
  concurrentBytes: 1_000_000,
  readerMs: 5_000,
  afterReaderMs: 2_000,
  retentionMs: 5_000,
};

// --- rows ----------------------------------------------------------------------------

/** How a row wants its server started and probed. */
interface ServerSetup {
  readonly flags?: readonly string[];
  /** Sent with every probe and request (credentials). */
  readonly headers?: Readonly<Record<string, string>>;
  /** PEM of the CA for HTTPS; absent: plain HTTP. */
  readonly caCert?: string;
  /** The Pushgateway's persistence file, restored at start. */
  readonly pushgatewayFile?: string;
  readonly note?: string;
}

interface RowEnv {
  readonly kind: Kind;
  readonly dir: string;
  readonly sizes: Sizes;
}

interface RowContext extends RowEnv {
  readonly server: Server;
  /** `http(s)://127.0.0.1:port` */
  readonly base: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly client: Deno.HttpClient | undefined;
  /** Aborted when the row's cap passes. */
  readonly signal: AbortSignal;
  /** Pushvault's database file. */
  readonly dbPath: string;
  /** The abuse starts now: probes before this are setup, not counted. */
  startAbuse(): void;
}

interface RowOutcome {
  readonly request: string;
  readonly detail: string;
  readonly figures: Readonly<Record<string, unknown>>;
  /** Pushvault's memory target for this row, if it has one. */
  readonly memoryLimitMiB?: number;
  /** Pushvault's other targets. */
  readonly checks?: readonly Check[];
}

interface Row {
  readonly id: string;
  readonly title: (sizes: Sizes) => string;
  /** Why the Pushgateway does not run this row, if it does not. */
  readonly pushgatewayNa?: string;
  /** The cap of the whole abuse, setup inside run() included. */
  readonly capMs: (sizes: Sizes) => number;
  readonly setup?: (env: RowEnv) => Promise<ServerSetup>;
  readonly run: (ctx: RowContext) => Promise<RowOutcome>;
}

// --- requests ------------------------------------------------------------------------

interface Sent {
  readonly status: number | "timed out" | string;
  readonly ms: number;
  readonly bytes: number;
  readonly bodyStart: string;
}

/** One request by fetch, its body counted as it streams; never throws. */
async function send(
  ctx: RowContext,
  method: string,
  path: string,
  init: {
    body?: Uint8Array<ArrayBuffer> | string;
    headers?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<Sent> {
  const timeout = AbortSignal.timeout(
    init.timeoutMs ?? ctx.sizes.requestTimeoutMs,
  );
  const start = now();
  let bytes = 0;
  let bodyStart = "";
  try {
    const res = await fetch(ctx.base + path, {
      method,
      headers: { ...ctx.headers, ...init.headers },
      signal: AbortSignal.any([ctx.signal, timeout]),
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(ctx.client === undefined ? {} : { client: ctx.client }),
    });
    if (res.body !== null) {
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        if (bytes < 300) bodyStart += decoder.decode(chunk.subarray(0, 300));
        bytes += chunk.length;
      }
    }
    return { status: res.status, ms: now() - start, bytes, bodyStart };
  } catch (error) {
    const ms = now() - start;
    if (timeout.aborted || ctx.signal.aborted) {
      return { status: "timed out", ms, bytes, bodyStart };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { status: `failed (${message.slice(0, 60)})`, ms, bytes, bodyStart };
  }
}

/**
 * One request on a fresh raw HTTP/1.1 connection (plain HTTP only), for
 * what fetch refuses to send (a URL over 64 KiB); never throws.
 */
async function sendRaw(
  ctx: RowContext,
  method: string,
  path: string,
  body: Uint8Array,
): Promise<Sent> {
  const start = now();
  let conn: Http1Connection | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    conn = await Http1Connection.open(HOST, ctx.server.port);
    const opened = conn;
    const timedOut = new Promise<"timed out">((resolve) => {
      timer = setTimeout(() => {
        opened.close();
        resolve("timed out");
      }, ctx.sizes.requestTimeoutMs);
    });
    const res = await Promise.race([
      conn.request(formatRequest(method, path, HOST, TEXT, body)),
      timedOut,
    ]);
    if (res === "timed out") {
      return { status: res, ms: now() - start, bytes: 0, bodyStart: "" };
    }
    return {
      status: res.status,
      ms: now() - start,
      bytes: res.bodyBytes,
      bodyStart: res.bodyStart,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      status: `failed (${message.slice(0, 60)})`,
      ms: now() - start,
      bytes: 0,
      bodyStart: "",
    };
  } finally {
    clearTimeout(timer);
    conn?.close();
  }
}

function sentText(sent: Sent): string {
  return `${sent.status} in ${formatMs(sent.ms)}`;
}

function statusCheck(name: string, sent: Sent, expected: number): Check {
  const met = sent.status === expected;
  return {
    name,
    met,
    text: `${name} ${sent.status}${met ? "" : `, expected ${expected}`}`,
  };
}

/** Counts of each status, `200×7, 401×3`. */
function statusCounts(statuses: readonly (number | string)[]): string {
  const counts = new Map<string, number>();
  for (const s of statuses) {
    counts.set(String(s), (counts.get(String(s)) ?? 0) + 1);
  }
  return [...counts].map(([s, n]) => `${s}×${n}`).join(", ");
}

interface PushLoopResult {
  readonly count: number;
  readonly errors: number;
  readonly latencies: readonly number[];
  readonly errorExample: string | null;
}

/**
 * `workers` keep-alive connections (plain HTTP) sending `request(n)` for
 * n = 0, 1, … until `stop()` says so, `max` requests were sent, or the row
 * is aborted. Non-200 answers and broken connections are counted.
 */
async function pushLoop(
  ctx: RowContext,
  options: {
    workers: number;
    max: number;
    stop: () => boolean;
    request: (n: number) => Uint8Array;
  },
): Promise<PushLoopResult> {
  let next = 0;
  let errors = 0;
  let errorExample: string | null = null;
  const latencies: number[] = [];
  const worker = async () => {
    let conn: Http1Connection | undefined;
    try {
      while (
        next < options.max && !options.stop() && !ctx.signal.aborted &&
        errors < 1000
      ) {
        const request = options.request(next++);
        const start = now();
        try {
          conn ??= await Http1Connection.open(HOST, ctx.server.port);
          const res = await conn.request(request);
          latencies.push(now() - start);
          if (res.status !== 200) {
            errors++;
            errorExample ??= `${res.status}: ${res.bodyStart.slice(0, 120)}`;
          }
        } catch (error) {
          errors++;
          errorExample ??= error instanceof Error
            ? error.message
            : String(error);
          conn?.close();
          conn = undefined;
          await sleep(10);
        }
      }
    } finally {
      conn?.close();
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  return { count: latencies.length, errors, latencies, errorExample };
}

// --- the rows --------------------------------------------------------------------------

const labelsRow: Row = {
  id: "labels",
  title: (s) =>
    `labels: one series with ${count(s.labels)} labels; invalid ${
      count(s.invalidLabels)
    } ending \`} x\``,
  capMs: (s) => 2 * s.requestTimeoutMs + 10_000,
  run: async (ctx) => {
    const valid = labelsBody(ctx.sizes.labels);
    const invalid = labelsBody(ctx.sizes.invalidLabels, true);
    ctx.startAbuse();
    const a = await send(ctx, "PUT", "/metrics/job/labels", {
      body: valid,
      headers: TEXT,
    });
    const b = await send(ctx, "PUT", "/metrics/job/labels", {
      body: invalid,
      headers: TEXT,
    });
    return {
      request: `${sentText(a)}; invalid: ${sentText(b)}`,
      detail: `${ctx.sizes.labels} labels, ${formatBytes(valid.length)}; ${
        b.status === 400 ? "" : `invalid said ${b.bodyStart.slice(0, 60)}`
      }`,
      figures: { valid: a, invalid: b, validBytes: valid.length },
      checks: [statusCheck("invalid", b, 400)],
    };
  },
};

let bcryptHash: string | undefined;

const passwordRow: Row = {
  id: "password",
  title: (s) =>
    `password flood: ${s.floodClients} clients × ${
      s.floodMs / 1000
    } s of wrong passwords, unknown user`,
  capMs: (s) => s.floodMs + 2 * s.requestTimeoutMs,
  setup: async ({ dir }) => {
    bcryptHash ??= bcrypt.hashSync(PASSWORD, 10);
    const path = `${dir}/web.yml`;
    await Deno.writeTextFile(
      path,
      `basic_auth_users:\n  pusher: ${JSON.stringify(bcryptHash)}\n`,
    );
    return {
      flags: [`--web.config.file=${path}`],
      headers: basic("pusher", PASSWORD) as Record<string, string>,
    };
  },
  run: async (ctx) => {
    ctx.startAbuse();
    const until = now() + ctx.sizes.floodMs;
    const floodStatuses: (number | string)[] = [];
    const flood = async (client: number) => {
      for (
        let n = 0;
        now() < until && !ctx.signal.aborted && n < 100_000;
        n++
      ) {
        const sent = await send(ctx, "GET", "/metrics", {
          headers: basic(`intruder${client}`, `guess${n}`) as Record<
            string,
            string
          >,
          timeoutMs: until - now() + 5_000,
        });
        floodStatuses.push(sent.status);
      }
    };
    const good: number[] = [];
    const goodStatuses: (number | string)[] = [];
    const goodClient = async () => {
      for (
        let n = 0;
        now() < until && !ctx.signal.aborted && n < 100_000;
        n++
      ) {
        const sent = n % 2 === 0
          ? await send(ctx, "PUT", "/metrics/job/good", {
            body: `good_pushes_total ${n}\n`,
            headers: TEXT,
          })
          : await send(ctx, "GET", "/metrics");
        good.push(sent.ms);
        goodStatuses.push(sent.status);
      }
    };
    await Promise.all([
      ...Array.from({ length: ctx.sizes.floodClients }, (_, i) => flood(i)),
      goodClient(),
    ]);
    const p50 = quantile(good, 0.5);
    const seconds = ctx.sizes.floodMs / 1000;
    return {
      request: `flood: ${statusCounts(floodStatuses)} in ${seconds} s`,
      detail: `good client p50 ${formatMs(p50)}, p99 ${
        formatMs(quantile(good, 0.99))
      } (${statusCounts(goodStatuses)})`,
      figures: {
        floodAnswered: floodStatuses.length,
        floodStatuses: statusCounts(floodStatuses),
        goodP50Ms: p50,
        goodP99Ms: quantile(good, 0.99),
        goodCount: good.length,
        goodStatuses: statusCounts(goodStatuses),
      },
      checks: [{
        name: "good p50",
        met: p50 <= 10,
        text: `good p50 ${formatMs(p50)} ${p50 <= 10 ? "≤" : ">"} 10 ms`,
      }],
    };
  },
};

const UI_SERIES_PER_GROUP = 3;

function uiPath(g: number): string {
  return `/metrics/job/ui/instance/i${g}`;
}
function uiBody(g: number): string {
  let text = "# TYPE ui_value gauge\n";
  for (let s = 0; s < UI_SERIES_PER_GROUP; s++) {
    text += `ui_value{series="s${s}"} ${g + s}\n`;
  }
  return text;
}

function uiRow(groups: number): Row {
  const label = groups >= 1000 ? `${groups / 1000}k` : String(groups);
  return {
    id: `ui-${label}`,
    title: () => `ui: ${label} groups × 3 series, GET / and /api/v1/metrics`,
    capMs: (s) => s.uiFillCapMs + 2 * s.requestTimeoutMs + 10_000,
    // The Pushgateway re-gathers its whole store on every push (O(n²) to
    // fill it by HTTP), so it restores the same groups from a file instead.
    setup: async ({ kind, dir }) => {
      if (kind === "pushvault") return {};
      const pushedAtMs = Date.now();
      function* groupsOf(): Generator<SnapshotGroup> {
        for (let g = 0; g < groups; g++) {
          const labels = groupingLabelsFromPath(uiPath(g));
          yield {
            labels,
            families: familiesFromText(uiBody(g), labels),
            pushedAtMs,
          };
        }
      }
      const file = `${dir}/pushgateway.data`;
      await Deno.writeFile(file, encodeSnapshot(groupsOf()));
      return { pushgatewayFile: file };
    },
    run: async (ctx) => {
      let fill = `restored ${groups} groups from a persistence file`;
      const figures: Record<string, unknown> = {};
      if (ctx.kind === "pushvault") {
        const started = now();
        const deadline = started + ctx.sizes.uiFillCapMs;
        const pushed = await pushLoop(ctx, {
          workers: 8,
          max: groups,
          stop: () => now() > deadline,
          request: (g) =>
            formatRequest(
              "PUT",
              uiPath(g),
              HOST,
              TEXT,
              encoder.encode(uiBody(g)),
            ),
        });
        const seconds = (now() - started) / 1000;
        fill = `filled ${
          pushed.count - pushed.errors
        }/${groups} groups by HTTP in ${seconds.toFixed(0)} s${
          pushed.errors > 0 ? ` (${pushed.errors} errors)` : ""
        }`;
        figures.fill = { ...pushed, latencies: undefined, seconds };
      }
      const rssBefore = ctx.server.memory().rssMiB;
      ctx.startAbuse();
      const page = await send(ctx, "GET", "/");
      const api = await send(ctx, "GET", "/api/v1/metrics");
      return {
        request: `/ ${sentText(page)}, ${formatBytes(page.bytes)}; api ${
          sentText(api)
        }, ${formatBytes(api.bytes)}`,
        detail: `${fill}; RSS before GETs ${Math.round(rssBefore)} MiB`,
        figures: { ...figures, page, api, rssBeforeMiB: rssBefore },
      };
    },
  };
}

const bigNumberRow: Row = {
  id: "big-number",
  title: (s) =>
    `big number: one ${formatBytes(s.bigNumberDigits)} number token`,
  capMs: (s) => s.requestTimeoutMs + 10_000,
  run: async (ctx) => {
    const body = bigNumberBody(ctx.sizes.bigNumberDigits);
    ctx.startAbuse();
    const sent = await send(ctx, "PUT", "/metrics/job/bignum", {
      body,
      headers: TEXT,
    });
    return {
      request: sentText(sent),
      detail: `body ${formatBytes(body.length)}${
        sent.status === 400 ? "" : `: ${sent.bodyStart.slice(0, 60)}`
      }`,
      figures: { sent, bodyBytes: body.length },
      checks: [statusCheck("status", sent, 400)],
    };
  },
};

const bigPushRow: Row = {
  id: "big-push",
  title: (s) => `big push: ${count(s.bigPushSeries)} series twice`,
  capMs: (s) => 2 * s.requestTimeoutMs + 10_000,
  run: async (ctx) => {
    const body = seriesBody(ctx.sizes.bigPushSeries);
    ctx.startAbuse();
    const sents: Sent[] = [];
    for (let i = 0; i < 2; i++) {
      sents.push(
        await send(ctx, "PUT", "/metrics/job/bigpush", {
          body,
          headers: TEXT,
        }),
      );
    }
    return {
      request: sents.map(sentText).join("; "),
      detail: `${ctx.sizes.bigPushSeries} series, body ${
        formatBytes(body.length)
      }; target ≤ 30× body`,
      figures: { sents, bodyBytes: body.length },
      memoryLimitMiB: 30 * body.length / 2 ** 20,
    };
  },
};

const concurrentRow: Row = {
  id: "big-push-concurrent",
  title: (s) =>
    `big push: 4 concurrent ${formatBytes(s.concurrentBytes)} pushes`,
  capMs: (s) => s.requestTimeoutMs + 10_000,
  run: async (ctx) => {
    const body = seriesBody(seriesForBytes(ctx.sizes.concurrentBytes));
    ctx.startAbuse();
    const sents = await Promise.all(
      [0, 1, 2, 3].map((k) =>
        send(ctx, "PUT", `/metrics/job/bigc/instance/i${k}`, {
          body,
          headers: TEXT,
        })
      ),
    );
    const slowest = Math.max(...sents.map((s) => s.ms));
    return {
      request: `${statusCounts(sents.map((s) => s.status))}, slowest ${
        formatMs(slowest)
      }`,
      detail: `4 × ${formatBytes(body.length)}; target ≤ 30× the 4 bodies`,
      figures: { sents, bodyBytes: body.length },
      memoryLimitMiB: 30 * 4 * body.length / 2 ** 20,
    };
  },
};

/** `# TYPE` and 10 series of the small pushes of the long-reader row. */
function smallPush(n: number, path: string): Uint8Array {
  return formatRequest(
    "PUT",
    path,
    HOST,
    TEXT,
    encoder.encode(gaugesBody(1, 10, n)),
  );
}

const longReaderRow: Row = {
  id: "long-reader",
  title: (s) =>
    `long reader: sqlite3 holds a read transaction ${
      s.readerMs / 1000
    } s, 8-way pushes`,
  pushgatewayNa: "n/a: no database",
  capMs: (s) => s.readerMs + s.afterReaderMs + 40_000,
  run: async (ctx) => {
    const wal = `${ctx.dbPath}-wal`;
    let walPeak = 0;
    const sampler = setInterval(() => {
      walPeak = Math.max(walPeak, fileSize(wal));
    }, 100);
    let stopPushing = false;
    ctx.startAbuse();
    const pushing = pushLoop(ctx, {
      workers: 8,
      max: 10_000_000,
      stop: () => stopPushing,
      request: (n) => smallPush(n, `/metrics/job/reader/instance/w${n % 8}`),
    });
    let reader = "reader did not start";
    let walAtReaderEnd = 0;
    try {
      await sleep(1000, ctx.signal);
      const child = new Deno.Command("sqlite3", {
        args: [ctx.dbPath],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      const lines = child.stdout.pipeThrough(new TextDecoderStream())
        .getReader();
      try {
        await writer.write(
          encoder.encode("BEGIN;\nSELECT count(*) FROM pushes;\n"),
        );
        const first = await Promise.race([
          lines.read(),
          sleep(10_000, ctx.signal).then(() => undefined),
        ]);
        const count = first?.value?.trim();
        if (count !== undefined && /^\d+$/.test(count)) {
          await sleep(ctx.sizes.readerMs, ctx.signal);
          reader = `held ${ctx.sizes.readerMs / 1000} s at ${count} pushes`;
        } else {
          reader = `sqlite3 said ${JSON.stringify(count ?? "nothing")}`;
        }
        await writer.write(encoder.encode("COMMIT;\n.quit\n"));
        await writer.close();
      } finally {
        const killer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, 10_000);
        await child.status;
        clearTimeout(killer);
        await lines.cancel().catch(() => {});
        await child.stderr.cancel().catch(() => {});
      }
      walAtReaderEnd = fileSize(wal);
      await sleep(ctx.sizes.afterReaderMs, ctx.signal);
    } finally {
      stopPushing = true;
    }
    const pushed = await pushing;
    await sleep(500, ctx.signal);
    clearInterval(sampler);
    const walAfter = fileSize(wal);
    walPeak = Math.max(walPeak, walAfter);
    return {
      request: `${pushed.count} pushes, p50 ${
        formatMs(quantile(pushed.latencies, 0.5))
      }, max ${formatMs(quantile(pushed.latencies, 1))}${
        pushed.errors > 0 ? `, ${pushed.errors} errors` : ""
      }`,
      detail: `WAL peak ${formatBytes(walPeak)}, at reader end ${
        formatBytes(walAtReaderEnd)
      }, after ${formatBytes(walAfter)}; ${reader}`,
      figures: {
        pushes: pushed.count,
        errors: pushed.errors,
        errorExample: pushed.errorExample,
        pushP50Ms: quantile(pushed.latencies, 0.5),
        pushMaxMs: quantile(pushed.latencies, 1),
        walPeak,
        walAtReaderEnd,
        walAfter,
        db: fileSize(ctx.dbPath),
        reader,
      },
    };
  },
};

const RETENTION_GROUPS = 16;

const retentionRow: Row = {
  id: "retention",
  title: (s) =>
    `retention=0: ${s.retentionMs / 1000} s of pushes of 1,600 live series`,
  pushgatewayNa: "n/a: no history",
  capMs: (s) => s.retentionMs + 30_000,
  setup: () => Promise.resolve({ flags: ["--history.retention=0"] }),
  run: async (ctx) => {
    ctx.startAbuse();
    const until = now() + ctx.sizes.retentionMs;
    const bodies = Array.from(
      { length: 4 },
      (_, round) => encoder.encode(gaugesBody(10, 10, round)),
    );
    const pushed = await pushLoop(ctx, {
      workers: 8,
      max: 10_000_000,
      stop: () => now() > until,
      request: (n) =>
        formatRequest(
          "PUT",
          `/metrics/job/retention/instance/i${n % RETENTION_GROUPS}`,
          HOST,
          TEXT,
          bodies[
            Math.floor(n / RETENTION_GROUPS) % bodies.length
          ] as Uint8Array,
        ),
    });
    const db = fileSize(ctx.dbPath);
    const wal = fileSize(`${ctx.dbPath}-wal`);
    return {
      request: `${pushed.count} pushes in ${ctx.sizes.retentionMs / 1000} s${
        pushed.errors > 0 ? `, ${pushed.errors} errors` : ""
      }`,
      detail: `DB ${formatBytes(db)} + WAL ${formatBytes(wal)} = ${
        formatBytes(db + wal)
      }`,
      figures: {
        pushes: pushed.count,
        errors: pushed.errors,
        errorExample: pushed.errorExample,
        db,
        wal,
      },
    };
  },
};

const longUriRow: Row = {
  id: "long-uri",
  title: (s) => `long URI: job name of ${count(s.longJob)} characters`,
  capMs: (s) => s.requestTimeoutMs + 10_000,
  run: async (ctx) => {
    const job = "j".repeat(ctx.sizes.longJob);
    ctx.startAbuse();
    // fetch refuses URLs over 64 KiB; a raw request carries it as sent.
    const sent = await sendRaw(
      ctx,
      "PUT",
      `/metrics/job/${job}`,
      encoder.encode("long_uri 1\n"),
    );
    return {
      request: sentText(sent),
      detail: sent.status === 200 ? "" : sent.bodyStart.slice(0, 80),
      figures: { sent },
    };
  },
};

const tlsRow: Row = {
  id: "tls",
  title: (s) =>
    `unknown method over TLS: ${s.tlsCurls} × curl -X FOO https://…/`,
  capMs: (s) => s.tlsCurls * 12_000 + 10_000,
  setup: async ({ dir }) => {
    const pki = await makePki(dir);
    const path = `${dir}/web.yml`;
    await Deno.writeTextFile(
      path,
      `tls_server_config:\n  cert_file: ${dir}/${pki.serverCert}\n  key_file: ${dir}/${pki.serverKey}\n`,
    );
    return {
      flags: [`--web.config.file=${path}`],
      caCert: pki.read(pki.caCert),
    };
  },
  run: async (ctx) => {
    ctx.startAbuse();
    const codes: string[] = [];
    const started = now();
    for (let i = 0; i < ctx.sizes.tlsCurls && !ctx.signal.aborted; i++) {
      const out = await new Deno.Command("curl", {
        args: [
          "-sk",
          "-X",
          "FOO",
          "--max-time",
          "10",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          `${ctx.base}/`,
        ],
        stdout: "piped",
        stderr: "null",
      }).output();
      codes.push(new TextDecoder().decode(out.stdout).trim() || "000");
    }
    const answered = codes.filter((c) => c !== "000").length;
    return {
      request: `${answered}/${codes.length} answered (${
        statusCounts(codes)
      }) in ${formatMs(now() - started)}`,
      detail: "",
      figures: { codes, answered },
      checks: [{
        name: "answered",
        met: answered === ctx.sizes.tlsCurls,
        text: `${answered}/${ctx.sizes.tlsCurls} answered`,
      }],
    };
  },
};

function rowsFor(sizes: Sizes): Row[] {
  return [
    labelsRow,
    passwordRow,
    ...sizes.uiGroups.map(uiRow),
    bigNumberRow,
    bigPushRow,
    concurrentRow,
    longReaderRow,
    retentionRow,
    longUriRow,
    tlsRow,
  ];
}

// --- running a row ---------------------------------------------------------------------

const servers = new Set<Server>();

async function startServer(
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

async function waitReady(
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

interface Prober {
  stop(): Promise<ProberDone>;
}

function startProber(config: ProberConfig): Prober {
  const worker = new Worker(
    new URL("./abuse_prober.ts", import.meta.url).href,
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

function tail(path: string, lines = 3): string {
  try {
    return Deno.readTextFileSync(path).trim().split("\n").slice(-lines)
      .join(" / ").slice(0, 300);
  } catch {
    return "";
  }
}

interface CellResult {
  readonly cell: ServerCell;
  readonly checks: readonly Check[];
  readonly figures: Readonly<Record<string, unknown>>;
}

async function runOne(row: Row, kind: Kind, sizes: Sizes): Promise<CellResult> {
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
async function runOneOrError(
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

async function runRow(
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

// --- main --------------------------------------------------------------------------------

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
