import assert from "node:assert/strict";
import fc from "fast-check";
import type { Label, MetricFamily } from "../../src/exposition/model.ts";
import {
  compareSeries,
  compareUtf8,
  sortLabels,
} from "../../src/exposition/sort.ts";
import { seriesKey } from "../../src/push/consistency.ts";
import {
  type GroupingKey,
  makeGroupingKey,
} from "../../src/push/grouping_key.ts";
import { View } from "../../src/store/view.ts";
import { familyInput } from "./store_commands.ts";

/** Characters that stress the key: NUL, separators, surrogate neighbours. */
const CHARS = [
  "",
  "\0",
  "\x01",
  " ",
  "!",
  "A",
  "a",
  "b",
  "é",
  "\uE000",
  "\uFFFF",
  "😀",
];
const labelSet = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom("a", "b", "instance", "job", "le\0"),
    value: fc.array(fc.constantFrom(...CHARS), { maxLength: 4 }).map((p) =>
      p.join("")
    ),
  }),
  { maxLength: 4, selector: (l) => l.name },
).map((labels) => sortLabels(labels));

Deno.test("seriesKey() orders series as compareSeries() does and is unique", () => {
  fc.assert(
    fc.property(labelSet, labelSet, (a, b) => {
      const byKey = Math.sign(compareUtf8(seriesKey(a), seriesKey(b)));
      assert.equal(byKey, Math.sign(compareSeries(a, b)));
      const same = a.length === b.length &&
        a.every((l, i) => l.name === b[i]?.name && l.value === b[i]?.value);
      assert.equal(seriesKey(a) === seriesKey(b), same);
    }),
    { seed: 20261125, numRuns: 5000 },
  );
});

function gauge(name: string, series: [Label[], number][]): MetricFamily {
  return {
    name,
    help: "h",
    type: "gauge",
    metrics: series.map(([labels, value]) => ({ labels, value })),
  };
}

const input = familyInput;

const l = (value: string): Label[] => [{ name: "x", value }];

Deno.test("View keeps the scrape order when a push updates, adds and removes series", async (t) => {
  const key = makeGroupingKey(new Map([["job", "j"]]));
  const other = makeGroupingKey(new Map([["job", "k"]]));
  const steps: { name: string; families: MetricFamily[]; key: typeof key }[] = [
    {
      name: "first push",
      key,
      families: [gauge("m", [[l("b"), 1], [l("a"), 2], [[], 3]])],
    },
    {
      name: "values change",
      key,
      families: [gauge("m", [[l("a"), 5], [l("b"), 4], [[], 6]])],
    },
    {
      name: "another group adds series in between",
      key: other,
      families: [gauge("m", [[l("ab"), 7], [l("0"), 8]])],
    },
    {
      name: "a series goes, another comes",
      key,
      families: [gauge("m", [[l("c"), 9], [l("a"), 10]])],
    },
  ];
  const view = new View(new Map());
  const pushed: { key: typeof key; family: MetricFamily; time: number }[] = [];
  let time = 0;
  for (const step of steps) {
    await t.step(step.name, () => {
      time++;
      view.applyPush({
        key: step.key,
        rowId: 1,
        replaceAll: true,
        families: step.families.map((f) => input(f, time, time)),
        time,
      });
      for (const family of step.families) {
        pushed.push({ key: step.key, family, time });
      }
      // A view built in one go from the latest push of each group.
      const fresh = new View(new Map());
      const latest = new Map<string, (typeof pushed)[number]>();
      for (const p of pushed) latest.set(p.key.id, p);
      for (const p of latest.values()) {
        fresh.applyPush({
          key: p.key,
          rowId: 1,
          replaceAll: true,
          families: [input(p.family, p.time, p.time)],
          time: p.time,
        });
      }
      assert.equal(view.render(new Map()), fresh.render(new Map()));
      assert.equal(view.seriesCount, fresh.seriesCount);
    });
  }
  assert.match(
    view.render(new Map()),
    /^m\{x="0"\} 8\nm\{x="a"\} 10\nm\{x="ab"\} 7\nm\{x="c"\} 9\n/m,
  );
});

Deno.test("A view restored at start-up, indexed later, equals one built by pushes, duplicates included", () => {
  // Stores written with --push.disable-consistency-check may hold the same
  // series in two groups or twice in one family; the first one wins.
  const series = fc.array(
    fc.tuple(
      fc.constantFrom(...["", "a", "b", "é", "\uFFFF"].map(l)),
      fc.integer({ min: 0, max: 9 }),
    ),
    { maxLength: 4 },
  );
  const family = fc.record({
    name: fc.constantFrom("m", "n"),
    type: fc.constantFrom("gauge" as const, "counter" as const),
    series,
  });
  const groups = fc.array(
    fc.uniqueArray(family, { maxLength: 2, selector: (f) => f.name }),
    { minLength: 1, maxLength: 4 },
  );
  fc.assert(
    fc.property(
      groups,
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 50 }),
      (spec, deleted, budget) => {
        const keys = spec.map((_, g) =>
          makeGroupingKey(new Map([["job", `g${g}`]]))
        );
        const families = spec.map((fs, g) =>
          fs.map((f, i) => ({
            ...gauge(f.name, f.series),
            type: f.type,
            metrics: f.series.map(([labels, value]) => ({ labels, value })),
            rowId: 10 * g + i,
          }))
        );
        const pushed = new View(new Map());
        spec.forEach((_, g) =>
          pushed.applyPush({
            key: keys[g] as GroupingKey,
            rowId: g,
            replaceAll: true,
            families: (families[g] ?? []).map((f) =>
              input(f as MetricFamily, f.rowId, 1)
            ),
            time: 1,
          })
        );
        const restored = new View(new Map());
        spec.forEach((_, g) =>
          restored.loadGroup(keys[g] as GroupingKey, g, {
            pushTime: 1,
            failureTime: 0,
            ttl: undefined,
            createdAt: 1,
          })
        );
        spec.forEach((_, g) => {
          for (const f of families[g] ?? []) {
            restored.loadFamily(
              (keys[g] as GroupingKey).id,
              input(f as MetricFamily, f.rowId, 1),
            );
          }
        });
        assert.equal(restored.render(new Map()), pushed.render(new Map()));
        while (restored.indexSome(budget)) { /* a slice at a time */ }
        assert.equal(restored.render(new Map()), pushed.render(new Map()));
        assert.equal(restored.seriesCount, pushed.seriesCount);
        assert.equal(
          restored.counters.inconsistentSeries,
          pushed.counters.inconsistentSeries,
        );
        // Deleting a group brings up the series it shadowed.
        const gone = keys[deleted % keys.length] as GroupingKey;
        pushed.removeGroup(gone.id);
        restored.removeGroup(gone.id);
        assert.equal(restored.render(new Map()), pushed.render(new Map()));
        assert.equal(restored.seriesCount, pushed.seriesCount);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("A family restored twice for one group (a damaged file) keeps the second", () => {
  const key = makeGroupingKey(new Map([["job", "j"]]));
  const view = new View(new Map());
  view.loadGroup(key, 1, {
    pushTime: 1,
    failureTime: 0,
    ttl: undefined,
    createdAt: 1,
  });
  view.loadFamily(key.id, input(gauge("m", [[l("a"), 1]]), 1, 1));
  view.loadFamily(key.id, input(gauge("m", [[l("b"), 2]]), 2, 1));
  const text = view.render(new Map());
  assert.match(text, /^m\{x="b"\} 2$/m);
  assert.doesNotMatch(text, /x="a"/);
  assert.equal(view.group(key.id)?.families.get("m")?.rowId, 2);
});

Deno.test("A view restored at start-up, sorted a slice at a time while pushes change it, equals one built by pushes", async (t) => {
  // Big enough for several runs and merge passes of the background sort.
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const word = () =>
    Array.from(
      { length: 1 + Math.floor(random() * 4) },
      () => CHARS[Math.floor(random() * CHARS.length)],
    ).join("");
  const family = (keys: readonly string[], value: number) =>
    gauge("m", keys.map((k) => [l(k), value]));
  const words = (n: number) => [...new Set(Array.from({ length: n }, word))];
  const cases = [
    // Indexing takes about 5,000 / budget steps, sorting about 8 times as
    // many: the pushes come while the series are being sorted.
    { name: "small slices", budget: 97, pushAt: [100, 200, 400], renderAt: -1 },
    // Over 4k series: its pieces are written a slice at a time, and
    // the pushes come while they are.
    {
      name: "a big family",
      budget: 2000,
      size: 40_000,
      pushAt: [100, 150, 250],
      renderAt: -1,
    },
    { name: "large slices", budget: 2000, pushAt: [4, 6, 9], renderAt: -1 },
    {
      name: "a scrape in the middle",
      budget: 97,
      pushAt: [100, 200, 400],
      renderAt: 300,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const groups = [0, 1].map((g) =>
        makeGroupingKey(new Map([["job", `g${g}`]]))
      );
      const size = "size" in c ? c.size : 3000;
      const first = [
        Array.from({ length: size }, (_, i) => `0${word()}${i}`),
        words(2500),
      ];
      const pushed = new View(new Map());
      const restored = new View(new Map());
      groups.forEach((key, g) => {
        const f = input(family(first[g] ?? [], 1), g, 1);
        pushed.applyPush({
          key,
          rowId: g,
          replaceAll: true,
          families: [f],
          time: 1,
        });
        restored.loadGroup(key, g, {
          pushTime: 1,
          failureTime: 0,
          ttl: undefined,
          createdAt: 1,
        });
        restored.loadFamily(key.id, f);
      });
      const both = (key: GroupingKey, keys: readonly string[], v: number) => {
        for (const view of [pushed, restored]) {
          view.applyPush({
            key,
            rowId: 9,
            replaceAll: true,
            families: [input(family(keys, v), 10 + v, 2)],
            time: 2,
          });
        }
      };
      for (let step = 0; step < 100_000; step++) {
        const [a, b, d] = c.pushAt as [number, number, number];
        if (step === a) both(groups[0] as GroupingKey, first[0] ?? [], 2);
        if (step === b) {
          const kept = (first[1] ?? []).filter((_, i) => i % 2 === 0);
          both(groups[1] as GroupingKey, [...kept, ...words(700)], 3);
        }
        if (step === d) {
          both(makeGroupingKey(new Map([["job", "g2"]])), words(1500), 4);
        }
        if (step === c.renderAt) restored.render(new Map());
        if (!restored.indexSome(c.budget) && step > d) break;
      }
      assert.equal(restored.render(new Map()), pushed.render(new Map()));
      assert.equal(restored.seriesCount, pushed.seriesCount);
      // The texts are found where the last build put them.
      both(groups[1] as GroupingKey, first[1] ?? [], 5);
      assert.equal(restored.render(new Map()), pushed.render(new Map()));
    });
  }
});
