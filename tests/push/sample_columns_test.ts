import assert from "node:assert/strict";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { prepareFamily } from "../../src/push/prepare.ts";
import {
  familyColumns,
  LABEL_PART_ROWS,
  sampleRowAt,
  TYPED_MIN_ROWS,
} from "../../src/push/sample_columns.ts";
import { familyToRows } from "../../src/push/sample_rows.ts";
import { textAt } from "../../src/store/text_arena.ts";
import { decodeRendered } from "../../src/push/rendered_blob.ts";
import { renderMetric } from "../../src/exposition/text_render.ts";

/** Families of every type with what rows carry besides a value, `n` metrics each. */
function families(n: number): MetricFamily[] {
  const labels = (i: number) => [
    { name: "id", value: `s${i}` },
    { name: "note", value: i % 7 === 0 ? 'é"\\\n' : "plain" },
  ];
  return [
    {
      name: "g",
      help: "gauges",
      type: "gauge",
      metrics: Array.from({ length: n }, (_, i) => ({
        labels: labels(i),
        value: i % 5 === 0 ? NaN : i % 5 === 1 ? -0 : i * 1.5,
        ...(i % 9 === 0
          ? {
            exemplar: {
              labels: [{ name: "trace", value: `t${i}` }],
              value: 1,
              timestampMs: 1700000000000,
            },
          }
          : {}),
        ...(i % 11 === 0 ? { createdTimestampMs: 1700000000123 } : {}),
      })),
    },
    {
      name: "s",
      help: undefined,
      type: "summary",
      metrics: Array.from({ length: n }, (_, i) => ({
        labels: labels(i),
        sampleCount: i,
        sampleSum: i / 2,
        quantiles: [{ quantile: 0.5, value: i }, {
          quantile: 0.99,
          value: Infinity,
        }],
      })),
    },
    {
      name: "h",
      help: "histograms",
      type: "histogram",
      metrics: Array.from({ length: n }, (_, i) => ({
        labels: labels(i),
        sampleCount: i + 1,
        sampleSum: i,
        buckets: [
          { upperBound: 0.5, cumulativeCount: i },
          { upperBound: Infinity, cumulativeCount: i + 1 },
        ],
        ...(i % 3 === 0 ? { createdTimestampMs: 1700000000000 } : {}),
      })),
    },
  ];
}

Deno.test("the columns of a family hold the rows familyToRows gives, as arrays for a few rows and typed arrays for many", async (t) => {
  const sizes = [0, 3, TYPED_MIN_ROWS, LABEL_PART_ROWS + 5];
  for (const n of sizes) {
    await t.step(`${n} metrics a family`, () => {
      for (const family of families(n)) {
        const columns = familyColumns(family);
        const rows = familyToRows(family);
        assert.equal(columns.count, rows.length);
        assert.equal(
          Array.isArray(columns.values),
          rows.length < TYPED_MIN_ROWS,
        );
        rows.forEach((row, r) => {
          assert.deepEqual(sampleRowAt(columns, family.name, r), row);
        });
      }
    });
  }
});

Deno.test("a prepared family's texts are each metric's lines, joined bytes from many series on", () => {
  for (const family of families(300)) {
    const prepared = prepareFamily(family);
    assert.equal(Array.isArray(prepared.texts), false);
    family.metrics.forEach((metric, i) => {
      assert.equal(
        textAt(prepared.texts, i),
        renderMetric(family.name, family.type, metric),
      );
    });
  }
});

Deno.test("a prepared family's rendered value reads back as its keys and texts, deflated in pieces past a megabyte", () => {
  for (const n of [3, 300, 40_000]) {
    for (const family of families(n)) {
      const prepared = prepareFamily(family);
      const loaded = decodeRendered(
        typeof prepared.rendered === "string"
          ? new TextEncoder().encode(prepared.rendered)
          : prepared.rendered,
      );
      assert.ok(loaded !== undefined);
      assert.deepEqual(loaded.keys, prepared.keys);
      prepared.keys.forEach((_, i) => {
        assert.equal(textAt(loaded.texts, i), textAt(prepared.texts, i));
      });
    }
  }
});
