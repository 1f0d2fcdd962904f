/**
 * Schema version 5: `groups.key` of a database written before label names
 * were quoted in grouping keys is recomputed from `groups.labels`, so that
 * pushes, deletes and the history find those groups by their key again
 * (docs/database.md). The old rows are written with SQL, as the release
 * before wrote them.
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { makeGroupingKey } from "../../src/push/grouping_key.ts";
import {
  APPLICATION_ID,
  MIGRATIONS,
  SCHEMA_VERSION,
} from "../../src/store/schema.ts";
import { startTestGateway } from "../test_utils.ts";

/** The rows of version 4 with keys in the old form (names never quoted). */
const OLD_GROUPS = [
  {
    id: 1,
    key: '{instance="db1",job="backup"}',
    labels: { instance: "db1", job: "backup" },
    deleted: false,
  },
  {
    id: 2,
    key: '{foo.bar="baz",job="u"}',
    labels: { "foo.bar": "baz", job: "u" },
    deleted: false,
  },
  {
    id: 3,
    key: '{a.b="1",job="gone"}',
    labels: { "a.b": "1", job: "gone" },
    deleted: true,
  },
  // Its new key, {"a."="v",job="j"}, is row 5's old key: a one-pass
  // rewrite would break UNIQUE here.
  {
    id: 4,
    key: '{a.="v",job="j"}',
    labels: { "a.": "v", job: "j" },
    deleted: false,
  },
  {
    id: 5,
    key: '{"a."="v",job="j"}',
    labels: { '"a."': "v", job: "j" },
    deleted: false,
  },
] as const;

const NEW_KEYS = new Map<number, string>([
  [1, '{instance="db1",job="backup"}'],
  [2, '{"foo.bar"="baz",job="u"}'],
  [3, '{"a.b"="1",job="gone"}'],
  [4, '{"a."="v",job="j"}'],
  [5, '{"\\"a.\\""="v",job="j"}'],
]);

/** A version 4 database holding {@link OLD_GROUPS}, one push each. */
function writeVersion4(path: string): void {
  using db = new DatabaseSync(path);
  for (const migration of MIGRATIONS.slice(0, 4)) db.exec(migration as string);
  db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
  db.exec("PRAGMA user_version = 4");
  const group = db.prepare(
    `INSERT INTO groups (id, key, labels, job, created_at, push_time, deleted_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const push = db.prepare(
    `INSERT INTO pushes (time, method, group_id, path, status)
     VALUES (?, 'PUT', ?, '/metrics/job/old', 200)`,
  );
  const now = Date.now() / 1000; // within the history's retention
  for (const g of OLD_GROUPS) {
    group.run(
      g.id,
      g.key,
      JSON.stringify(g.labels),
      g.labels.job,
      now,
      now,
      g.deleted ? now : null,
    );
    push.run(now, g.id);
  }
}

function groupKeys(path: string): Map<number, string> {
  using db = new DatabaseSync(path, { readOnly: true });
  const rows = db.prepare("SELECT id, key FROM groups ORDER BY id").all();
  return new Map(rows.map((r) => [Number(r.id), String(r.key)]));
}

Deno.test("schema v5 rewrites the grouping keys of groups with quoted names", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "pushvault-test-" });
  const path = `${dir}/pv.db`;
  try {
    writeVersion4(path);

    await t.step("groups that once shared a key were one row", () => {
      using db = new DatabaseSync(path);
      assert.throws(
        () =>
          db.prepare(
            "INSERT INTO groups (key, labels, job, created_at) VALUES (?, '{}', 'u', 0)",
          ).run(OLD_GROUPS[1].key),
        /UNIQUE/,
      );
    });

    {
      await using pv = await startTestGateway(["--push.enable-utf8-names"], {
        dir,
      });

      await t.step("every key is the one its labels give now", () => {
        assert.deepEqual(groupKeys(path), NEW_KEYS);
        using db = new DatabaseSync(path, { readOnly: true });
        for (const row of db.prepare("SELECT key, labels FROM groups").all()) {
          const labels = JSON.parse(String(row.labels));
          assert.equal(
            makeGroupingKey(new Map(Object.entries(labels))).id,
            row.key,
          );
        }
        assert.equal(
          Number(db.prepare("PRAGMA user_version").get()?.user_version),
          SCHEMA_VERSION,
        );
      });

      await t.step("a push to a deleted group revives its row", async () => {
        const res = await fetch(`${pv.url}/metrics/job/gone/U__a_2e_b/1`, {
          method: "PUT",
          body: "back 1\n",
        });
        await res.body?.cancel();
        assert.equal(res.status, 200);
        using db = new DatabaseSync(path, { readOnly: true });
        const rows = db.prepare(
          "SELECT id, deleted_at FROM groups WHERE job = 'gone'",
        ).all().map((r) => ({ ...r }));
        assert.deepEqual(rows, [{ id: 3, deleted_at: null }]);
      });

      await t.step("a group's history is found by its key", () => {
        using db = new DatabaseSync(path, { readOnly: true });
        const n = db.prepare(
          "SELECT count(*) AS n FROM push_log WHERE group_key = ?",
        ).get(NEW_KEYS.get(2) as string);
        assert.equal(Number(n?.n), 1);
      });
    }

    await t.step("a second start changes nothing", async () => {
      await using _pv = await startTestGateway([], { dir });
      assert.deepEqual(groupKeys(path), NEW_KEYS);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
