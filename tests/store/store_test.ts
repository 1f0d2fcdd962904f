import assert from "node:assert/strict";
import fc from "fast-check";
import { DatabaseSync } from "node:sqlite";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { keysJson } from "../../src/push/rendered_blob.ts";
import { Store, StoreOpenError } from "../../src/store/store.ts";
import { tempDir } from "../test_utils.ts";
import { command, key, REQUEST } from "./store_commands.ts";

const gauge = (
  name: string,
  value: number,
  labels: { name: string; value: string }[] = [],
): MetricFamily => ({
  name,
  help: undefined,
  type: "gauge",
  metrics: [{ labels, value }],
});

const EVERYTHING: MetricFamily[] = [
  {
    name: "c",
    help: "a counter",
    type: "counter",
    metrics: [{ labels: [{ name: "k", value: "v" }], value: -0 }],
  },
  {
    name: "g",
    help: undefined,
    type: "gauge",
    metrics: [{ labels: [], value: NaN }, {
      labels: [{ name: "a", value: "" }],
      value: -Infinity,
    }],
  },
  {
    name: "s",
    help: "summary",
    type: "summary",
    metrics: [{
      labels: [],
      sampleCount: 4,
      sampleSum: 3,
      quantiles: [{ quantile: 0.5, value: 1 }, {
        quantile: 0.9,
        value: 5e-324,
      }],
    }],
  },
  {
    name: "h",
    help: undefined,
    type: "histogram",
    metrics: [{
      labels: [],
      sampleCount: 2,
      sampleSum: 1.797e308,
      buckets: [{ upperBound: 1e6, cumulativeCount: 1 }, {
        upperBound: 0.5,
        cumulativeCount: 0,
      }],
      native: {
        schema: 3,
        zeroThreshold: 1e-128,
        zeroCount: 1,
        positiveSpans: [{ offset: 0, length: 2 }],
        positiveDeltas: [1, -1],
        positiveCounts: [],
        negativeSpans: [],
        negativeDeltas: [],
        negativeCounts: [],
      },
    }],
  },
  { name: "empty", help: "no metrics", type: "gauge", metrics: [] },
];

Deno.test("Store keeps every value exactly across a restart", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  let before: string;
  let families: unknown;
  {
    using store = new Store({ path });
    assert.deepEqual(
      store.push(command("PUT", "job/j/instance/i", EVERYTHING)),
      { status: 200 },
    );
    before = store.view.render(new Map());
    families = store.groupFamilies('{instance="i",job="j"}').map((f) =>
      f.family
    );
  }
  using again = new Store({ path });
  assert.equal(again.view.render(new Map()), before);
  const reloaded = again.groupFamilies('{instance="i",job="j"}').map((f) =>
    f.family
  );
  assert.deepEqual(reloaded, families);
});

Deno.test("Store renders families without a rendered row from their samples at start", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  let before: string;
  {
    using store = new Store({ path });
    store.push(command("PUT", "job/j/instance/i", EVERYTHING, 1));
    store.push(command("PUT", "job/j/instance/i", EVERYTHING, 2));
    before = store.view.render(new Map());
  }
  const rendered = (db: DatabaseSync) =>
    db.prepare(
      `SELECT current, EXISTS (SELECT 1 FROM rendered r WHERE r.family_id = f.id) AS has
       FROM families f ORDER BY id`,
    ).all().map((r) => `${r.current}:${r.has}`);
  {
    using db = new DatabaseSync(path);
    // Superseded versions drop their copy; current ones keep it.
    assert.ok(rendered(db).every((r) => r === "0:0" || r === "1:1"));
    assert.ok(rendered(db).includes("0:0"));
    // As a database written before schema v3 (or in another format) has it.
    db.exec("DELETE FROM rendered");
    db.exec(
      `INSERT INTO rendered (family_id, rendered) SELECT max(id), '["pv0"]' FROM families`,
    );
  }
  {
    using again = new Store({ path });
    assert.equal(again.view.render(new Map()), before);
  }
  using db = new DatabaseSync(path);
  assert.ok(rendered(db).every((r) => r === "0:0" || r === "1:1"));
  using last = new Store({ path });
  assert.equal(last.view.render(new Map()), before);
});

Deno.test("Store assembled a slice at a time after start equals one assembled at once", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  let before: string;
  {
    using store = new Store({ path });
    for (let g = 0; g < 12; g++) {
      store.push(command("PUT", `job/j/instance/i${g}`, EVERYTHING, g + 1));
    }
    store.push(command("POST", "job/j/instance/i3", [gauge("g", 7)], 20));
    store.push(command("PUT", "job/other", [gauge("solo", 1)], 21));
    before = store.view.render(new Map());
  }
  {
    // One family as a database written before schema v3 has it.
    using db = new DatabaseSync(path);
    db.exec(
      "DELETE FROM rendered WHERE family_id = (SELECT min(id) FROM families WHERE current = 1)",
    );
  }
  const assembled = Promise.withResolvers<
    { groups: number; series: number } | { error: string }
  >();
  {
    using store = new Store({ path });
    assert.equal(store.loadedGroups, 13);
    // Three families per step, as the server does with 500.
    store.startBackgroundIndexing(assembled.resolve, 3);
    // 5 series per group (4 in i3, whose g the POST replaced), solo, and
    // two metadata series per group.
    assert.deepEqual(await assembled.promise, {
      groups: 13,
      series: 5 * 12 - 1 + 1 + 2 * 13,
    });
    assert.equal(store.view.render(new Map()), before);
  }
  {
    // The family rendered from its samples was written back.
    using db = new DatabaseSync(path);
    const missing = db.prepare(
      `SELECT count(*) AS n FROM families f WHERE current = 1
         AND NOT EXISTS (SELECT 1 FROM rendered r WHERE r.family_id = f.id)`,
    ).get() as { n: number };
    assert.equal(missing.n, 0);
  }
  using again = new Store({ path });
  assert.equal(again.view.render(new Map()), before);
});

Deno.test("Store reports a failed background read of the families and fails the request that needs them", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  {
    using store = new Store({ path });
    for (let g = 0; g < 40; g++) {
      store.push(command("PUT", `job/j/instance/i${g}`, EVERYTHING, g + 1));
    }
  }
  const result = Promise.withResolvers<
    { groups: number; series: number } | { error: string }
  >();
  using store = new Store({ path });
  // The families go away after start-up read the groups (another program
  // writing to the file): reading them fails.
  {
    using other = new DatabaseSync(path);
    other.exec("ALTER TABLE families RENAME TO families_gone");
  }
  store.startBackgroundIndexing(result.resolve, 5);
  const outcome = await result.promise;
  assert.ok("error" in outcome, JSON.stringify(outcome));
  assert.match(outcome.error, /no such table: (main\.)?families/);
  assert.throws(() => store.view.render(new Map()));
});

Deno.test("Store checks a push against families start-up has not read yet", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  {
    using store = new Store({ path });
    store.push(
      command("PUT", "job/a", [gauge("m", 1, [{ name: "x", value: "1" }])], 1),
    );
    store.push(command("PUT", "job/c", [gauge("typed", 1)], 1));
  }
  {
    using store = new Store({ path });
    // Nothing has read the families yet: the push must read them first.
    const duplicate = await store.enqueuePush(
      command("PUT", "job/a/x/1", [gauge("m", 2)], 2),
    );
    assert.equal(duplicate.status, 400);
    assert.match(
      duplicate.error ?? "",
      /collected before with the same name and label values/,
    );
  }
  {
    using store = new Store({ path });
    const wrongType = store.push(command("PUT", "job/d", [{
      name: "typed",
      help: undefined,
      type: "counter",
      metrics: [{ labels: [], value: 1 }],
    }], 3));
    assert.equal(wrongType.status, 400);
    // Before any read of the view: a delete, then a scrape.
    store.deleteGroup(key("job/c"), 4, REQUEST);
    const text = store.view.render(new Map());
    assert.match(text, /^m\{instance="",job="a",x="1"\} 1$/m);
    assert.doesNotMatch(text, /^typed/m);
  }
});

Deno.test("Store keeps rendered in pv4, or pv2 where a text holds U+0001, and reads pv3", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  let before: string;
  {
    using store = new Store({ path });
    store.push(command("PUT", "job/j", [
      gauge("plain", 1, [{ name: "k", value: "v" }]),
      gauge("odd", 2, [{ name: "k", value: "a\u0001b" }]),
      gauge("odder", 3, [{ name: "k", value: "a\u0002b" }]),
    ]));
    before = store.view.render(new Map());
  }
  const tags = (db: DatabaseSync) =>
    db.prepare(
      `SELECT n.name, substr(rendered, 1, 4) AS tag FROM families f
         JOIN metric_names n ON n.id = f.name_id
         JOIN rendered r ON r.family_id = f.id WHERE current = 1 ORDER BY n.name`,
    ).all().map((r) => `${r.name}:${r.tag}`);
  {
    using db = new DatabaseSync(path);
    assert.deepEqual(tags(db), ['odd:["pv', 'odder:["pv', "plain:pv4["]);
    // As this version's predecessor wrote it: pv3, keys and texts joined.
    const row = db.prepare(
      `SELECT f.id, rendered FROM families f JOIN rendered r ON r.family_id = f.id
       JOIN metric_names n ON n.id = f.name_id WHERE current = 1 AND n.name = 'plain'`,
    ).get() as { id: number; rendered: string };
    const split = row.rendered.indexOf("\u0002");
    const keys = JSON.parse(row.rendered.slice(3, split)) as string[];
    const texts = row.rendered.slice(split + 1).split("\u0001");
    const pv3 = ["pv3", ...keys.flatMap((k, i) => [k, texts[i]])].join(
      "\u0001",
    );
    db.prepare("UPDATE rendered SET rendered = ? WHERE family_id = ?").run(
      pv3,
      row.id,
    );
    assert.deepEqual(tags(db), ['odd:["pv', 'odder:["pv', "plain:pv3\u0001"]);
  }
  using again = new Store({ path });
  assert.equal(again.view.render(new Map()), before);
  assert.ok(before.includes(`odd{instance="",job="j",k="a\u0001b"} 2\n`));
  assert.ok(before.includes(`odder{instance="",job="j",k="a\u0002b"} 3\n`));
});

Deno.test("Store.push() with POST replaces only the pushed families", () => {
  using store = new Store({ path: "" });
  store.push(command("POST", "job/seq", [gauge("a", 1), gauge("b", 1)], 1));
  store.push(command("POST", "job/seq", [gauge("b", 2), gauge("c", 2)], 2));
  const text = store.view.render(new Map());
  assert.match(text, /^a\{instance="",job="seq"\} 1$/m);
  assert.match(text, /^b\{instance="",job="seq"\} 2$/m);
  assert.match(text, /^c\{instance="",job="seq"\} 2$/m);
  store.push(command("PUT", "job/seq", [gauge("c", 3)], 3));
  const after = store.view.render(new Map());
  assert.doesNotMatch(after, /^a\{/m);
  assert.match(after, /^c\{instance="",job="seq"\} 3$/m);
  assert.match(after, /^push_time_seconds\{instance="",job="seq"\} 3$/m);
});

Deno.test("Store.push() refuses a duplicate series across groups and only sets the failure time", () => {
  using store = new Store({ path: "" });
  store.push(
    command("PUT", "job/a", [gauge("m", 1, [{ name: "x", value: "1" }])], 10),
  );
  const before = store.view.render(new Map());
  const outcome = store.push(command("PUT", "job/a/x/1", [gauge("m", 2)], 20));
  assert.equal(outcome.status, 400);
  assert.match(
    outcome.error ?? "",
    /^pushed metrics are invalid or inconsistent with existing metrics: collected metric "m" .* was collected before with the same name and label values$/,
  );
  const after = store.view.render(new Map());
  assert.match(
    after,
    /^push_failure_time_seconds\{instance="",job="a",x="1"\} 20$/m,
  );
  assert.equal(
    after.replace(
      /^push_(failure_)?time_seconds\{instance="",job="a",x="1"\}.*\n/gm,
      "",
    ),
    before,
  );
});

Deno.test("Store.push() does not create a group that would alias another's metadata (Deliberate differences)", () => {
  using store = new Store({ path: "" });
  store.push(command("POST", "job/j1", [gauge("a", 1)], 10));
  const outcome = store.push(
    command("POST", "job/j1/instance/", [gauge("b", 1)], 20),
  );
  assert.equal(outcome.status, 400);
  assert.equal(store.view.group('{instance="",job="j1"}'), undefined);
  assert.equal(
    store.push(command("POST", "job/other", [gauge("c", 1)], 30)).status,
    200,
  );
});

Deno.test("Store records every push in the history, accepted or refused", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  {
    using store = new Store({ path });
    store.push(command("PUT", "job/h", [gauge("a", 1)], 1));
    store.push(
      command("PUT", "job/h", [{
        name: "a",
        help: undefined,
        type: "gauge",
        metrics: [{ labels: [], value: 1, timestampMs: 5 }],
      }], 2),
    );
    store.deleteGroup(key("job/h"), 3, REQUEST);
  }
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare(
      "SELECT method, status, error FROM pushes ORDER BY id",
    ).all();
    assert.deepEqual(rows.map((r) => [r.method, r.status, r.error]), [
      ["PUT", 200, null],
      [
        "PUT",
        400,
        "pushed metrics are invalid or inconsistent with existing metrics: pushed metrics must not have timestamps",
      ],
      ["DELETE", 202, null],
    ]);
    const history = db.prepare(
      "SELECT value, current FROM sample_history WHERE metric = 'a'",
    ).all();
    assert.deepEqual(history.map((r) => [r.value, r.current]), [[1, 0]]);
  } finally {
    db.close();
  }
});

Deno.test("Store refuses a file that is not a database and leaves it untouched", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/snapshot`;
  const bytes = new TextEncoder().encode(
    "\x0f\xff\x81\x03\x01\x01\x0bgob stuff that is not SQLite",
  );
  await Deno.writeFile(path, bytes);
  assert.throws(() => new Store({ path }), (e) => {
    assert.ok(e instanceof StoreOpenError);
    assert.match(e.message, /is not a Pushvault database/);
    return true;
  });
  assert.deepEqual(await Deno.readFile(path), bytes);
});

Deno.test("Store refuses a SQLite database of another program", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/other.db`;
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE t (x)");
  db.close();
  const before = await Deno.readFile(path);
  assert.throws(() => new Store({ path }), StoreOpenError);
  assert.deepEqual(await Deno.readFile(path), before);
});

Deno.test("Store.enqueuePush() commits a batch together and checks each push against the earlier ones", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  {
    using store = new Store({ path });
    const outcomes = await Promise.all([
      store.enqueuePush(
        command(
          "PUT",
          "job/a",
          [gauge("m", 1, [{ name: "x", value: "1" }])],
          1,
        ),
      ),
      store.enqueuePush(command("PUT", "job/a/x/1", [gauge("m", 2)], 2)), // the same series as the first
      store.enqueuePush(command("PUT", "job/b", [gauge("m", 3)], 3)),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), [200, 400, 200]);
    assert.match(
      outcomes[1]?.error ?? "",
      /was collected before with the same name and label values/,
    );
  }
  using again = new Store({ path });
  const text = again.view.render(new Map());
  assert.match(text, /^m\{instance="",job="a",x="1"\} 1$/m);
  assert.match(text, /^m\{instance="",job="b"\} 3$/m);
  assert.match(
    text,
    /^push_failure_time_seconds\{instance="",job="a",x="1"\} 2$/m,
  );
});

Deno.test("Store.enqueuePush() fails only the push whose writes fail; the batch's others commit", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  const many = (n: number) =>
    Array.from(
      { length: n },
      (_, i) =>
        gauge(`big_${i}_${"x".repeat(200)}`, i, [{
          name: "l",
          value: "y".repeat(200),
        }]),
    );
  {
    using store = new Store({ path });
    assert.equal(
      (await store.enqueuePush(command("PUT", "job/first", [gauge("m", 0)], 1)))
        .status,
      200,
    );
    // Room for a small push or two, not for 300 families of long names.
    store.setMaxPageCount(store.setMaxPageCount(1) + 4);
    for (let round = 0; round < 2; round++) {
      // Round 0 starts without savepoints, meets the failure and runs the
      // batch again with them; round 1 runs with them from the start.
      const outcomes = await Promise.allSettled([
        store.enqueuePush(command("POST", `job/a${round}`, [gauge("m", 1)], 2)),
        store.enqueuePush(command("PUT", `job/big${round}`, many(300), 3)),
        store.enqueuePush(command("POST", `job/c${round}`, [gauge("m", 3)], 4)),
      ]);
      assert.deepEqual(
        outcomes.map((o) =>
          o.status === "fulfilled" ? o.value.status : o.reason.kind
        ),
        [200, "unavailable", 200],
      );
      const text = store.view.render(new Map());
      assert.match(
        text,
        new RegExp(`^m\\{instance="",job="a${round}"\\} 1$`, "m"),
      );
      assert.match(
        text,
        new RegExp(`^m\\{instance="",job="c${round}"\\} 3$`, "m"),
      );
      assert.doesNotMatch(text, /^big_/m);
    }
  }
  using again = new Store({ path });
  const text = again.view.render(new Map());
  for (const job of ["first", "a0", "c0", "a1", "c1"]) {
    assert.match(
      text,
      new RegExp(`^m\\{instance="",job="${job}"\\} \\d$`, "m"),
    );
  }
  assert.doesNotMatch(text, /big/);
  assert.equal(again.view.group('{job="big0"}'), undefined);
});

Deno.test("Store applies a direct write only after the pushes queued before it", async () => {
  using store = new Store({ path: "" });
  const queued = store.enqueuePush(
    command("PUT", "job/order", [gauge("m", 1)], 1),
  );
  store.deleteGroup(key("job/order"), 2, REQUEST); // arrives later, so it wins
  assert.equal((await queued).status, 200);
  assert.equal(store.view.group('{job="order"}'), undefined);
});

Deno.test("keysJson() writes what JSON.stringify writes", () => {
  for (
    const keys of [
      [],
      ["a"],
      ["!a  b  ", '"k  v', "back\\slash", "ü😀", "\ud800x", "x\udfff"],
      ['a","b'],
    ]
  ) {
    assert.equal(keysJson(keys), JSON.stringify(keys));
  }
  fc.assert(
    fc.property(
      fc.array(
        fc.string({ unit: "binary" }).map((s) =>
          // Keys hold no control characters (key parts escape them).
          Array.from(s, (c) => c <= " " ? "!" : c).join("")
        ),
      ),
      (keys) => {
        assert.equal(keysJson(keys), JSON.stringify(keys));
      },
    ),
    { seed: 5, numRuns: 2000 },
  );
});

Deno.test("Store refuses a checked re-push of duplicates an unchecked push stored, before and after a restart", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  const dup: MetricFamily = {
    name: "dup",
    help: undefined,
    type: "gauge",
    metrics: [{ labels: [], value: 1 }, { labels: [], value: 2 }],
  };
  const checked = () => command("PUT", "job/d", [dup], 2000);
  {
    using store = new Store({ path });
    const unchecked = {
      ...command("PUT", "job/d", [dup]),
      checkConsistency: false,
    };
    assert.equal(store.push(unchecked).status, 202);
    assert.equal(store.push(checked()).status, 400);
  }
  using again = new Store({ path });
  assert.equal(again.push(checked()).status, 400);
  // The same series once each is accepted, and then again as they are.
  const once = { ...dup, metrics: [{ labels: [], value: 3 }] };
  assert.equal(again.push(command("PUT", "job/d", [once], 3000)).status, 200);
  assert.equal(again.push(command("PUT", "job/d", [once], 4000)).status, 200);
  assert.match(again.view.render(new Map()), /^dup\{instance="",job="d"\} 3$/m);
});

Deno.test("Store keeps a series' row while it stays in its family, and gives it a new one when it comes back or moves", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  const x = (v: string) => [{ name: "x", value: v }];
  const versions: [string, number][][] = [
    [["1", 10], ["2", 20]],
    [["1", 11], ["2", 21]], // the same series: the ids are remembered
    // Reordered: read from the samples; x="1" now after x="2" takes a new
    // row, as series ids rise along a family, and so does x="2", whose
    // metric's ordinal changed (schema 9 keeps it on the series row).
    [["2", 22], ["1", 12]],
    [["1", 13]], // x="2" leaves; x="1" moves up, a new row
    [["1", 14], ["2", 24]], // x="2" comes back as a new series row
  ];
  {
    using store = new Store({ path });
    versions.forEach((version, i) => {
      const family: MetricFamily = {
        name: "a",
        help: undefined,
        type: "gauge",
        metrics: version.map(([v, value]) => ({ labels: x(v), value })),
      };
      assert.equal(
        store.push(command("PUT", "job/j", [family], 100 + i)).status,
        200,
      );
    });
    // A push whose write fails (a full file) is rolled back with the ids it
    // made; the next push must not use them.
    store.setMaxPageCount(1);
    assert.throws(() =>
      store.push(
        command("PUT", "job/j", [{
          name: "a",
          help: undefined,
          type: "gauge",
          metrics: Array.from({ length: 3000 }, (_, i) => ({
            labels: x(`n${i}${"p".repeat(100)}`),
            value: i,
          })),
        }], 200),
      )
    );
    store.setMaxPageCount(1_000_000);
    store.push(command("PUT", "job/j", [gauge("a", 15, x("1"))], 300));
  }
  using db = new DatabaseSync(path, { readOnly: true });
  const history = db.prepare(
    `SELECT labels, value FROM sample_history WHERE metric = 'a' ORDER BY time, labels`,
  ).all().map((r) => `${JSON.parse(String(r.labels)).x}=${r.value}`);
  assert.deepEqual(history, [
    "1=10",
    "2=20",
    "1=11",
    "2=21",
    "1=12",
    "2=22",
    "1=13",
    "1=14",
    "2=24",
    "1=15",
  ]);
  const series = db.prepare(
    "SELECT json_extract(labels, '$.x') AS x, count(*) AS n FROM series WHERE family = 'a' GROUP BY x ORDER BY x",
  ).all().map((r) => `${r.x}:${r.n}`);
  assert.deepEqual(series, ["1:3", "2:3"]);
  const orphans = db.prepare(
    "SELECT count(*) AS n FROM samples s WHERE NOT EXISTS (SELECT 1 FROM series se WHERE se.id = s.series_id)",
  ).get();
  assert.equal(orphans?.n, 0);
});

Deno.test("Store reads a family back in its pushed order after its series moved or came new between others", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  const family = (order: string[]): MetricFamily => ({
    name: "a",
    help: undefined,
    type: "gauge",
    metrics: order.map((v, i) => ({
      labels: [{ name: "x", value: v }],
      value: i,
    })),
  });
  /** Each metric as x=value, in the family's order. */
  const read = (store: Store) =>
    store.groupFamilies('{job="j"}').flatMap((f) =>
      f.family.type === "gauge"
        ? f.family.metrics.map((m) =>
          `${m.labels.find((l) => l.name === "x")?.value}=${m.value}`
        )
        : []
    );
  const versions = [["1", "2", "3"], ["3", "1", "2"], ["3", "0", "1", "2"]];
  for (const [i, order] of versions.entries()) {
    const expected = order.map((v, n) => `${v}=${n}`);
    {
      using store = new Store({ path });
      store.push(command("PUT", "job/j", [family(order)], 100 + i));
      assert.deepEqual(read(store), expected);
    }
    // And from the file, by a store that never saw the push.
    using again = new Store({ path });
    assert.deepEqual(read(again), expected);
  }
});

Deno.test("Store.enqueuePush() waits for a write lock held elsewhere without blocking the thread", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  using store = new Store({ path });
  const other = new DatabaseSync(path);
  try {
    // A sqlite3 shell in BEGIN IMMEDIATE, or the checkpointer truncating
    // the WAL: the lock is taken.
    other.exec("BEGIN IMMEDIATE");
    let settled = false;
    const pushed = store.enqueuePush(command("PUT", "job/j", [gauge("g", 1)]))
      .finally(() => (settled = true));
    // Were the thread waiting for the lock (busy_timeout), these timers
    // would run only after the push had failed.
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(settled, false);
    }
    other.exec("ROLLBACK");
    assert.deepEqual(await pushed, { status: 200 });
    assert.equal(store.view.group(key("job/j").id)?.families.size, 1);
  } finally {
    other.close();
  }
});
