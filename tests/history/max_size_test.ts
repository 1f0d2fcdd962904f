/**
 * The history's size budget (docs/database.md, `--history.max-size`)
 * and the room made after a write failed for lack of it (docs/operations.md, "Disk
 * full"): the oldest history goes first, in small transactions; the current
 * state and each live group's last push-log row stay.
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createLogger } from "../../src/log.ts";
import { scrapePushed, send, startTestGateway } from "../test_utils.ts";

function fakeClock(start = Date.UTC(2026, 10, 25, 12)) {
  let t = start;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

function query(dbPath: string, sql: string): Record<string, unknown>[] {
  using db = new DatabaseSync(dbPath, { readOnly: true });
  return db.prepare(sql).all().map((r) => ({ ...r }));
}

/** Bytes of the file's pages in use, as the pruner counts them. */
function usedBytes(dbPath: string): number {
  const row = query(
    dbPath,
    `SELECT (SELECT page_count FROM pragma_page_count()) -
       (SELECT freelist_count FROM pragma_freelist_count()) AS pages,
       (SELECT page_size FROM pragma_page_size()) AS size`,
  )[0] as { pages: number; size: number };
  return row.pages * row.size;
}

function body(series: number, round: number): string {
  let text = "# TYPE rows_total counter\n";
  for (let i = 0; i < series; i++) {
    text += `rows_total{table="t${i}"} ${round * 1000 + i}.5\n`;
  }
  return text;
}

Deno.test("--history.max-size prunes the oldest history first, keeping the current state and each group's last push", async () => {
  const clock = fakeClock();
  const lines: string[] = [];
  const logger = createLogger({
    level: "info",
    format: "logfmt",
    write: (line) => lines.push(line),
  });
  await using pv = await startTestGateway(["--history.max-size=1MiB"], {
    now: clock.now,
    maintenanceIntervalMs: 0,
    logger,
  });
  const put = (job: string, text: string, method = "PUT") =>
    send(`${pv.url}/metrics/job/${job}`, { method, body: text });
  // The oldest rows of all: a group whose last push was refused.
  assert.equal((await put("quiet", "q 1\n")).status, 200);
  assert.equal((await put("quiet", "q 2 1234\n", "POST")).status, 400);
  let rounds = 0;
  for (; rounds < 400 && usedBytes(pv.dbPath) <= 1.2 * 1048576; rounds++) {
    clock.advance(60);
    assert.equal((await put("big", body(500, rounds))).status, 200);
  }
  assert.ok(usedBytes(pv.dbPath) > 1048576, "the budget was never passed");
  const scrape = await scrapePushed(pv.url);

  await pv.gw.runMaintenance();

  assert.ok(usedBytes(pv.dbPath) <= 0.9 * 1048576, `${usedBytes(pv.dbPath)}`);
  assert.equal(await scrapePushed(pv.url), scrape);
  // What is left of the history is its newest part, up to the current state.
  const times = query(
    pv.dbPath,
    `SELECT DISTINCT time FROM sample_history WHERE group_key = '{job="big"}' ORDER BY time`,
  ).map((r) => Number(r.time));
  assert.ok(times.length > 1 && times.length < rounds, `${times.length}`);
  const last = clock.now() / 1000;
  assert.deepEqual(
    times,
    Array.from(
      { length: times.length },
      (_, i) => last - (times.length - 1 - i) * 60,
    ),
  );
  assert.deepEqual(
    query(
      pv.dbPath,
      `SELECT status FROM push_log WHERE group_key = '{job="quiet"}' ORDER BY id`,
    ),
    [{ status: 200 }, { status: 400 }],
  );
  assert.deepEqual(
    query(pv.dbPath, "SELECT value FROM current_samples WHERE metric = 'q'"),
    [{ value: 1 }],
  );
  // Series whose last sample went went too: only the live ones are left.
  assert.deepEqual(query(pv.dbPath, "SELECT count(*) AS n FROM series"), [{
    n: 501,
  }]);
  const metrics = await (await fetch(`${pv.url}/metrics`)).text();
  assert.match(
    metrics,
    /^pushvault_history_prune_runs_total\{reason="max_size"\} 1$/m,
  );
  assert.match(metrics, /^pushvault_history_pruned_bytes_total [1-9]/m);
  assert.match(metrics, /^pushvault_history_max_size_bytes 1\.048576e\+06$/m);
  const status = await (await fetch(`${pv.url}/status`)).text();
  assert.match(
    status,
    /History budget<\/th>\s*<td>1\.0 MiB \(--history\.max-size\)/,
  );
  assert.match(
    status,
    /History pruned since start<\/th>\s*<td>\d+ rows, [\d.]+ KiB freed/,
  );
  const logged = lines.filter((l) => l.includes('msg="history pruned"'));
  assert.equal(logged.length, 1, lines.join("\n"));
  assert.match(logged[0] ?? "", /reason=max_size/);
});

Deno.test("a push refused for lack of room makes the pruner free room, and pushes succeed again", async () => {
  const clock = fakeClock();
  await using pv = await startTestGateway(["--history.max-size=0"], {
    now: clock.now,
    maintenanceIntervalMs: 0,
    maxPageCount: 100_000,
  });
  const put = (job: string, text: string) =>
    send(`${pv.url}/metrics/job/${job}`, { method: "PUT", body: text });
  for (let round = 0; round < 60; round++) {
    clock.advance(60);
    assert.equal((await put("big", body(500, round))).status, 200);
  }
  // Another program fills the disk: the file may not grow by a page.
  pv.gw.store.setMaxPageCount(1);
  const refused = await put("new", body(2000, 0));
  assert.equal(refused.status, 503);
  assert.match(refused.text, /database or disk is full/);
  // The refusal started a run of the pruner; this waits for it.
  await pv.gw.runMaintenance();
  assert.equal((await put("new", body(100, 0))).status, 200);
  assert.match(
    await scrapePushed(pv.url),
    /^rows_total\{instance="",job="new",table="t99"\} 99.5$/m,
  );
  const metrics = await (await fetch(`${pv.url}/metrics`)).text();
  assert.match(
    metrics,
    /^pushvault_history_prune_runs_total\{reason="out_of_room"\} 1$/m,
  );
});
