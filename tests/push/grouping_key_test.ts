import assert from "node:assert/strict";
import {
  decodeBase64Url,
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
  assert.equal(key?.id, '{foo.bar="baz",job="example"}');
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
