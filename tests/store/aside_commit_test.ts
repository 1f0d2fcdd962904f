import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { setImmediate } from "node:timers";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { PushError } from "../../src/push/push_error.ts";
import type { PushCommand, PushOutcome } from "../../src/store/store.ts";
import { Store } from "../../src/store/store.ts";
import type { FamilyEntry } from "../../src/store/family_entry.ts";
import { tempDir } from "../test_utils.ts";
import { command as storeCommand, key, REQUEST } from "./store_commands.ts";

/** Pushes with this many sample rows or more are written aside here. */
const ASIDE_MIN_ROWS = 1000;

/** A command as the push worker hands it over: prepared already. */
function command(
  method: "PUT" | "POST",
  path: string,
  families: MetricFamily[],
  time: number,
): PushCommand {
  return storeCommand(method, path, families, time, { prepared: true });
}

/** `n` gauge series, and a histogram whose rows use every column. */
function big(n: number, value: number): MetricFamily[] {
  return [
    {
      name: "big",
      help: "many series",
      type: "gauge",
      metrics: Array.from({ length: n }, (_, i) => ({
        labels: [{ name: "i", value: String(i) }],
        value: i === 0 ? NaN : i === 1 ? -0 : value + i,
      })),
    },
    {
      name: "big_seconds",
      help: undefined,
      type: "histogram",
      metrics: [{
        labels: [],
        buckets: [{
          upperBound: 1,
          cumulativeCount: 2,
          exemplar: { labels: [{ name: "id", value: "x" }], value: 0.5 },
        }, { upperBound: Infinity, cumulativeCount: 3 }],
        sampleSum: 1.5,
        sampleCount: 3,
        createdTimestampMs: 1_000_000,
      }],
    },
  ];
}

const gauge = (name: string, value: number): MetricFamily => ({
  name,
  help: undefined,
  type: "gauge",
  metrics: [{ labels: [], value }],
});

/** A turn of the event loop: what a push written aside yields to. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

function count(path: string, sql: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number((db.prepare(sql).get() as { n: number | bigint }).n);
  } finally {
    db.close();
  }
}

Deno.test("Store writes a large push aside: the group shows whole after the answer, writes queued meanwhile follow in order", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  using store = new Store({ path, asideMinRows: ASIDE_MIN_ROWS });
  let answered: PushOutcome | undefined;
  const large = store.enqueuePush(command("PUT", "job/big", big(50_000, 1), 1))
    .then((outcome) => (answered = outcome));
  await turn(); // the queue is flushed: the large push is being written

  // Not answered yet, not in the view, not committed; reads still work.
  assert.equal(answered, undefined);
  assert.equal(store.view.group(key("job/big").id), undefined);
  assert.equal(count(path, "SELECT count(*) AS n FROM samples"), 0);
  assert.deepEqual(store.groupFamilies(key("job/big").id), []);

  // Arrive during the large push: a PUT, a DELETE of its group, a POST.
  const { prepared: _, ...inline } = command(
    "PUT",
    "job/small",
    [gauge("before_delete", 1)],
    2,
  );
  const put = store.enqueuePush(inline);
  const deleted = store.enqueueDelete(key("job/small"), 3, REQUEST);
  const post = store.enqueuePush(
    command("POST", "job/small", [gauge("after_delete", 2)], 4),
  );
  store.recordInvalid({
    method: "PUT",
    key: key("job/small"),
    status: 400,
    error: "bad body",
    time: 5,
    request: REQUEST,
  });
  assert.equal(answered, undefined);

  assert.deepEqual(await large, { status: 200 });
  assert.deepEqual(await put, { status: 200 });
  await deleted;
  assert.deepEqual(await post, { status: 200 });

  const group = store.view.group(key("job/big").id);
  assert.equal(group?.families.size, 2);
  assert.equal(group?.families.get("big")?.keys.length, 50_000);
  const small = store.view.group(key("job/small").id);
  assert.deepEqual([...small?.families.keys() ?? []], ["after_delete"]);
  // 50,004 rows of the large push, both rows of the small group's.
  assert.equal(count(path, "SELECT count(*) AS n FROM samples"), 50_006);
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const log = db.prepare("SELECT method, status FROM pushes ORDER BY id")
      .all().map((r) => `${r.method} ${r.status}`);
    assert.deepEqual(log, [
      "PUT 200",
      "PUT 200",
      "DELETE 202",
      "POST 200",
      "PUT 400",
    ]);
  } finally {
    db.close();
  }
});

Deno.test("Store keeps nothing of a large push whose write fails halfway, and takes it again after", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  using store = new Store({ path, asideMinRows: ASIDE_MIN_ROWS });
  assert.deepEqual(
    await store.enqueuePush(command("PUT", "job/kept", [gauge("kept", 1)], 1)),
    { status: 200 },
  );
  // Room for a few pages of samples, not for 50,000 rows.
  store.setMaxPageCount(store.setMaxPageCount(1) + 20);
  await assert.rejects(
    store.enqueuePush(command("PUT", "job/big", big(50_000, 1), 2)),
    (error) =>
      error instanceof PushError && error.kind === "unavailable" &&
      /database or disk is full/.test(error.message),
  );
  assert.equal(store.view.group(key("job/big").id), undefined);
  assert.equal(count(path, "SELECT count(*) AS n FROM samples"), 1);
  assert.equal(count(path, "SELECT count(*) AS n FROM families"), 1);
  assert.equal(count(path, "SELECT count(*) AS n FROM pushes"), 1);
  assert.equal(count(path, "SELECT count(*) AS n FROM groups"), 1);

  store.setMaxPageCount(1_000_000);
  assert.deepEqual(
    await store.enqueuePush(command("PUT", "job/big", big(50_000, 1), 3)),
    { status: 200 },
  );
  // 50,000 gauge rows, 4 histogram rows, and the kept group's one.
  assert.equal(count(path, "SELECT count(*) AS n FROM samples"), 50_005);
  const group = store.view.group(key("job/big").id);
  assert.equal(group?.families.get("big")?.keys.length, 50_000);
});

Deno.test("Store writes the same rows for a large push aside as inline", async () => {
  await using dir = await tempDir();
  const dump = async (
    asideMinRows: number,
    file: string,
    asBytes: boolean,
  ) => {
    const path = `${dir.path}/${file}`;
    {
      using store = new Store({ path, asideMinRows });
      const pushes = [
        command("PUT", "job/big", [gauge("small", 1)], 1),
        command("PUT", "job/big", big(20_000, 1), 2),
        command("POST", "job/big", big(5_000, 2).slice(0, 1), 3),
        command("PUT", "job/other", big(3_000, 3).slice(1), 4),
      ];
      for (const push of pushes) {
        // The push worker hands `rendered` over as its UTF-8 bytes.
        const prepared = asBytes
          ? push.prepared?.map((f) => ({
            ...f,
            rendered: typeof f.rendered === "string"
              ? new TextEncoder().encode(f.rendered)
              : f.rendered,
          }))
          : push.prepared;
        assert.deepEqual(
          await store.enqueuePush({ ...push, ...(prepared && { prepared }) }),
          { status: 200 },
        );
      }
    }
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      // Every table a push writes (schema 7); samples have no id.
      return [
        "groups ORDER BY id",
        "pushes ORDER BY id",
        "families ORDER BY id",
        "series ORDER BY id",
        "rendered ORDER BY family_id",
        "samples ORDER BY family_id, series_id",
        "sample_extras ORDER BY family_id, series_id",
      ].map((table) => db.prepare(`SELECT * FROM ${table}`).all());
    } finally {
      db.close();
    }
  };
  const inline = await dump(Infinity, "inline.db", false);
  const aside = await dump(ASIDE_MIN_ROWS, "aside.db", true);
  assert.equal((inline[5] as unknown[]).length, 1 + 20_004 + 5_000 + 4);
  assert.deepEqual(aside, inline);
  // TEXT, readable in the sqlite3 shell, whichever way it came; a large
  // family's deflated value (`pz1`) is a BLOB.
  const db = new DatabaseSync(`${dir.path}/aside.db`, { readOnly: true });
  try {
    const types = db.prepare(
      `SELECT DISTINCT typeof(rendered) || ' ' || substr(CAST(rendered AS BLOB), 1, 3) AS t
       FROM rendered ORDER BY t`,
    ).all().map((r) => r.t);
    assert.deepEqual(types, ["blob pz1", "text pv4"]);
  } finally {
    db.close();
  }
});

Deno.test("Store refuses a large push inconsistent with other groups' series as it does inline, a step at a time", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  using aside = new Store({ path, asideMinRows: ASIDE_MIN_ROWS });
  using inline = new Store({ path: ":memory:" });
  // The same series once instance="1" is added; then another type.
  const withInstance = big(5000, 1).map((f) => ({
    ...f,
    metrics: f.metrics.map((m) => ({
      ...m,
      labels: [...m.labels, { name: "instance", value: "1" }],
    })),
  })) as MetricFamily[];
  const asCounter = big(5000, 1).map((f) =>
    f.name === "big" ? { ...f, type: "counter" } : f
  ) as MetricFamily[];
  const pushes = [
    command("PUT", "job/x", withInstance, 1),
    command("PUT", "job/x/instance/1", big(5000, 2), 2),
    command("PUT", "job/y", asCounter, 3),
    command("POST", "job/z", [gauge("after", 1)], 4),
  ];
  const outcomes = async (store: Store) => {
    const all = pushes.map((p) => store.enqueuePush(p));
    return await Promise.all(all);
  };
  const got = await outcomes(aside);
  assert.deepEqual(got, await outcomes(inline));
  assert.deepEqual(got.map((o) => o.status), [200, 400, 400, 200]);
  assert.match(
    (got[1] as { error?: string }).error ?? "",
    /collected metric "big" \{i="1",instance="1",job="x"\} was collected before with the same name and label values/,
  );
  assert.equal(aside.view.render(new Map()), inline.view.render(new Map()));
  assert.equal(
    count(path, "SELECT count(*) AS n FROM pushes WHERE status = 400"),
    2,
  );
});

Deno.test("Store builds a large family other groups hold aside and scrapes it as inline", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/pv.db`;
  using aside = new Store({ path, asideMinRows: ASIDE_MIN_ROWS });
  using inline = new Store({ path: ":memory:" });
  const shared = (value: number, n = 40_000) =>
    big(n, value).filter((f) => f.name === "big");
  const pushes = [
    command("PUT", "job/a", shared(1), 1),
    command("PUT", "job/b", shared(2), 2),
    command("PUT", "job/c", shared(3, 40_010), 3),
    command("PUT", "job/b", shared(4, 39_990), 4),
    command("POST", "job/d", [gauge("small", 1)], 5),
  ];
  for (const store of [aside, inline]) {
    const outcomes = await Promise.all(pushes.map((p) => store.enqueuePush(p)));
    assert.deepEqual(outcomes.map((o) => o.status), [200, 200, 200, 200, 200]);
  }
  // Built aside, its scrape pieces are written already; put in place, not.
  const pieces = (store: Store) =>
    (store.view.family("big") as FamilyEntry).scrape !== undefined;
  assert.deepEqual([pieces(aside), pieces(inline)], [true, false]);
  const scrape = aside.view.render(new Map());
  assert.equal(scrape, inline.view.render(new Map()));
  assert.equal(aside.view.seriesCount, inline.view.seriesCount);
  assert.match(scrape, /^big\{i="39989",instance="",job="b"\} 39993$/m);
});
