import assert from "node:assert/strict";
import {
  MatcherError,
  matchesSelector,
  parseSelector,
} from "../../src/push/matchers.ts";

const FORGED = [{ name: 'a="1",b', value: "2" }, { name: "job", value: "x" }];
const PLAIN = [
  { name: "a", value: "1" },
  { name: "b", value: "2" },
  { name: "job", value: "x" },
];

Deno.test("parseSelector() takes a quoted label name, as Prometheus 3 does", async (t) => {
  const cases = [
    {
      name: "double quotes with escapes",
      selector: '{"a=\\"1\\",b"="2"}',
      label: 'a="1",b',
    },
    {
      name: "single quotes",
      selector: "{'foo.bar'=~\"b.*\"}",
      label: "foo.bar",
    },
    { name: "backquotes", selector: '{`a\\b` != "x"}', label: "a\\b" },
    { name: "a legacy name quoted", selector: '{"job"="x"}', label: "job" },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(parseSelector(c.selector)[0]?.name, c.label);
    });
  }
});

Deno.test("matchesSelector() tells a UTF-8 name from the labels it spells", () => {
  const forged = parseSelector('{"a=\\"1\\",b"="2"}');
  const plain = parseSelector('{a="1",b="2"}');
  assert.equal(matchesSelector(FORGED, forged), true);
  assert.equal(matchesSelector(PLAIN, forged), false);
  assert.equal(matchesSelector(PLAIN, plain), true);
  assert.equal(matchesSelector(FORGED, plain), false);
});

Deno.test("parseSelector() refuses an empty or unterminated quoted name", async (t) => {
  const cases = [
    {
      name: "empty name",
      selector: '{""="x"}',
      message:
        'invalid matcher "{\\"\\"=\\"x\\"}": expected a label name at position 1',
    },
    {
      name: "unterminated name",
      selector: '{"a=1}',
      message: 'invalid matcher "{\\"a=1}": unterminated quoted value',
    },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(() => parseSelector(c.selector), (e: unknown) => {
        assert.ok(e instanceof MatcherError);
        assert.equal(e.message, c.message);
        return true;
      });
    });
  }
});
