/**
 * Large aggregating pushes are summed and written aside (on the second
 * connection, a slice at a time): the same outcomes, scrapes and rows as
 * the same pushes written inline, refusals included, and the group's kind
 * known after them.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Store } from "../../src/store/store.ts";
import type { PushCommand, PushOutcome } from "../../src/store/store.ts";
import type { GaugeMode } from "../../src/push/aggregate.ts";
import { tempDir } from "../test_utils.ts";
import { aggregateCommand } from "./aggregate_command.ts";
import { preparePushInSlices } from "../../src/push/prepare_push.ts";
import type { MetricFamily } from "../../src/exposition/model.ts";

const encoder = new TextEncoder();

/** Each command's body, for {@link asFromWorker}. */
const BODIES = new WeakMap<PushCommand, string>();

function command(
  body: string,
  options: {
    method?: "PUT" | "POST";
    gauge?: GaugeMode | false;
    path?: string;
    time: number;
  },
): PushCommand {
  const push = aggregateCommand(body, { ...options, keys: true });
  BODIES.set(push, body);
  return push;
}

const LIMITS = {
  maxSeriesPerPush: 1_000_000,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 1024,
  maxSeries: 0,
  readTimeoutMs: 0,
};

/**
 * `push` as the push worker hands it over: the families prepared (keys,
 * texts, rows in columns), placeholders in place of their metrics.
 */
function asFromWorker(push: PushCommand): PushCommand {
  const ready = preparePushInSlices({
    body: encoder.encode(BODIES.get(push) ?? ""),
    contentType: null,
    key: push.key,
    utf8Names: false,
    limits: LIMITS,
  });
  if (ready.prepared === undefined) return push;
  const prepared = ready.prepared;
  return {
    ...push,
    families: prepared.map((f) => ({
      name: f.name,
      type: f.type,
      help: f.help,
      unit: f.unit,
      metrics: f.keys.map(() => ({ labels: [], value: 0 })),
    } as MetricFamily)),
    keys: prepared.map((f) => f.keys),
    prepared,
  };
}

/** A counter, a histogram, a summary and a gauge of `n` series each. */
function body(n: number, round: number): string {
  let text = "# TYPE c counter\n";
  for (let i = 0; i < n; i++) text += `c{s="${i}"} ${0.1 * (i % 7 + 1)}\n`;
  text += "# TYPE h histogram\n";
  for (let i = 0; i < n; i += 10) {
    text += `h_bucket{s="${i}",le="1"} ${round}\nh_bucket{s="${i}",le="+Inf"} ${
      round + 1
    }\nh_sum{s="${i}"} 0.3\nh_count{s="${i}"} ${round + 1}\n`;
  }
  text += "# TYPE q summary\n";
  for (let i = 0; i < n; i += 10) {
    text +=
      `q{s="${i}",quantile="0.5"} ${round}\nq_sum{s="${i}"} 0.7\nq_count{s="${i}"} 3\n`;
  }
  text += `# TYPE x gauge\nx{s="nan"} NaN\nx{s="zero"} -0\nx{s="inf"} +Inf\n`;
  text += `# TYPE u untyped\nu{s="1"} ${round}e-300\nu{s="2"} -1.5e308\n`;
  text += "# TYPE g gauge\n";
  // A new series each round, the others in another order than stored.
  for (let i = n + round; i >= 0; i--) text += `g{s="${i}"} ${round * i}\n`;
  return text;
}

/** The pushes both stores get, in order. */
function pushes(n: number): PushCommand[] {
  const list: PushCommand[] = [];
  let time = 1000;
  for (let round = 1; round <= 4; round++) {
    list.push(command(body(n, round), { time: time++ }));
  }
  // Gauges summed; a layout that differs; a type that differs.
  list.push(command(body(n, 5), { gauge: "sum", time: time++ }));
  list.push(command(
    body(n, 6).replaceAll('le="1"', 'le="2"'),
    { time: time++ },
  ));
  list.push(command(
    body(n, 7).replace("# TYPE g gauge", "# TYPE g counter"),
    { time: time++ },
  ));
  // A replacing push to another group between them.
  list.push(command('# TYPE o gauge\no{job="other"} 1\n', {
    gauge: false,
    path: "job/other",
    time: time++,
  }));
  // PUT: adds the pushed families, drops the group's others.
  list.push(command(
    body(n, 8).split("# TYPE h")[0] as string,
    { method: "PUT", time: time++ },
  ));
  list.push(command(body(n, 9), { time: time++ }));
  return list;
}

const TABLES = [
  "SELECT metric, labels, value FROM aggregate_contributions ORDER BY push_id, metric, labels",
  "SELECT n.name, s.labels, r.partials FROM sum_residues r JOIN families f ON f.id = r.family_id JOIN metric_names n ON n.id = f.name_id JOIN series s ON s.id = r.series_id ORDER BY n.name, s.labels",
  "SELECT id, status, error, series FROM pushes ORDER BY id",
  "SELECT key, aggregating FROM groups ORDER BY key",
];

function tables(path: string): unknown[] {
  using db = new DatabaseSync(path, { readOnly: true });
  return TABLES.map((sql) => db.prepare(sql).all());
}

for (const keepHistory of [true, false]) {
  Deno.test(`large aggregating pushes written aside sum as inline ones (history ${keepHistory})`, async () => {
    await using dir = await tempDir();
    const inlinePath = `${dir.path}/inline.db`;
    const asidePath = `${dir.path}/aside.db`;
    const n = 400;
    // inline; aside; from the worker, aside; from the worker, in a batch.
    const paths = [inlinePath, asidePath, "worker.db", "batch.db"].map((
      p,
      i,
    ) => i < 2 ? p : `${dir.path}/${p}`);
    const outcomes: PushOutcome[][] = [[], [], [], []];
    const scrapes: string[] = [];
    {
      using inline = new Store({ path: inlinePath, keepHistory });
      // Every aggregating push here has at least 400 rows: all go aside.
      using aside = new Store({
        path: asidePath,
        keepHistory,
        asideMinRows: 300,
      });
      using worker = new Store({
        path: paths[2] as string,
        keepHistory,
        asideMinRows: 300,
      });
      using batch = new Store({ path: paths[3] as string, keepHistory });
      for (const push of pushes(n)) {
        outcomes[0]?.push(inline.push(push));
        outcomes[1]?.push(await aside.enqueuePush(push));
        outcomes[2]?.push(await worker.enqueuePush(asFromWorker(push)));
        outcomes[3]?.push(await batch.enqueuePush(asFromWorker(push)));
      }
      for (const store of [inline, aside, worker, batch]) {
        scrapes.push(store.view.render(new Map()));
      }
      // The group's kind is known to the one that wrote it aside.
      const replacing = command("c 1\n", { gauge: false, time: 5000 });
      assert.equal(inline.push(replacing).status, 409);
      for (const store of [aside, worker, batch]) {
        assert.equal((await store.enqueuePush(replacing)).status, 409);
      }
    }
    for (const i of [1, 2, 3]) {
      assert.deepEqual(outcomes[i], outcomes[0]);
      assert.equal(scrapes[i], scrapes[0]);
      assert.deepEqual(tables(paths[i] as string), tables(inlinePath));
    }
    assert.deepEqual(
      outcomes[0]?.map((o) => o.status),
      [200, 200, 200, 200, 200, 400, 400, 200, 200, 200],
    );
    assert.match(
      scrapes[0] ?? "",
      /^c\{instance="",job="agg",s="0"\} 0\.7000000000000001$/m,
    );
    // After a restart the sums go on from what the aside store wrote.
    using again = new Store({
      path: asidePath,
      keepHistory,
      asideMinRows: 300,
    });
    const more = command(body(n, 10), { time: 6000 });
    assert.equal((await again.enqueuePush(more)).status, 200);
    assert.match(
      again.view.render(new Map()),
      /^c\{instance="",job="agg",s="0"\} 0\.8$/m,
    );
  });
}
