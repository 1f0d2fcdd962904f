import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { makeGroupingKey } from "../../src/push/grouping_key.ts";
import { STAGE_MIN_SERIES, stagePush } from "../../src/store/staged_family.ts";
import type { PushCommand, PushOutcome } from "../../src/store/store.ts";
import { Store } from "../../src/store/store.ts";
import { type ApplyPush, View } from "../../src/store/view.ts";
import type { FamilyEntry } from "../../src/store/family_entry.ts";
import { tempDir } from "../test_utils.ts";
import {
  command as storeCommand,
  familyInput,
  gaugeFamily,
  key as keyOf,
} from "./store_commands.ts";

const N = STAGE_MIN_SERIES + 100;

/** `n` gauge series named `name`, labels `i` (and a non-ASCII one). */
const gauges = (name: string, n: number, value: number, help?: string) =>
  gaugeFamily(name, n, value, { help });

const input = familyInput;

const job = makeGroupingKey(new Map([["job", "big"]]));
const other = makeGroupingKey(new Map([["job", "other"]]));

/** Applies `push` after building its large families aside, step by step. */
function applyStaged(view: View, push: ApplyPush, between?: () => void) {
  const steps = stagePush(view, push.key.id, push.families);
  let step = steps.next();
  while (step.done !== true) {
    between?.();
    step = steps.next();
  }
  view.applyPush(push, step.value);
  return step.value;
}

Deno.test("A large family built aside scrapes exactly as one applied in place", () => {
  const pushes: ApplyPush[] = [
    {
      key: job,
      rowId: 1,
      replaceAll: true,
      time: 1,
      families: [input(gauges("big", N, 1, "many"), 1)],
    },
    {
      key: other,
      rowId: 2,
      replaceAll: true,
      time: 2,
      families: [input(gauges("small", 3, 1), 2)],
    },
    // The same series, new values; and a second large family.
    {
      key: job,
      rowId: 1,
      replaceAll: true,
      time: 3,
      families: [
        input(gauges("big", N, 5, ""), 3),
        input(gauges("big_too", N + 1, 2), 4),
      ],
    },
    // Other series; the second family goes (PUT).
    {
      key: job,
      rowId: 1,
      replaceAll: true,
      time: 4,
      families: [input(gauges("big", N + 50, 9, "other help"), 5)],
    },
    // POST of a family another group holds: built in place.
    {
      key: job,
      rowId: 1,
      replaceAll: false,
      time: 5,
      families: [input(gauges("small", N, 3), 6)],
    },
  ];
  const inPlace = new View(new Map());
  const aside = new View(new Map());
  const built: number[] = [];
  for (const push of pushes) {
    inPlace.applyPush(push);
    built.push(applyStaged(aside, push).size);
    assert.equal(aside.render(new Map()), inPlace.render(new Map()));
    assert.equal(aside.seriesCount, inPlace.seriesCount);
    assert.deepEqual(
      [...aside.group(job.id)?.families.keys() ?? []],
      [...inPlace.group(job.id)?.families.keys() ?? []],
    );
  }
  assert.deepEqual(built, [1, 0, 2, 1, 0]);
  assert.match(aside.render(new Map()), /^# HELP big other help$/m);
});

Deno.test("A family another group holds is not built aside", () => {
  const pushes: ApplyPush[] = [{
    key: other,
    rowId: 1,
    replaceAll: true,
    time: 1,
    families: [input(gauges("shared", 2, 0), 1)],
  }, {
    key: job,
    rowId: 2,
    replaceAll: true,
    time: 2,
    families: [input(gauges("shared", N, 1), 2)],
  }];
  const inPlace = new View(new Map());
  const view = new View(new Map());
  for (const push of pushes) inPlace.applyPush(push);
  view.applyPush(pushes[0] as ApplyPush);
  assert.equal(applyStaged(view, pushes[1] as ApplyPush).size, 0);
  assert.equal(view.render(new Map()), inPlace.render(new Map()));
  assert.equal(view.seriesCount, inPlace.seriesCount);
});

Deno.test("While a large family is built aside, the view scrapes the old group whole", () => {
  const view = new View(new Map());
  view.applyPush({
    key: job,
    rowId: 1,
    replaceAll: true,
    time: 1,
    families: [input(gauges("big", N, 1), 1)],
  });
  const old = view.render(new Map());
  const push: ApplyPush = {
    key: job,
    rowId: 1,
    replaceAll: true,
    time: 2,
    families: [input(gauges("big", N + 10, 2), 2)],
  };
  let steps = 0;
  applyStaged(view, push, () => {
    if (steps++ % 7 === 0) assert.equal(view.render(new Map()), old);
  });
  assert.ok(steps > 3, `${steps} steps`);
  const expected = new View(new Map());
  expected.applyPush(push);
  assert.equal(view.render(new Map()), expected.render(new Map()));
});

/** A turn of the event loop: what a push written aside yields to. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

function prepared(families: MetricFamily[], time: number): PushCommand {
  return storeCommand("PUT", "job/big", families, time, { prepared: true });
}

Deno.test("Store: a scrape during a large push sees the old group whole, and the new one once it is answered", async () => {
  await using dir = await tempDir();
  using store = new Store({ path: `${dir.path}/pv.db`, asideMinRows: 1000 });
  using inline = new Store({ path: ":memory:" });
  const first = [gauges("big", N, 1, "h")];
  const second = [gauges("big", N + 20, 2, "h"), gauges("also", N, 3)];
  for (const [time, families] of [[1, first], [2, second]] as const) {
    const old = store.view.render(new Map());
    let answered: PushOutcome | undefined;
    const done = store.enqueuePush(prepared([...families], time))
      .then((outcome) => (answered = outcome));
    let turns = 0;
    while (answered === undefined) {
      assert.equal(store.view.render(new Map()), old);
      await turn();
      turns++;
    }
    // At least one scrape ran while the push was pending (how many turns it
    // took depends on the machine's speed, so that is not asserted).
    assert.ok(turns >= 1, `${turns} turns`);
    assert.deepEqual(await done, { status: 200 });
    await inline.enqueuePush(prepared([...families], time));
    assert.equal(
      store.view.render(new Map()),
      inline.view.render(new Map()),
    );
  }
  assert.equal(keyOf("job/big").id, job.id);
});

Deno.test("A large family pushed again with the same series shares the old entry's keys and still scrapes as in place", () => {
  const big = (value: number, reversed = false, n = N) => {
    const family = gauges("big", n, value, "many");
    if (!reversed) return family;
    return {
      ...family,
      metrics: [...family.metrics].reverse(),
    } as MetricFamily;
  };
  const push = (time: number, family: MetricFamily): ApplyPush => ({
    key: job,
    rowId: 1,
    replaceAll: true,
    time,
    families: [input(family, time)],
  });
  const inPlace = new View(new Map());
  const aside = new View(new Map());
  const same = () => {
    assert.equal(aside.render(new Map()), inPlace.render(new Map()));
    assert.equal(aside.seriesCount, inPlace.seriesCount);
  };
  const keysOf = (view: View) => (view.family("big") as FamilyEntry).keys;
  for (const [i, family] of [big(1), big(2), big(3, true)].entries()) {
    const before = i === 0 ? undefined : keysOf(aside);
    inPlace.applyPush(push(i + 1, family));
    assert.equal(applyStaged(aside, push(i + 1, family)).size, 1);
    if (before !== undefined) assert.equal(keysOf(aside), before);
    same();
  }
  // Built aside but never swapped in (as when its COMMIT fails): the old
  // entry still answers, then changes in place.
  const steps = stagePush(aside, job.id, push(4, big(4)).families);
  while (steps.next().done !== true);
  for (const family of [big(5), big(6, false, N + 3), big(7, true, N - 9)]) {
    inPlace.applyPush(push(5, family));
    aside.applyPush(push(5, family));
    same();
  }
  // Then built aside again, over an entry changed in place.
  for (const family of [big(8, true, N - 9), big(9, false, N - 9)]) {
    inPlace.applyPush(push(6, family));
    assert.equal(applyStaged(aside, push(6, family)).size, 1);
    same();
  }
});
