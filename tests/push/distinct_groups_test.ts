/**
 * Two grouping keys are never one group, through the real server: with
 * `--push.enable-utf8-names` the label name `a="1",b` (URL
 * `U__a_3d__22_1_22__2c_b`) must not land in the group `{a="1",b="2"}`, and
 * neither group's PUT or DELETE may touch the other (docs/database.md).
 * @module
 */

import assert from "node:assert/strict";
import { startTestGateway } from "../test_utils.ts";

/** The label set `{"a=\"1\",b"="2",job="x"}`, `U__`-escaped in the URL. */
const FORGED = "/metrics/job/x/U__a_3d__22_1_22__2c_b/2";
const PLAIN = "/metrics/job/x/a/1/b/2";

async function request(
  url: string,
  method: "PUT" | "DELETE",
  body?: string,
): Promise<number> {
  const res = await fetch(url, { method, ...(body ? { body } : {}) });
  await res.body?.cancel();
  return res.status;
}

/** Each group's labels (as JSON) → the names of the families it holds. */
async function groups(url: string): Promise<Map<string, string[]>> {
  const res = await fetch(`${url}/api/v1/metrics`);
  assert.equal(res.status, 200);
  const body = await res.json() as {
    data: { labels: Record<string, string>; [family: string]: unknown }[];
  };
  const out = new Map<string, string[]>();
  for (const group of body.data) {
    const labels = Object.entries(group.labels).sort(([a], [b]) =>
      a < b ? -1 : 1
    );
    const families = Object.keys(group).filter((k) =>
      k !== "labels" && k !== "last_push_successful" &&
      k !== "push_time_seconds" && k !== "push_failure_time_seconds"
    ).sort();
    out.set(JSON.stringify(labels), families);
  }
  return out;
}

const FORGED_LABELS = JSON.stringify([['a="1",b', "2"], ["job", "x"]]);
const PLAIN_LABELS = JSON.stringify([["a", "1"], ["b", "2"], ["job", "x"]]);

Deno.test("a UTF-8 label name that spells another group's labels stays its own group", async (t) => {
  await using pv = await startTestGateway(["--push.enable-utf8-names"]);
  assert.equal(await request(`${pv.url}${FORGED}`, "PUT", "forged 1\n"), 200);
  assert.equal(await request(`${pv.url}${PLAIN}`, "PUT", "plain 2\n"), 200);

  await t.step("both groups are stored, each with its own family", async () => {
    assert.deepEqual(
      await groups(pv.url),
      new Map([[FORGED_LABELS, ["forged"]], [PLAIN_LABELS, ["plain"]]]),
    );
  });

  await t.step("a PUT to one leaves the other's families", async () => {
    assert.equal(
      await request(`${pv.url}${FORGED}`, "PUT", "forged_again 3\n"),
      200,
    );
    assert.deepEqual(
      await groups(pv.url),
      new Map([[FORGED_LABELS, ["forged_again"]], [PLAIN_LABELS, ["plain"]]]),
    );
  });

  await t.step("a DELETE of one leaves the other", async () => {
    assert.equal(await request(`${pv.url}${FORGED}`, "DELETE"), 202);
    assert.deepEqual(
      await groups(pv.url),
      new Map([[PLAIN_LABELS, ["plain"]]]),
    );
  });

  await t.step(
    "a DELETE of the other leaves the first, pushed again",
    async () => {
      assert.equal(
        await request(`${pv.url}${FORGED}`, "PUT", "forged 4\n"),
        200,
      );
      assert.equal(await request(`${pv.url}${PLAIN}`, "DELETE"), 202);
      assert.deepEqual(
        await groups(pv.url),
        new Map([[FORGED_LABELS, ["forged"]]]),
      );
    },
  );
});

Deno.test("groups whose keys once collided stay two after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pushvault-test-" });
  try {
    {
      await using pv = await startTestGateway(["--push.enable-utf8-names"], {
        dir,
      });
      assert.equal(
        await request(`${pv.url}${FORGED}`, "PUT", "forged 1\n"),
        200,
      );
      assert.equal(await request(`${pv.url}${PLAIN}`, "PUT", "plain 2\n"), 200);
    }
    await using pv = await startTestGateway(["--push.enable-utf8-names"], {
      dir,
    });
    assert.deepEqual(
      await groups(pv.url),
      new Map([[FORGED_LABELS, ["forged"]], [PLAIN_LABELS, ["plain"]]]),
    );
    assert.equal(await request(`${pv.url}${PLAIN}`, "DELETE"), 202);
    assert.deepEqual(
      await groups(pv.url),
      new Map([[FORGED_LABELS, ["forged"]]]),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bulk delete of a quoted UTF-8 label name deletes only that group", async () => {
  await using pv = await startTestGateway([
    "--push.enable-utf8-names",
    "--web.enable-admin-api",
  ]);
  assert.equal(await request(`${pv.url}${FORGED}`, "PUT", "forged 1\n"), 200);
  assert.equal(await request(`${pv.url}${PLAIN}`, "PUT", "plain 2\n"), 200);
  const match = encodeURIComponent('{"a=\\"1\\",b"="2"}');
  const res = await fetch(`${pv.url}/api/v1/admin/delete?match[]=${match}`, {
    method: "POST",
  });
  assert.equal(res.status, 200);
  const body = await res.json() as { data: { deleted: { key: string }[] } };
  assert.deepEqual(body.data.deleted.map((d) => d.key), [
    '{"a=\\"1\\",b"="2",job="x"}',
  ]);
  assert.deepEqual(
    await groups(pv.url),
    new Map([[PLAIN_LABELS, ["plain"]]]),
  );
});
