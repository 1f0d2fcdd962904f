/**
 * The rows about heavy pushes and slow clients: a huge number, one big
 * push, big pushes at once, and a reader that never reads.
 * @module
 */

import {
  bigNumberBody,
  formatBytes,
  formatMs,
  gaugesBody,
  quantile,
  seriesBody,
  seriesForBytes,
} from "../abuse_report.ts";
import { formatRequest } from "../http1.ts";
import { count, encoder, fileSize, HOST, sleep, TEXT } from "./common.ts";
import {
  countsAndSlowest,
  pushLoop,
  send,
  type Sent,
  sentText,
  statusCheck,
} from "./requests.ts";
import { AGGREGATE_MAX_BODY_BYTES } from "../../../src/http/push_input.ts";
import type { Row } from "./row.ts";

export const bigNumberRow: Row = {
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

export const bigPushRow: Row = {
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

export const concurrentRow: Row = {
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
    return {
      request: countsAndSlowest(sents),
      detail: `4 × ${formatBytes(body.length)}; target ≤ 30× the 4 bodies`,
      figures: { sents, bodyBytes: body.length },
      memoryLimitMiB: 30 * 4 * body.length / 2 ** 20,
    };
  },
};

/**
 * The largest aggregating push there may be (1 MiB: decoded on the push
 * worker, summed a slice at a time on the thread that answers HTTP), ten
 * times to one group: every one but the first adds to every series.
 */
export const aggregateRow: Row = {
  id: "aggregate-push",
  title: () => "aggregating push: 10 × the 1 MiB limit to one group",
  pushgatewayNa: "the Pushgateway does not aggregate",
  capMs: (s) => s.requestTimeoutMs + 10_000,
  run: async (ctx) => {
    const body = seriesBody(seriesForBytes(AGGREGATE_MAX_BODY_BYTES - 512));
    ctx.startAbuse();
    const sents: Sent[] = [];
    for (let i = 0; i < 10; i++) {
      sents.push(
        await send(ctx, "POST", "/aggregate/metrics/job/aggbig", {
          body,
          headers: TEXT,
        }),
      );
    }
    return {
      request: countsAndSlowest(sents),
      detail: `10 × ${formatBytes(body.length)}`,
      figures: { sents, bodyBytes: body.length },
    };
  },
};

/** `# TYPE` and 10 series of the small pushes of the long-reader row. */
export function smallPush(n: number, path: string): Uint8Array {
  return formatRequest(
    "PUT",
    path,
    HOST,
    TEXT,
    encoder.encode(gaugesBody(1, 10, n)),
  );
}

export const longReaderRow: Row = {
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
