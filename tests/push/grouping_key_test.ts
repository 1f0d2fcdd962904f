import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeBase64Url,
  makeGroupingKey,
  parseGroupingKey,
  unescapeUtf8Name,
} from "../../src/push/grouping_key.ts";
import { PushError } from "../../src/push/push_error.ts";

const ACCEPTED = [
  { name: "job only", path: "job/j1", id: '{job="j1"}' },
  { name: "single trailing slash", path: "job/j1/", id: '{job="j1"}' },
  {
    name: "name with trailing slash is an empty value",
    path: "job/j1/instance/",
    id: '{instance="",job="j1"}',
  },
  { name: "later pairs win", path: "job/j3/a/1/a/2", id: '{a="2",job="j3"}' },
  {
    name: "the job segment wins over a job pair",
    path: "job/j3/job/other",
    id: '{job="j3"}',
  },
  {
    name: "base64 value without padding",
    path: "job/j/dir@base64/L3Zhci90bXA",
    id: '{dir="/var/tmp",job="j"}',
  },
  {
    name: "base64 value with one =",
    path: "job/j/dir@base64/L3Zhci90bXA=",
    id: '{dir="/var/tmp",job="j"}',
  },
  {
    name: "base64 value with three =",
    path: "job/j/dir@base64/L3Zhci90bXA===",
    id: '{dir="/var/tmp",job="j"}',
  },
  {
    name: "= alone is the empty value",
    path: "job/example/first_label@base64/=/second_label/foobar",
    id: '{first_label="",job="example",second_label="foobar"}',
  },
  {
    name: "base64 job",
    path: "job@base64/L3Zhci90bXA",
    id: '{job="/var/tmp"}',
  },
  {
    name: "U__ names stay literal without the UTF-8 option",
    path: "job/u8/U__a_2e_b/v",
    id: '{U__a_2e_b="v",job="u8"}',
  },
  {
    name: "labels are sorted",
    path: "job/j/z/1/a/2",
    id: '{a="2",job="j",z="1"}',
  },
  {
    name: "quotes and backslashes are escaped in the id",
    path: 'job/j/a/x"y\\z',
    id: '{a="x\\"y\\\\z",job="j"}',
  },
] as const;

const REFUSED = [
  {
    name: "odd component count",
    path: "job/j1/instance",
    message: 'odd number of components in label string "/instance"',
  },
  {
    name: "trailing slash after a pair",
    path: "job/j1/instance/i1/",
    message: 'odd number of components in label string "/instance/i1/"',
  },
  {
    name: "__name__",
    path: "job/j3/__name__/x",
    message: 'improper label name "__name__"',
  },
  {
    name: "leading digit",
    path: "job/j3/1abc/x",
    message: 'improper label name "1abc"',
  },
  { name: "dash", path: "job/j3/a-b/x", message: 'improper label name "a-b"' },
  {
    name: "double @base64",
    path: "job/j3/x@base64@base64/YQ",
    message: 'improper label name "x@base64"',
  },
  {
    name: "empty name",
    path: "job/j3/@base64/YQ",
    message: 'improper label name ""',
  },
  {
    name: "base64 with +",
    path: "job/j/x@base64/L3Zhci90bXA+",
    message:
      'invalid base64 encoding for label x="L3Zhci90bXA+": illegal base64 data at input byte 11',
  },
  {
    name: "base64 of one character",
    path: "job/j/x@base64/a",
    message:
      'invalid base64 encoding for label x="a": illegal base64 data at input byte 0',
  },
  {
    name: "invalid base64 job",
    path: "job@base64/!!",
    message:
      'invalid base64 encoding in job name "": illegal base64 data at input byte 0',
  },
  {
    name: "empty base64 job",
    path: "job@base64/=",
    message: "job name is required",
  },
  {
    name: "base64 value that is not UTF-8",
    path: "job/j/a@base64/_w",
    message:
      'invalid UTF-8 in the value of grouping label a (base64 "_w"): label values must be valid UTF-8',
  },
] as const;

Deno.test("parseGroupingKey() accepts the Pushgateway's URL forms", async (t) => {
  for (const c of ACCEPTED) {
    await t.step(c.name, () => {
      assert.equal(parseGroupingKey(c.path)?.id, c.id);
    });
  }
});

Deno.test("parseGroupingKey() refuses bad URLs with the Pushgateway's messages", async (t) => {
  for (const c of REFUSED) {
    await t.step(c.name, () => {
      assert.throws(() => parseGroupingKey(c.path), (e) => {
        assert.ok(e instanceof PushError);
        assert.equal(e.kind, "invalid");
        assert.equal(e.message, c.message);
        return true;
      });
    });
  }
});

Deno.test("parseGroupingKey() returns undefined for paths that are not push routes", () => {
  assert.equal(parseGroupingKey("jobs/x"), undefined);
  assert.equal(parseGroupingKey("job/"), undefined);
});

Deno.test("parseGroupingKey() unescapes U__ names with the UTF-8 option", () => {
  const key = parseGroupingKey("job/example/U__foo_2e_bar@base64/YmF6", {
    utf8Names: true,
  });
  assert.equal(key?.id, '{"foo.bar"="baz",job="example"}');
});

Deno.test("parseGroupingKey() quotes a UTF-8 name, so it cannot spell other labels", async (t) => {
  const cases = [
    {
      name: "a name holding =, quotes and a comma",
      path: "job/x/U__a_3d__22_1_22__2c_b/2",
      id: '{"a=\\"1\\",b"="2",job="x"}',
    },
    {
      name: "the labels that name spells",
      path: "job/x/a/1/b/2",
      id: '{a="1",b="2",job="x"}',
    },
    {
      name: "a name holding a backslash and a newline",
      path: "job/x/U__a_5c__a_b/v",
      id: '{"a\\\\\\nb"="v",job="x"}',
    },
    {
      name: "a name with a leading digit",
      path: "job/x/U___31_a/v",
      id: '{"1a"="v",job="x"}',
    },
    {
      name: "a legacy name stays bare",
      path: "job/x/U__a__b/v",
      id: '{a_b="v",job="x"}',
    },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(parseGroupingKey(c.path, { utf8Names: true })?.id, c.id);
    });
  }
});

Deno.test("unescapeUtf8Name() leaves invalid sequences unchanged", () => {
  assert.equal(unescapeUtf8Name("U__a_2e_b"), "a.b");
  assert.equal(unescapeUtf8Name("U__a__b"), "a_b");
  assert.equal(unescapeUtf8Name("U__a_zz_b"), "U__a_zz_b");
  assert.equal(unescapeUtf8Name("U__a_2e"), "U__a_2e");
});

Deno.test("decodeBase64Url() skips CR and LF and tolerates trailing bits", () => {
  assert.deepEqual(decodeBase64Url("YW\nJj"), new TextEncoder().encode("abc"));
  assert.deepEqual(decodeBase64Url("YR"), new TextEncoder().encode("a"));
});

Deno.test("parseGroupingKey() answers a path seen before with the same key, and still refuses a bad one", () => {
  const first = parseGroupingKey("job/cached/instance/a");
  assert.deepEqual(parseGroupingKey("job/cached/instance/a"), first);
  assert.equal(first?.id, '{instance="a",job="cached"}');
  for (let i = 0; i < 2; i++) {
    assert.throws(
      () => parseGroupingKey("job@base64/!!"),
      (e: unknown) => e instanceof PushError,
    );
  }
  // Past the bound the cache starts over; answers stay the same.
  for (let i = 0; i < 10_050; i++) parseGroupingKey(`job/j/instance/${i}`);
  assert.deepEqual(parseGroupingKey("job/cached/instance/a"), first);
});

/** Characters that could forge a separator, and some that cannot. */
const TRICKY = [
  "=",
  '"',
  ",",
  "{",
  "}",
  "\\",
  "\n",
  " ",
  "a",
  "b",
  "_",
  "1",
  "é",
  "😀",
] as const;
const trickyText = fc.array(fc.constantFrom(...TRICKY), { maxLength: 6 })
  .map((chars) => chars.join(""));
const anyText = fc.oneof(trickyText, fc.string({ unit: "binary" }));
const labelSet = (text: fc.Arbitrary<string>) =>
  fc.uniqueArray(fc.tuple(text.filter((n) => n !== ""), text), {
    selector: ([name]) => name,
    maxLength: 4,
  });

/**
 * Reads a canonical key back into its labels; throws on anything that is not
 * exactly the canonical form. Keys that read back to their labels cannot be
 * shared by two label sets.
 */
function readKey(id: string): Map<string, string> {
  const labels = new Map<string, string>();
  let i = 0;
  const expect = (c: string) => {
    if (id[i] !== c) throw new Error(`expected ${c} at ${i} in ${id}`);
    i++;
  };
  const quoted = () => {
    expect('"');
    let out = "";
    while (id[i] !== '"') {
      if (i >= id.length) throw new Error(`unterminated string in ${id}`);
      if (id[i] === "\\") {
        const next = id[i + 1];
        if (next === "n") out += "\n";
        else if (next === "\\" || next === '"') out += next;
        else throw new Error(`bad escape at ${i} in ${id}`);
        i += 2;
      } else {
        out += id[i];
        i++;
      }
    }
    i++;
    return out;
  };
  expect("{");
  while (id[i] !== "}") {
    if (labels.size > 0) expect(",");
    let name: string;
    if (id[i] === '"') {
      name = quoted();
      assert.doesNotMatch(
        name,
        /^[a-zA-Z_][a-zA-Z0-9_]*$/,
        "quoted legacy name",
      );
    } else {
      name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(id.slice(i))?.[0] ?? "";
      if (name === "") throw new Error(`expected a name at ${i} in ${id}`);
      i += name.length;
    }
    expect("=");
    assert.ok(!labels.has(name), `name ${name} twice in ${id}`);
    labels.set(name, quoted());
  }
  expect("}");
  assert.equal(i, id.length, `trailing text in ${id}`);
  return labels;
}

Deno.test("makeGroupingKey() gives every label set a key that reads back to it", () => {
  fc.assert(
    fc.property(labelSet(anyText), (entries) => {
      const labels = new Map(entries);
      assert.deepEqual(readKey(makeGroupingKey(labels).id), labels);
    }),
    { seed: 9, numRuns: 5000 },
  );
});

Deno.test("makeGroupingKey() gives two different label sets two different keys", () => {
  const sameSet = (a: Map<string, string>, b: Map<string, string>) =>
    a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
  fc.assert(
    fc.property(labelSet(trickyText), labelSet(trickyText), (x, y) => {
      const a = new Map(x);
      const b = new Map(y);
      assert.equal(
        makeGroupingKey(a).id === makeGroupingKey(b).id,
        sameSet(a, b),
      );
    }),
    { seed: 9, numRuns: 20_000 },
  );
  // The pair that once shared a group, and its like for every tricky value.
  fc.assert(
    fc.property(trickyText, trickyText, trickyText, (a, b, c) => {
      const escaped = (v: string) =>
        v.replace(/[\\"\n]/g, (ch) => ch === "\n" ? "\\n" : `\\${ch}`);
      const forged = new Map([[`a="${escaped(a)}",b`, b], ["job", c]]);
      const plain = new Map([["a", a], ["b", b], ["job", c]]);
      assert.notEqual(makeGroupingKey(forged).id, makeGroupingKey(plain).id);
    }),
    { seed: 9, numRuns: 1000 },
  );
});

Deno.test("makeGroupingKey() gives a label set the same key in any order", () => {
  fc.assert(
    fc.property(
      labelSet(anyText).chain((entries) =>
        fc.tuple(
          fc.constant(entries),
          fc.shuffledSubarray(entries, {
            minLength: entries.length,
            maxLength: entries.length,
          }),
        )
      ),
      ([entries, shuffled]) => {
        assert.equal(
          makeGroupingKey(new Map(shuffled)).id,
          makeGroupingKey(new Map(entries)).id,
        );
      },
    ),
    { seed: 9, numRuns: 2000 },
  );
});

/** The key as every release before quoted names wrote it. */
function legacyKey(labels: Map<string, string>): string {
  const sorted = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${
    sorted.map(([name, value]) =>
      `${name}="${
        value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))
      }"`
    ).join(",")
  }}`;
}

Deno.test("makeGroupingKey() keeps the key legacy-named groups always had", async (t) => {
  await t.step("a fixed case", () => {
    assert.equal(
      makeGroupingKey(
        new Map([["job", "backup"], ["instance", 'db"1\\\n'], ["_x9", ""]]),
      ).id,
      '{_x9="",instance="db\\"1\\\\\\n",job="backup"}',
    );
  });
  await t.step("any legacy names with any values", () => {
    const legacyName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(legacyName, anyText), {
          selector: ([name]) => name,
          maxLength: 5,
        }),
        (entries) => {
          const labels = new Map(entries);
          assert.equal(makeGroupingKey(labels).id, legacyKey(labels));
        },
      ),
      { seed: 9, numRuns: 2000 },
    );
  });
});
