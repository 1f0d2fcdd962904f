/**
 * Aggregating pushes at the store: sums in the transaction, the group's
 * kind, the contributions and residues rows, the refusals' messages.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Store } from "../../src/store/store.ts";
import type { PushCommand } from "../../src/store/store.ts";
import type { GaugeMode } from "../../src/push/aggregate.ts";
import { tempDir } from "../test_utils.ts";
import { aggregateCommand } from "./aggregate_command.ts";

function push(
  body: string,
  options: {
    method?: "PUT" | "POST";
    aggregate?: GaugeMode | false;
    path?: string;
    time?: number;
  } = {},
): PushCommand {
  return aggregateCommand(body, {
    method: options.method,
    gauge: options.aggregate,
    path: options.path,
    time: options.time ?? 1000,
  });
}

function scrape(store: Store): string {
  return store.view.render(new Map()).split("\n").filter((l) =>
    !l.startsWith("push_") && !l.startsWith("# HELP push_") &&
    !l.startsWith("# TYPE push_") && l !== ""
  ).join("\n");
}

for (const keepHistory of [true, false]) {
  Deno.test(`aggregating pushes add up (history ${keepHistory})`, async (t) => {
    await using dir = await tempDir();
    const path = `${dir.path}/pv.db`;
    using store = new Store({ path, keepHistory });
    await t.step("counters, summaries and histograms are added", () => {
      const body = '# TYPE c counter\nc{a="1"} 3\n' +
        '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 1.5\ns_count 2\n' +
        '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 2.5\nh_count 2\n' +
        "# TYPE g gauge\ng 7\n";
      assert.equal(store.push(push(body)).status, 200);
      assert.equal(
        store.push(
          push(body.replace("g 7", "g 5").replace("} 1\ns_sum", "} 9\ns_sum")),
        ).status,
        200,
      );
      assert.equal(
        scrape(store),
        [
          "# TYPE c counter",
          'c{a="1",instance="",job="agg"} 6',
          "# TYPE g gauge",
          'g{instance="",job="agg"} 5',
          "# TYPE h histogram",
          'h_bucket{instance="",job="agg",le="1"} 2',
          'h_bucket{instance="",job="agg",le="+Inf"} 4',
          'h_sum{instance="",job="agg"} 5',
          'h_count{instance="",job="agg"} 4',
          "# TYPE s summary",
          's{instance="",job="agg",quantile="0.5"} 9',
          's_sum{instance="",job="agg"} 3',
          's_count{instance="",job="agg"} 4',
        ].join("\n"),
      );
    });
    await t.step("0.1 ten times is exactly 1, kept by its residue", () => {
      for (let i = 0; i < 10; i++) {
        store.push(push("# TYPE f counter\nf 0.1\n"));
      }
      assert.match(scrape(store), /^f\{instance="",job="agg"\} 1$/m);
      using db = new DatabaseSync(path, { readOnly: true });
      const rows = db.prepare(
        "SELECT value FROM aggregate_contributions WHERE metric = 'f'",
      ).all();
      assert.equal(rows.length, keepHistory ? 10 : 1);
      for (const r of rows) assert.equal(r.value, 0.1);
    });
    await t.step("a replacing push to it is refused with 409", () => {
      const outcome = store.push(push("c 1\n", { aggregate: false }));
      assert.equal(outcome.status, 409);
      assert.equal(
        outcome.error,
        'group {job="agg"} is an aggregating group: a replacing push (under /metrics/job/…) cannot change it; push it under /aggregate/metrics/job/… or delete the group first',
      );
    });
    await t.step(
      "a different bucket layout is refused, naming the bounds",
      () => {
        const outcome = store.push(
          push(
            '# TYPE h histogram\nh_bucket{le="0.5"} 1\nh_bucket{le="+Inf"} 2\nh_sum 2.5\nh_count 2\n',
          ),
        );
        assert.equal(outcome.status, 400);
        assert.equal(
          outcome.error,
          'pushed metrics are invalid or inconsistent with existing metrics: histogram h{instance="",job="agg"} has buckets le="1",le="+Inf" in this aggregating group; the push has le="0.5",le="+Inf": only histograms with the same bucket bounds are added',
        );
      },
    );
    await t.step(
      "retention removes the replaced versions' contributions and residues",
      () => {
        const count = (table: string) => {
          using db = new DatabaseSync(path, { readOnly: true });
          return Number(
            db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n,
          );
        };
        // f (0.1 ten times) keeps its residue; each current version, the
        // contribution that wrote it (every one of its rows, here).
        store.pruneHistory(1e10, 100_000);
        assert.equal(count("sum_residues"), 1);
        assert.equal(
          count("contributions c, json_each(c.deltas)"),
          count(
            "families f JOIN samples s ON s.family_id = f.id WHERE f.current = 1",
          ),
        );
        assert.match(scrape(store), /^f\{instance="",job="agg"\} 1$/m);
      },
    );
    await t.step("PUT adds the pushed families and drops the others", () => {
      store.push(push('# TYPE c counter\nc{a="1"} 4\n', { method: "PUT" }));
      assert.equal(
        scrape(store),
        '# TYPE c counter\nc{a="1",instance="",job="agg"} 10',
      );
    });
    await t.step("an aggregating push to a replacing group is refused", () => {
      store.push(push("r 1\n", { aggregate: false, path: "job/rep" }));
      const outcome = store.push(push("r 1\n", { path: "job/rep" }));
      assert.equal(outcome.status, 409);
      assert.match(outcome.error ?? "", /is a replacing group/);
    });
    await t.step(
      "after a restart the sums go on from the stored values",
      () => {
        store.close();
        using again = new Store({ path, keepHistory });
        again.push(push('# TYPE c counter\nc{a="1"} 0.5\n'));
        assert.equal(
          scrape(again).split("\n").slice(0, 2).join("\n"),
          '# TYPE c counter\nc{a="1",instance="",job="agg"} 10.5',
        );
        assert.equal(
          again.push(push("r 1\n", { path: "job/rep" })).status,
          409,
        );
        assert.equal(
          again.push(push("c 1\n", { aggregate: false })).status,
          409,
        );
      },
    );
  });
}
