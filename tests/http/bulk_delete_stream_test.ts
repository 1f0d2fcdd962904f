import assert from "node:assert/strict";
import { handleBulkDelete } from "../../src/http/admin.ts";
import { PIECE } from "../../src/store/text_arena.ts";
import { startTestGateway } from "../test_utils.ts";

const GROUPS = 2000;

Deno.test("POST /api/v1/admin/delete?dry_run=true lists many groups in 64 KiB reads, in the documented shape", async () => {
  await using pv = await startTestGateway(["--web.enable-admin-api"]);
  let next = 0;
  const pusher = async () => {
    while (next < GROUPS) {
      const i = next++;
      const job = i % 2 === 0 ? "batch" : "other";
      const res = await fetch(
        `${pv.url}/metrics/job/${job}/instance/ci-${
          String(i).padStart(5, "0")
        }`,
        { method: "PUT", body: "x 1\n" },
      );
      await res.body?.cancel();
      assert.equal(res.status, 200);
    }
  };
  await Promise.all(Array.from({ length: 8 }, pusher));
  const store = pv.gw.store;
  const expected = [...store.view.groups()]
    .filter((g) => g.key.job === "batch")
    .map((g) => ({
      key: g.id,
      labels: Object.fromEntries(g.key.labels.map((l) => [l.name, l.value])),
    }));
  const res = handleBulkDelete(
    new Request(
      `http://127.0.0.1/api/v1/admin/delete?match[]=${
        encodeURIComponent('{job="batch"}')
      }&dry_run=true`,
      { method: "POST" },
    ),
    { store, now: () => Date.now() },
    null,
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body as ReadableStream<Uint8Array>) {
    chunks.push(chunk);
  }
  // Built whole, the answer was one string sent as one chunk.
  assert.ok(chunks.length > 1, `${chunks.length} chunk(s)`);
  for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.length, PIECE);
  const text = new TextDecoder().decode(
    new Uint8Array(chunks.flatMap((c) => [...c])),
  );
  assert.deepEqual(JSON.parse(text), {
    status: "success",
    data: { dry_run: true, deleted: expected },
  });
  assert.match(
    text,
    /^\{"status":"success","data":\{"dry_run":true,"deleted":\[\{"key":"\{instance=\\"ci-\d{5}\\",job=\\"batch\\"\}","labels":\{"instance":"ci-\d{5}","job":"batch"\}\},/,
  );
  assert.equal(store.view.groupCount, GROUPS, "a dry run deletes nothing");
});
