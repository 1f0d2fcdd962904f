/**
 * Runs every `sqlite3 … pushvault.db "…"` command docs/database.md documents,
 * with the real sqlite3 shell, against the database of a running server,
 * and checks the column headers it shows. Keeps that document true.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { send, startTestGateway } from "../test_utils.ts";

const README = fileURLToPath(
  new URL("../../docs/database.md", import.meta.url),
);

interface DocumentedQuery {
  readonly sql: string;
  /** The header line of the output block that follows, if the document shows one. */
  readonly header: string | undefined;
}

function documentedQueries(readme: string): DocumentedQuery[] {
  const out: DocumentedQuery[] = [];
  const lines = readme.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^sqlite3 -header -column pushvault\.db "(.*)"$/.exec(
      lines[i] as string,
    );
    if (!m) continue;
    const sql = (m[1] as string).replace(/\\"/g, '"');
    // An output block right after the command's block shows the header first.
    let header: string | undefined;
    for (let j = i + 1; j < Math.min(lines.length, i + 6); j++) {
      if (/^sqlite3 /.test(lines[j] as string)) break;
      if (lines[j] === "```" && lines[j + 1] === "```" && lines[j + 2]) {
        header = (lines[j + 2] as string).trim().split(/\s+/).join(" ");
        break;
      }
    }
    out.push({ sql, header });
  }
  return out;
}

const HAS_SQLITE3 = (() => {
  try {
    return new Deno.Command("sqlite3", { args: ["-version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "every sqlite3 query in docs/database.md runs against a live server's database" +
    (HAS_SQLITE3 ? "" : " (skipped: the sqlite3 shell is not installed)"),
  ignore: !HAS_SQLITE3,
  async fn(t) {
    const queries = documentedQueries(await Deno.readTextFile(README));
    assert.ok(
      queries.length >= 6,
      `found only ${queries.length} documented queries`,
    );
    await using pv = await startTestGateway();
    for (const v of ["1.2e9", "1.3e9"]) {
      await send(`${pv.url}/metrics/job/backup/instance/db1`, {
        method: "POST",
        body: `backup_bytes ${v}\nbackup_duration_seconds 300\n`,
      });
    }
    await send(`${pv.url}/metrics/job/backup/instance/db1`, {
      method: "POST",
      body: "backup_bytes 1 1700000000\n",
    });
    await send(`${pv.url}/metrics/job/etl`, {
      method: "POST",
      body: '# TYPE rows_total counter\nrows_total{table="users"} 1523\n',
    });
    for (const q of queries) {
      await t.step(q.sql, async () => {
        const result = await new Deno.Command("sqlite3", {
          args: ["-header", "-column", pv.dbPath, q.sql],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(result.stderr);
        assert.equal(result.code, 0, stderr);
        assert.equal(stderr, "");
        const stdout = new TextDecoder().decode(result.stdout);
        if (q.header !== undefined) {
          assert.equal(
            stdout.split("\n")[0]?.trim().split(/\s+/).join(" "),
            q.header,
          );
        }
      });
    }
  },
});
