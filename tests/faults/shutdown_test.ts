import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { tempDir } from "../test_utils.ts";
import { pushvaultArgs, withProcesses } from "../e2e/process_utils.ts";

const encoder = new TextEncoder();

async function readResponse(conn: Deno.Conn): Promise<string> {
  const chunks: string[] = [];
  const buf = new Uint8Array(4096);
  const decoder = new TextDecoder();
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(decoder.decode(buf.subarray(0, n), { stream: true }));
    const text = chunks.join("");
    const length = /content-length: (\d+)/i.exec(text)?.[1];
    const head = text.indexOf("\r\n\r\n");
    if (head >= 0 && length !== undefined) {
      if (text.length >= head + 4 + Number(length)) return text;
    }
  }
  return chunks.join("");
}

Deno.test("pushvault on SIGTERM finishes the push in flight, checkpoints the WAL and exits 0", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/pv.db`;
  await withProcesses(async (group) => {
    const server = await group.pushvault({ dbPath });
    const { hostname, port } = new URL(server.url);
    const body = "inflight_value 42\n";
    const conn = await Deno.connect({ hostname, port: Number(port) });
    try {
      await conn.write(encoder.encode(
        `PUT /metrics/job/inflight HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${
          body.slice(0, 5)
        }`,
      ));
      // The request has reached the handler, which waits for the body.
      await new Promise((resolve) => setTimeout(resolve, 200));
      server.process.signal("SIGTERM");
      await server.process.waitForLog(/msg="shutting down"/, 10_000);

      // A new request is not served any more: refused, or answered 503
      // while the request in flight drains (see start.ts).
      const late = await fetch(`${server.url}/metrics/job/late`, {
        method: "PUT",
        body: "late 1\n",
      }).then(
        async (res) => {
          await res.body?.cancel();
          return res.status;
        },
        () => "refused",
      );
      assert.ok(late === 503 || late === "refused", String(late));

      await conn.write(encoder.encode(body.slice(5)));
      const response = await readResponse(conn);
      assert.match(response, /^HTTP\/1\.1 200 OK\r\n/);
    } finally {
      conn.close();
    }
    const status = await server.process.wait();
    assert.equal(status.code, 0, server.process.stderr());
    assert.match(server.process.stderr(), /msg="database closed"/);
  });

  // Checkpointed: the WAL is empty or gone, the push is in the main file.
  let walSize = 0;
  try {
    walSize = Deno.statSync(`${dbPath}-wal`).size;
  } catch {
    // removed on close
  }
  assert.equal(walSize, 0);
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const row = db.prepare(
      "SELECT value FROM current_samples WHERE metric = 'inflight_value'",
    ).get() as { value: number } | undefined;
    assert.equal(row?.value, 42);
    const late = db.prepare(
      "SELECT count(*) AS n FROM sample_history WHERE metric = 'late'",
    ).get() as { n: number };
    assert.equal(late.n, 0);
  } finally {
    db.close();
  }
});

Deno.test("pushvault signalled while it starts stops cleanly once it is up", async () => {
  await using dir = await tempDir();
  await withProcesses(async (group) => {
    const child = group.spawn(
      "pushvault",
      Deno.execPath(),
      pushvaultArgs([
        "--web.listen-address=127.0.0.1:0",
        `--persistence.file=${dir.path}/pv.db`,
      ]),
    );
    // Before the database is open: start() has not returned yet.
    await child.waitForLog(/msg="starting pushvault"/);
    child.signal("SIGTERM");
    const status = await child.wait();
    const log = child.stderr();
    // Handled once the event loop runs: during start() or right after.
    assert.equal(status.code, 0, log);
    assert.match(log, /msg=listening/);
    assert.match(log, /msg="database closed"/);
  });
});
