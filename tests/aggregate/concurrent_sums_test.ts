/**
 * Aggregating groups under load: 8 concurrent pushers add a few thousand
 * contributions, and every sum equals the exact sum of what was pushed,
 * correctly rounded (Python's math.fsum, an independent reference), for
 * float values whose sum depends on the order of addition too; after
 * kill -9 of the server during contributions and a restart, no
 * acknowledged contribution is missing from the sums.
 */
import assert from "node:assert/strict";
import { startTestGateway } from "../test_utils.ts";
import { queryDb, run } from "../e2e/e2e_utils.ts";
import { withProcesses } from "../e2e/process_utils.ts";

const PUSHERS = 8;
const PER_PUSHER = 300;

/** A small deterministic generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values of mixed magnitude: their float sum depends on the order. */
const FLOATS = [0.1, 0.2, 0.3, 1e-3, 123.456, 7.5e9, 1e-9, 2.675, 1 / 3];

/** math.fsum of `values`, computed by Python. */
async function fsum(values: readonly number[]): Promise<number> {
  const { stdout } = await run("/usr/bin/python3", [
    "-c",
    "import json, math, sys; print(repr(math.fsum(json.load(sys.stdin))))",
  ], { stdin: JSON.stringify(values) });
  return Number(stdout.trim());
}

/** The value of the scrape line that starts with `prefix`. */
function valueOf(scrape: string, prefix: string): number {
  const line = scrape.split("\n").find((l) => l.startsWith(prefix));
  assert.ok(line !== undefined, `${prefix} in the scrape`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

function body(items: number, seconds: number, latency: number): string {
  const le = latency <= 0.5 ? [1, 1] : latency <= 2 ? [0, 1] : [0, 0];
  return `# TYPE work_items_total counter
work_items_total ${items}
# TYPE work_seconds_total counter
work_seconds_total ${seconds}
# TYPE work_latency_seconds histogram
work_latency_seconds_bucket{le="0.5"} ${le[0]}
work_latency_seconds_bucket{le="2"} ${le[1]}
work_latency_seconds_bucket{le="+Inf"} 1
work_latency_seconds_sum ${latency}
work_latency_seconds_count 1
`;
}

Deno.test("sums are exact under 8 concurrent pushers", async () => {
  await using pv = await startTestGateway();
  const url = `${pv.url}/aggregate/metrics/job/workers`;
  const pushed = {
    items: [] as number[],
    seconds: [] as number[],
    latency: [] as number[],
  };
  await Promise.all(
    Array.from({ length: PUSHERS }, async (_, p) => {
      const next = random(p + 1);
      for (let i = 0; i < PER_PUSHER; i++) {
        const items = 1 + Math.floor(next() * 5);
        const seconds = FLOATS[Math.floor(next() * FLOATS.length)] as number;
        const latency = Math.round(next() * 3000) / 1000;
        const res = await fetch(url, {
          method: "POST",
          body: body(items, seconds, latency),
        });
        assert.equal(res.status, 200, await res.text());
        pushed.items.push(items);
        pushed.seconds.push(seconds);
        pushed.latency.push(latency);
      }
    }),
  );
  const total = PUSHERS * PER_PUSHER;
  const scrape = await (await fetch(`${pv.url}/metrics`)).text();
  const at = '{instance="",job="workers"}';
  assert.equal(
    valueOf(scrape, `work_items_total${at}`),
    pushed.items.reduce((a, b) => a + b, 0),
  );
  assert.equal(valueOf(scrape, `work_latency_seconds_count${at}`), total);
  assert.equal(
    valueOf(
      scrape,
      'work_latency_seconds_bucket{instance="",job="workers",le="+Inf"}',
    ),
    total,
  );
  const exactSeconds = await fsum(pushed.seconds);
  // The order of addition matters for these values: a plain sum in push
  // order is off, the stored sum is the exact one, correctly rounded.
  assert.notEqual(pushed.seconds.reduce((a, b) => a + b, 0), exactSeconds);
  assert.equal(valueOf(scrape, `work_seconds_total${at}`), exactSeconds);
  assert.equal(
    valueOf(scrape, `work_latency_seconds_sum${at}`),
    await fsum(pushed.latency),
  );
  const [row] = queryDb(
    pv.dbPath,
    `SELECT count(*) AS n FROM aggregate_contributions
      WHERE group_key = '{job="workers"}' AND metric = 'work_seconds_total'`,
  );
  assert.equal(row?.n, total);
});

Deno.test("after kill -9 during contributions no acknowledged one is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pushvault-test-" });
  try {
    await withProcesses(async (group) => {
      const dbPath = `${dir}/pv.db`;
      const first = await group.pushvault({ dbPath });
      const url = `${first.url}/aggregate/metrics/job/fleet`;
      const acked: string[] = [];
      let sent = 0;
      let killed = false;
      const pusher = async (p: number) => {
        for (let i = 0; i < 2000 && !killed; i++) {
          const runner = `runner-${p}-${i}`;
          sent++;
          try {
            const res = await fetch(url, {
              method: "POST",
              body: "# TYPE jobs_total counter\njobs_total 1\n" +
                "# TYPE busy_seconds_total counter\nbusy_seconds_total 0.1\n",
              headers: { "User-Agent": runner },
            });
            await res.body?.cancel();
            if (res.status === 200) acked.push(runner);
          } catch {
            return; // the server is gone
          }
        }
      };
      const pushers = Array.from({ length: PUSHERS }, (_, p) => pusher(p));
      for (let i = 0; i < 2000 && acked.length < 400; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      killed = true;
      first.process.signal("SIGKILL");
      assert.equal((await first.process.wait()).signal, "SIGKILL");
      await Promise.all(pushers);
      assert.ok(acked.length >= 400, `${acked.length} acknowledged`);

      const second = await group.pushvault({ dbPath });
      const scrape = await (await fetch(`${second.url}/metrics`)).text();
      const at = '{instance="",job="fleet"}';
      const jobs = valueOf(scrape, `jobs_total${at}`);
      assert.ok(jobs >= acked.length, `${jobs} < ${acked.length} acknowledged`);
      assert.ok(jobs <= sent);
      const rows = queryDb(
        dbPath,
        `SELECT user_agent, value FROM aggregate_contributions
          WHERE metric = 'busy_seconds_total'`,
      );
      const stored = new Set(rows.map((r) => r.user_agent));
      assert.deepEqual(acked.filter((a) => !stored.has(a)), []);
      // The sums are those of the contributions stored, exactly.
      assert.equal(rows.length, jobs);
      assert.equal(
        valueOf(scrape, `busy_seconds_total${at}`),
        await fsum(rows.map((r) => Number(r.value))),
      );
      assert.equal((await second.process.stop("SIGTERM")).code, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
