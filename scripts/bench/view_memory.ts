/**
 * Memory and start-up of the in-memory view: pushes `--groups`
 * groups of `--series` series in all (one counter family per group) into a
 * file-backed Store, then prints the V8 heap per series, the time of a full
 * text render as a scrape makes it (first, then cached), and the time to open
 * the same file again (start-up: the view rebuilt from the database).
 *
 * Run: `deno run -A --v8-flags=--expose-gc scripts/bench/view_memory.ts
 * --series 100000 --groups 1000` (add `--keep` to keep the file).
 * @module
 */

import { parseArgs } from "node:util";
import { parseText } from "../../src/exposition/text_parse.ts";
import { parseGroupingKey } from "../../src/push/grouping_key.ts";
import { sanitizePush } from "../../src/push/validate.ts";
import { Store } from "../../src/store/store.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    series: { type: "string", default: "100000" },
    groups: { type: "string", default: "1000" },
    keep: { type: "boolean", default: false },
  },
});
const series = Number(values.series);
const groups = Number(values.groups);
const perGroup = Math.max(1, Math.floor(series / groups));

const gcHook = (globalThis as { gc?: () => void }).gc;
if (gcHook === undefined) {
  throw new Error("run with --v8-flags=--expose-gc");
}
const gc: () => void = gcHook;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const out = (line: string) =>
  Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));

const dir = Deno.makeTempDirSync({ prefix: "pv-view-memory-" });
const path = `${dir}/pv.db`;
const request = {
  path: "/",
  contentType: null,
  bodyBytes: 0,
  remoteAddr: null,
  userAgent: null,
};
const encoder = new TextEncoder();

function body(round: number): Uint8Array {
  let text = "# HELP http_requests_total Requests served.\n" +
    "# TYPE http_requests_total counter\n";
  for (let s = 0; s < perGroup; s++) {
    text += `http_requests_total{code="${
      200 + (s % 5)
    }",handler="/api/v${s}"} ${s * 17 + round}\n`;
  }
  return encoder.encode(text);
}

function pushAll(store: Store, round: number): void {
  for (let g = 0; g < groups; g++) {
    const key = parseGroupingKey(`job/bench/instance/host-${g}`);
    if (key === undefined) throw new Error("bad grouping key");
    const sanitized = sanitizePush(parseText(body(round)), key);
    store.push({
      method: "PUT",
      key,
      families: sanitized.families,
      problems: sanitized.problems,
      seriesCount: sanitized.seriesCount,
      checkConsistency: true,
      time: 1 + round,
      request,
    });
  }
}

try {
  const total = groups * perGroup;
  out(`series ${total} (${groups} groups × ${perGroup}), file ${path}`);
  gc();
  const base = Deno.memoryUsage().heapUsed;
  {
    using store = new Store({ path });
    let t = performance.now();
    pushAll(store, 0);
    out(`push ms ${(performance.now() - t).toFixed(0)}`);
    gc();
    const heap = Deno.memoryUsage().heapUsed - base;
    out(
      `heap MiB ${mib(heap)} bytes/series ${
        (heap / total).toFixed(0)
      } rss MiB ${mib(Deno.memoryUsage().rss)}`,
    );
    t = performance.now();
    const parts = store.view.renderParts(new Map());
    const ms = (performance.now() - t).toFixed(0);
    const bytes = parts.reduce((n, part) => n + part.length, 0);
    out(`render ms first ${ms} bytes ${bytes}`);
    t = performance.now();
    store.view.renderParts(new Map());
    out(`render ms cached ${(performance.now() - t).toFixed(0)}`);
    t = performance.now();
    pushAll(store, 1);
    out(`re-push (value updates) ms ${(performance.now() - t).toFixed(0)}`);
    t = performance.now();
    store.view.renderParts(new Map());
    out(`render ms after updates ${(performance.now() - t).toFixed(0)}`);
    gc();
    out(
      `heap after updates MiB ${
        mib(Deno.memoryUsage().heapUsed - base)
      } bytes/series ${
        ((Deno.memoryUsage().heapUsed - base) / total).toFixed(0)
      }`,
    );
  }
  gc();
  const before = Deno.memoryUsage().heapUsed;
  const t = performance.now();
  using again = new Store({ path });
  out(`start-up ms ${(performance.now() - t).toFixed(0)}`);
  gc();
  out(
    `heap after start-up MiB ${
      mib(Deno.memoryUsage().heapUsed - before)
    } bytes/series ${
      ((Deno.memoryUsage().heapUsed - before) / total).toFixed(0)
    } (series ${again.view.seriesCount})`,
  );
} finally {
  if (!values.keep) Deno.removeSync(dir, { recursive: true });
}
