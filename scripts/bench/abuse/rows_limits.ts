/**
 * The rows about limits of one request: too many labels, password
 * guessing, and the UI over a large store.
 * @module
 */

import { basic } from "../../../tests/security/security_utils.ts";
import {
  formatBytes,
  formatMs,
  labelsBody,
  quantile,
} from "../abuse_report.ts";
import { formatRequest } from "../http1.ts";
import {
  encodeSnapshot,
  familiesFromText,
  groupingLabelsFromPath,
  type SnapshotGroup,
} from "../pg_snapshot.ts";
import { count, encoder, HOST, now, PASSWORD, TEXT } from "./common.ts";
import {
  pushLoop,
  send,
  sentText,
  statusCheck,
  statusCounts,
} from "./requests.ts";
import type { Row } from "./row.ts";
import bcrypt from "bcryptjs";

export const labelsRow: Row = {
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

export let bcryptHash: string | undefined;

export const passwordRow: Row = {
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

export const UI_SERIES_PER_GROUP = 3;

export function uiPath(g: number): string {
  return `/metrics/job/ui/instance/i${g}`;
}
export function uiBody(g: number): string {
  let text = "# TYPE ui_value gauge\n";
  for (let s = 0; s < UI_SERIES_PER_GROUP; s++) {
    text += `ui_value{series="s${s}"} ${g + s}\n`;
  }
  return text;
}

export function uiRow(groups: number): Row {
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
