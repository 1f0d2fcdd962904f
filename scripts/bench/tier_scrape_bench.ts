/**
 * The first full text scrape of a store shaped like the ten-million-series
 * tier (groups of the workload's 100 series plus a 900-partition gauge),
 * in process: pushes `--groups` groups into a file-backed Store, then times
 * the first text scrape (the view's pieces, inflated one by one as a
 * response streams them), a second one, and after reopening the file the
 * start-up and the first scrape after it.
 *
 * Run: `deno run -A --v8-flags=--expose-gc scripts/bench/tier_scrape_bench.ts
 * --groups 1000` (1M series; add `--keep` to keep the file).
 * @module
 */

import { parseArgs } from "node:util";
import { inflateFragment } from "../../src/exposition/gzip_fragments.ts";
import { Store } from "../../src/store/store.ts";
import { tierBody } from "./gateway/tier_10m.ts";
import { textPushCommand } from "./store_command.ts";
import { preloadPath } from "./workload.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    groups: { type: "string", default: "1000" },
    keep: { type: "boolean", default: false },
    /** Only open this file (kept by an earlier `--keep` run) and scrape. */
    reopen: { type: "string" },
  },
});
const groups = Number(values.groups);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const out = (line: string) =>
  Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));

function pushAll(store: Store): void {
  for (let g = 0; g < groups; g++) {
    store.push(
      textPushCommand(preloadPath(g), tierBody(g), 1, "tier_scrape_bench"),
    );
  }
}

/** A text scrape as the HTTP layer streams it: pieces inflated one by one. */
function scrape(store: Store, label: string): void {
  const t = performance.now();
  const parts = store.view.renderParts(new Map());
  const built = performance.now() - t;
  let bytes = 0;
  for (const part of parts) {
    const plain = inflateFragment(part);
    bytes += plain.length;
    if (plain.byteLength > 0) plain.buffer.transfer(0);
  }
  out(
    `${label}: ${(performance.now() - t).toFixed(0)} ms [${t.toFixed(0)}, ${
      performance.now().toFixed(0)
    }] (pieces ${built.toFixed(0)} ms), ${mib(bytes)} MiB, rss ${
      mib(Deno.memoryUsage().rss)
    } MiB`,
  );
}

const dir = values.reopen === undefined
  ? Deno.makeTempDirSync({ prefix: "pv-tier-scrape-" })
  : undefined;
const path = values.reopen ?? `${dir}/pv.db`;
try {
  if (values.reopen === undefined) {
    using store = new Store({ path, sync: "normal" });
    const t = performance.now();
    pushAll(store);
    out(
      `push ${groups} groups: ${
        ((performance.now() - t) / 1000).toFixed(1)
      } s, rss ${mib(Deno.memoryUsage().rss)} MiB`,
    );
    scrape(store, "first scrape after the pushes");
    scrape(store, "second scrape");
  }
  const t = performance.now();
  using again = new Store({ path, sync: "normal" });
  out(`open: ${(performance.now() - t).toFixed(0)} ms`);
  scrape(again, "first scrape after reopening");
  out(`open to end of that scrape: ${(performance.now() - t).toFixed(0)} ms`);
} finally {
  if (dir !== undefined && !values.keep) {
    Deno.removeSync(dir, { recursive: true });
  } else out(`kept ${path}`);
}
