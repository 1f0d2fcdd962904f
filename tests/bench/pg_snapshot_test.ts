/**
 * Tests of scripts/bench/pg_snapshot.ts: the gob encoding of a tiny group
 * against the bytes Pushgateway 1.5.1 persisted for the same push, and,
 * with the real binary, that a Pushgateway restored from a snapshot of 20
 * workload groups serves the same `/metrics` as one that received the 20
 * pushes over HTTP.
 * @module
 */

import assert from "node:assert/strict";
import {
  encodeSnapshot,
  encodeSnapshotChunks,
  familiesFromText,
  GOB_TYPE_DEFINITIONS,
  groupingLabelsFromPath,
  workloadGroup,
  workloadGroups,
} from "../../scripts/bench/pg_snapshot.ts";
import {
  preloadBody,
  preloadPath,
  SERIES_PER_GROUP,
  TEXT_CONTENT_TYPE,
} from "../../scripts/bench/workload.ts";
import { pushgatewayInstalled, withProcesses } from "../e2e/process_utils.ts";
import { tempDir } from "../test_utils.ts";

const hex = (bytes: Uint8Array): string =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The value message (after the type definitions) that Pushgateway 1.5.1
 * persisted after `curl --data-binary @a.txt …/metrics/job/a/instance/x`
 * with `a.txt` = {@link TINY_BODY}. Its map entries happen to be in the
 * writer's order (Go's is random).
 */
const REAL_VALUE_HEX = [
  "fe01dfff8e000110696e7374616e6365ff78ff6a6f62ff610102036a6f62016108696e73",
  "74616e636501780103026731010f010000000ee298e4310de4894a0000013e0a02673112",
  "08412067617567652e1801222c0a0d0a08696e7374616e63651201780a080a036a6f6212",
  "01610a060a01781201311209090000000000000c400011707573685f74696d655f736563",
  "6f6e6473010f010000000ee298e4310de4894a000001ff820a11707573685f74696d655f",
  "7365636f6e647312454c61737420556e69782074696d65207768656e206368616e67696e",
  "6720746869732067726f757020696e207468652050757368676174657761792073756363",
  "65656465642e180122240a0d0a08696e7374616e63651201780a080a036a6f6212016112",
  "0909cdea4e4cbbc1da410019707573685f6661696c7572655f74696d655f7365636f6e64",
  "73010f010000000ee298e4310de4894a000001ff870a19707573685f6661696c7572655f",
  "74696d655f7365636f6e647312424c61737420556e69782074696d65207768656e206368",
  "616e67696e6720746869732067726f757020696e20746865205075736867617465776179",
  "206661696c65642e180122240a0d0a08696e7374616e63651201780a080a036a6f621201",
  "6112090900000000000000000000",
].join("");
const TINY_BODY = '# HELP g1 A gauge.\n# TYPE g1 gauge\ng1{x="1"} 3.5\n';
/** Its `time.Time` (ns precision, local zone UTC: offset 0) … */
const REAL_TIME_HEX = "010000000ee298e4310de4894a0000";
/** … and its push_time_seconds value, float64 little-endian. */
const REAL_PUSH_TIME_HEX = "cdea4e4cbbc1da41";
/** That time truncated to ms. */
const REAL_PUSHED_AT_MS = (0x0ee298e431 - 62_135_596_800) * 1000 +
  Math.floor(0x0de4894a / 1e6);

Deno.test("pg_snapshot: a tiny group encodes as 1.5.1 persisted it", () => {
  const labels = { job: "a", instance: "x" };
  const file = encodeSnapshot([{
    labels,
    families: familiesFromText(TINY_BODY, labels),
    pushedAtMs: REAL_PUSHED_AT_MS,
  }]);
  assert.equal(
    hex(file.subarray(0, GOB_TYPE_DEFINITIONS.length)),
    hex(GOB_TYPE_DEFINITIONS),
  );
  // Ours has ms precision and the UTC zone (offset -1): swap in the real
  // time before comparing.
  const time = new DataView(new ArrayBuffer(15));
  time.setUint8(0, 1);
  time.setBigInt64(
    1,
    BigInt(Math.floor(REAL_PUSHED_AT_MS / 1000)) + 62_135_596_800n,
  );
  time.setInt32(9, (REAL_PUSHED_AT_MS % 1000) * 1_000_000);
  time.setInt16(13, -1);
  const pushTime = new DataView(new ArrayBuffer(8));
  pushTime.setFloat64(0, REAL_PUSHED_AT_MS / 1000, true);
  const value = hex(file.subarray(GOB_TYPE_DEFINITIONS.length))
    .replaceAll(hex(new Uint8Array(time.buffer)), REAL_TIME_HEX)
    .replace(hex(new Uint8Array(pushTime.buffer)), REAL_PUSH_TIME_HEX);
  assert.equal(value, REAL_VALUE_HEX);
});

Deno.test("pg_snapshot: grouping labels come from the push path", () => {
  assert.deepStrictEqual(groupingLabelsFromPath(preloadPath(3)), {
    job: "db-vacuum",
    instance: "worker-00003.example.org:9100",
  });
  assert.deepStrictEqual(
    groupingLabelsFromPath("/metrics/job/j/b@base64/eA/a/1"),
    {
      job: "j",
      a: "1",
      b: "x",
    },
  );
});

Deno.test("pg_snapshot: the chunks concatenate to the file", () => {
  const groups = [...workloadGroups(3, 1_800_000_000_000)];
  const chunks = encodeSnapshotChunks(groups);
  const file = encodeSnapshot(groups);
  assert.equal(chunks.length, 2 + 3);
  assert.equal(chunks.reduce((n, c) => n + c.length, 0), file.length);
  assert.equal(workloadGroup(0, 1).families.size, 6);
});

/** Lines of the pushed families, without the push_time_seconds samples. */
function pushedLines(text: string, names: ReadonlySet<string>): string[] {
  return text.split("\n").filter((line) => {
    const name = /^(?:# (?:HELP|TYPE) )?([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(
      line,
    )?.[1];
    if (name === undefined) return false;
    const family = name.replace(/_(bucket|sum|count)$/, "");
    if (!names.has(name) && !names.has(family)) return false;
    return !line.startsWith("push_time_seconds{");
  });
}

async function get(url: string): Promise<string> {
  const res = await fetch(url);
  const text = await res.text();
  assert.equal(res.status, 200, `${url}: ${text}`);
  return text;
}

Deno.test({
  name:
    "pg_snapshot: a Pushgateway restored from a snapshot serves what 20 pushes leave",
  ignore: !pushgatewayInstalled(),
  async fn() {
    const GROUPS = 20;
    await using dir = await tempDir();
    const pushedAtMs = Date.now();
    const snapshot = `${dir.path}/snapshot.gob`;
    await Deno.writeFile(
      snapshot,
      encodeSnapshot(workloadGroups(GROUPS, pushedAtMs)),
    );
    await withProcesses(async (group) => {
      const restored = await group.pushgateway([
        `--persistence.file=${snapshot}`,
      ]);
      const pushed = await group.pushgateway();
      for (let g = 0; g < GROUPS; g++) {
        const res = await fetch(`${pushed.url}${preloadPath(g)}`, {
          method: "POST",
          headers: { "content-type": TEXT_CONTENT_TYPE },
          body: preloadBody(g),
        });
        assert.equal(res.status, 200, await res.text());
      }
      const names = new Set([
        ...workloadGroup(0, pushedAtMs).families.keys(),
        "push_time_seconds",
        "push_failure_time_seconds",
      ]);
      const fromSnapshot = await get(`${restored.url}/metrics`);
      const fromPushes = await get(`${pushed.url}/metrics`);
      const lines = pushedLines(fromSnapshot, names);
      assert.deepStrictEqual(lines, pushedLines(fromPushes, names));
      // Every pushed series, 20 push_failure_time_seconds and the HELP and
      // TYPE lines of 6 + 2 families (histogram buckets, _sum, _count
      // count as series here as in SERIES_PER_GROUP).
      assert.deepStrictEqual(
        lines.length,
        GROUPS * (SERIES_PER_GROUP + 1) + 8 * 2,
      );

      // The push times are the snapshot's.
      const times = fromSnapshot.split("\n").filter((l) =>
        l.startsWith("push_time_seconds{")
      );
      assert.equal(times.length, GROUPS);
      for (const line of times) {
        const seconds = Number(line.slice(line.lastIndexOf(" ") + 1));
        assert.ok(Math.abs(seconds - pushedAtMs / 1000) < 1e-6, line);
      }

      for (const server of [restored, pushed]) {
        const api = JSON.parse(await get(`${server.url}/api/v1/metrics`)) as {
          readonly status: string;
          readonly data: readonly unknown[];
        };
        assert.equal(api.status, "success");
        assert.equal(api.data.length, GROUPS);
      }
    });
  },
});
