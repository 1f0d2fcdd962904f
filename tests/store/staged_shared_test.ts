import assert from "node:assert/strict";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { makeGroupingKey } from "../../src/push/grouping_key.ts";
import { stagePush } from "../../src/store/staged_family.ts";
import { SHARED_STAGE_MIN_SERIES } from "../../src/store/staged_shared.ts";
import { type ApplyPush, View } from "../../src/store/view.ts";
import { familyInput, gaugeFamily } from "./store_commands.ts";

const N = SHARED_STAGE_MIN_SERIES + 100;

/**
 * `n` gauge series named `name`, labels `g` (the group's, as grouping
 * labels make them) and `i` (and a non-ASCII one).
 */
const gauges = (
  name: string,
  group: string,
  n: number,
  value: number,
  help?: string,
) => gaugeFamily(name, n, value, { help, group });

const input = familyInput;

const key = (job: string) => makeGroupingKey(new Map([["job", job]]));

function push(
  job: string,
  time: number,
  families: MetricFamily[],
  replaceAll = true,
): ApplyPush {
  return {
    key: key(job),
    rowId: time,
    replaceAll,
    time,
    families: families.map((f, i) => input(f, 10 * time + i)),
  };
}

/**
 * Applies `p` after building its large families aside, step by step,
 * calling `between` between steps; returns how many were built aside.
 */
function applyStaged(view: View, p: ApplyPush, between?: () => void) {
  const steps = stagePush(view, p.key.id, p.families);
  let step = steps.next();
  while (step.done !== true) {
    between?.();
    step = steps.next();
  }
  view.applyPush(p, step.value);
  return step.value.size;
}

function assertSame(aside: View, inPlace: View): void {
  assert.equal(aside.render(new Map()), inPlace.render(new Map()));
  assert.equal(aside.seriesCount, inPlace.seriesCount);
  for (const group of inPlace.groups()) {
    assert.deepEqual(
      [...aside.group(group.id)?.families.keys() ?? []],
      [...group.families.keys()],
    );
  }
  assert.deepEqual(
    aside.scrapeSeries("shared")?.keys.filter((k) => k !== "").sort(),
    inPlace.scrapeSeries("shared")?.keys.filter((k) => k !== "").sort(),
  );
}

Deno.test("A large family other groups hold, built aside, scrapes exactly as one put in place", () => {
  const pushes = [
    push("a", 1, [gauges("shared", "a", N, 1)]),
    push("b", 2, [gauges("shared", "b", N, 2, "b's help")]),
    push("c", 3, [gauges("shared", "c", N + 1, 3)]),
    // The same series again, new values and a HELP that comes first.
    push("b", 4, [gauges("shared", "b", N, 4, "")]),
    push("a", 5, [gauges("shared", "a", N, 5, "a's help")]),
    // Other series of a group that holds the family.
    push("c", 6, [gauges("shared", "c", N + 50, 6)]),
    // A POST beside another family; a small one stays in place.
    push("d", 7, [gauges("shared", "d", N, 7), gauges("x", "d", 3, 0)], false),
    push("e", 8, [gauges("shared", "e", 10, 8)]),
  ];
  const inPlace = new View(new Map());
  const aside = new View(new Map());
  const built: number[] = [];
  for (const p of pushes) {
    inPlace.applyPush(p);
    built.push(applyStaged(aside, p));
    assertSame(aside, inPlace);
  }
  assert.deepEqual(built, [1, 1, 1, 1, 1, 1, 1, 0]);
  assert.match(aside.render(new Map()), /^# HELP shared a's help$/m);
  // Later changes in place still find every series where it should be.
  const removal = push("b", 9, [gauges("other", "b", 2, 0)]);
  inPlace.applyPush(removal);
  aside.applyPush(removal);
  inPlace.removeGroup(key("c").id);
  aside.removeGroup(key("c").id);
  assertSame(aside, inPlace);
});

Deno.test("While a shared family is built aside, scrapes see the view as it was, and rewriting its pieces changes nothing", () => {
  const view = new View(new Map());
  view.applyPush(push("a", 1, [gauges("shared", "a", N, 1)]));
  // Put in place: the entry's pieces are left for a scrape to write.
  view.applyPush(push("b", 2, [gauges("shared", "b", 100, 2)]));
  const old = view.render(new Map());
  const p = push("c", 3, [gauges("shared", "c", N, 3)]);
  let steps = 0;
  const built = applyStaged(view, p, () => {
    if (steps++ % 5 === 0) assert.equal(view.render(new Map()), old);
  });
  assert.equal(built, 1);
  assert.ok(steps > 3, `${steps} steps`);
  const expected = new View(new Map());
  expected.applyPush(push("a", 1, [gauges("shared", "a", N, 1)]));
  expected.applyPush(push("b", 2, [gauges("shared", "b", 100, 2)]));
  expected.applyPush(p);
  assertSame(view, expected);
});

Deno.test("A shared family repeating another group's series (checks off) is put in place, shadowed as before", () => {
  const inPlace = new View(new Map());
  const aside = new View(new Map());
  const pushes = [
    push("a", 1, [gauges("shared", "same", N, 1)]),
    push("b", 2, [gauges("shared", "same", N, 2)]),
    push("c", 3, [gauges("shared", "c", N, 3)]),
  ];
  const built: number[] = [];
  for (const p of pushes) {
    inPlace.applyPush(p);
    built.push(applyStaged(aside, p));
    assert.equal(aside.render(new Map()), inPlace.render(new Map()));
    assert.equal(aside.seriesCount, inPlace.seriesCount);
    assert.equal(
      aside.counters.inconsistentSeries,
      inPlace.counters.inconsistentSeries,
    );
  }
  // The second is refused by the copy, the third by the shadowed series.
  assert.deepEqual(built, [1, 0, 0]);
  assert.ok(aside.counters.inconsistentSeries > 0);
});
