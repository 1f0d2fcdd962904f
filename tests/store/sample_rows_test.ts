import assert from "node:assert/strict";
import fc from "fast-check";
import { jsonString } from "../../src/push/sample_rows.ts";

Deno.test("jsonString() writes what JSON.stringify writes", async (t) => {
  for (
    const text of [
      "",
      "plain",
      'a"b',
      "back\\slash",
      "line\nbreak",
      "\u0000\u001f",
      "\u007f",
      "\u2028\u2029",
      "ünïcödé",
      "😀",
      "\ud800",
      "x\udfffy",
    ]
  ) {
    await t.step(JSON.stringify(text), () => {
      assert.equal(jsonString(text), JSON.stringify(text));
    });
  }
  await t.step("for any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        assert.equal(jsonString(text), JSON.stringify(text));
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});
