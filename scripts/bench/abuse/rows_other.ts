/**
 * The rows about retention, a long request line and TLS, and the list of
 * every row for a run.
 * @module
 */

import { makePki } from "../../../tests/security/security_utils.ts";
import { formatBytes, formatMs, gaugesBody } from "../abuse_report.ts";
import { formatRequest } from "../http1.ts";
import { count, encoder, fileSize, HOST, now, TEXT } from "./common.ts";
import {
  pushLoop,
  sendRaw,
  sentText,
  statusCheck,
  statusCounts,
} from "./requests.ts";
import type { Row } from "./row.ts";
import { labelsRow, passwordRow, uiRow } from "./rows_limits.ts";
import {
  aggregateRow,
  bigNumberRow,
  bigPushRow,
  concurrentRow,
  longReaderRow,
} from "./rows_load.ts";
import type { Sizes } from "./sizes.ts";

export const RETENTION_GROUPS = 16;

export const retentionRow: Row = {
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

/** A URL past the default `--web.max-header-bytes` (1 MiB) of both. */
const OVER_HEAD_LIMIT = 1_100_000;

export const longUriRow: Row = {
  id: "long-uri",
  title: (s) =>
    `long URI: job name of ${
      count(s.longJob)
    } characters (label value limit raised to it); a URL of ${
      formatBytes(OVER_HEAD_LIMIT)
    }`,
  capMs: (s) => 2 * s.requestTimeoutMs + 10_000,
  // The job name is over the default label value limit (65,536 bytes):
  // raised, so that what is measured is the HTTP layer.
  setup: ({ kind, sizes }) =>
    Promise.resolve(
      kind === "pushvault"
        ? { flags: [`--push.max-label-value-length=${sizes.longJob}`] }
        : {},
    ),
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
    const over = await sendRaw(
      ctx,
      "PUT",
      `/metrics/job/j/l/${"x".repeat(OVER_HEAD_LIMIT)}`,
      encoder.encode("long_uri 1\n"),
    );
    return {
      request: `${sentText(sent)}; past the limit ${sentText(over)}`,
      detail: sent.status === 200
        ? over.bodyStart.slice(0, 80)
        : sent.bodyStart.slice(0, 80),
      checks: [
        statusCheck("long job", sent, 200),
        statusCheck("past the limit", over, 414),
      ],
      figures: { sent, over },
    };
  },
};

export const tlsRow: Row = {
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

export function rowsFor(sizes: Sizes): Row[] {
  return [
    labelsRow,
    passwordRow,
    ...sizes.uiGroups.map(uiRow),
    bigNumberRow,
    bigPushRow,
    concurrentRow,
    aggregateRow,
    longReaderRow,
    retentionRow,
    longUriRow,
    tlsRow,
  ];
}
