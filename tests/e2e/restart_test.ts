/**
 * Whole-process tests of `src/main.ts`: a graceful stop and restart keeps
 * every group exactly; `kill -9` right after a burst of acknowledged pushes
 * loses none of them and leaves no push half-applied; a file that is not a
 * Pushvault database stops start-up (exit 1) without being touched; bad
 * flags exit 2 naming the flag. Each test spawns `deno run -A src/main.ts`,
 * reads the address from its log, shows its output only on failure and
 * kills it by PID in the end (process_utils.ts).
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { MetricFamily } from "../../src/exposition/model.ts";
import { encodeDelimited } from "../../src/exposition/protobuf_encode.ts";
import { tempDir } from "../test_utils.ts";
import { PROTOBUF } from "./differential_cases.ts";
import {
  pushgatewayInstalled,
  type ServerProcess,
  withProcesses,
} from "./process_utils.ts";
import {
  checkDurability,
  type DurabilityPush,
  sendDurabilityPush,
} from "../../scripts/kill9_durability.ts";

const OWN = /^(# (HELP|TYPE) )?(pushgateway_|pushvault_|process_|go_)/;

/** The scrape without the gateway's own families; push times kept exactly. */
async function scrapeGroups(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  assert.equal(res.status, 200, `scrape: ${text}`);
  return text.split("\n").filter((line) => !OWN.test(line)).join("\n");
}

/**
 * `/api/v1/metrics` as sorted lines, one per group and family (1.5.1 gives
 * the groups in no particular order): `<labels> <family> <JSON>`.
 */
async function apiLines(url: string): Promise<string[]> {
  const res = await fetch(`${url}/api/v1/metrics`);
  const json: unknown = await res.json();
  assert.equal(res.status, 200);
  assert.ok(
    typeof json === "object" && json !== null && "data" in json &&
      Array.isArray(json.data),
    "the API answers {data: [...]}",
  );
  const lines: string[] = [];
  for (const group of json.data as unknown[]) {
    assert.ok(typeof group === "object" && group !== null);
    const entries = Object.entries(group);
    const labels = JSON.stringify(Object.fromEntries(entries)["labels"]);
    for (const [key, value] of entries) {
      if (key !== "labels") {
        lines.push(`${labels} ${key} ${JSON.stringify(value)}`);
      }
    }
  }
  return lines.sort();
}

interface Push {
  readonly method: "PUT" | "POST" | "DELETE";
  readonly path: string;
  readonly body?: string | Uint8Array<ArrayBuffer>;
  readonly contentType?: string;
  readonly status: number;
}

const PROTOBUF_FAMILIES: readonly MetricFamily[] = [
  {
    name: "pb_latency_seconds",
    help: "Latency from protobuf.",
    type: "histogram",
    metrics: [{
      labels: [{ name: "path", value: "" }],
      sampleCount: 9,
      sampleSum: Number.NaN,
      buckets: [
        { upperBound: 0.5, cumulativeCount: 2 },
        { upperBound: 0.1, cumulativeCount: 1 },
        { upperBound: Number.POSITIVE_INFINITY, cumulativeCount: 9 },
      ],
    }],
  },
  {
    name: "pb_size_bytes",
    help: "",
    type: "summary",
    metrics: [{
      labels: [],
      sampleCount: 3,
      sampleSum: -0,
      quantiles: [{ quantile: 0.99, value: Number.NEGATIVE_INFINITY }, {
        quantile: 0.5,
        value: 5e-324,
      }],
    }],
  },
  {
    name: "pb_total",
    help: undefined,
    type: "counter",
    metrics: [
      { labels: [{ name: "k", value: "neg-zero" }], value: -0 },
      { labels: [{ name: "k", value: "nan" }], value: Number.NaN },
      { labels: [{ name: "k", value: "max" }], value: 1.7976931348623157e308 },
    ],
  },
];

/** Pushes of every kind; `status` is what each must answer. */
const GROUP_PUSHES: readonly Push[] = [
  {
    method: "PUT",
    path: "/metrics/job/restart/instance/a",
    body: "# HELP g A gauge with \\\\ and \\n.\n# TYPE g gauge\n" +
      'g{v="nan"} NaN\ng{v="inf"} +Inf\ng{v="-inf"} -Inf\ng{v="-0"} -0\n' +
      'g{v="tiny"} 5e-324\ng{v="huge"} 1.797e308\ng{v=""} 1\n' +
      'g{v="esc \\" \\\\ \\n"} 2\n# TYPE c counter\nc{e=""} 7\n',
    status: 200,
  },
  {
    method: "POST",
    path: "/metrics/job/restart/instance/b",
    body: "# TYPE s summary\n" +
      's{quantile="0.9"} 2\ns{quantile="0.5"} 1\ns_sum 3\ns_count 4\n' +
      "# HELP h Unsorted buckets.\n# TYPE h histogram\n" +
      'h_bucket{le="10"} 3\nh_bucket{le="1"} 1\nh_sum 12.5\nh_count 4\n',
    status: 200,
  },
  {
    method: "POST",
    path: "/metrics/job/restart/instance/b",
    body: "u 1\n",
    status: 200,
  },
  {
    method: "PUT",
    path: "/metrics/job/restart/instance/c",
    body: encodeDelimited(PROTOBUF_FAMILIES),
    contentType: PROTOBUF,
    status: 200,
  },
  {
    method: "POST",
    path: "/metrics/job/restart/e@base64/=",
    body: '# TYPE g gauge\ng{v="empty-group-label"} 3\n',
    status: 200,
  },
  {
    method: "POST",
    path: "/metrics/job@base64/L3Zhci90bXA/p@base64/Pz8_",
    body: "slash 1\n",
    status: 200,
  },
  // A refused push creates its group with a failure time
  // (docs/compatibility.md, Metadata metrics).
  {
    method: "POST",
    path: "/metrics/job/failed",
    body: "g 1 1700000000000\n",
    status: 400,
  },
  { method: "PUT", path: "/metrics/job/emptied", body: "", status: 200 },
  { method: "POST", path: "/metrics/job/deleted", body: "x 1\n", status: 200 },
  { method: "DELETE", path: "/metrics/job/deleted", status: 202 },
];

async function sendPush(url: string, push: Push): Promise<void> {
  const res = await fetch(`${url}${push.path}`, {
    method: push.method,
    ...(push.body === undefined ? {} : { body: push.body }),
    ...(push.contentType === undefined
      ? {}
      : { headers: { "Content-Type": push.contentType } }),
  });
  const text = await res.text();
  assert.equal(
    res.status,
    push.status,
    `${push.method} ${push.path} answered ${res.status}: ${text}`,
  );
}

Deno.test("main.ts keeps every group exactly across SIGTERM and a restart on the same file", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/pv.db`;
  await withProcesses(async (group) => {
    const first = await group.pushvault({ dbPath });
    for (const push of GROUP_PUSHES) await sendPush(first.url, push);
    const scrapeBefore = await scrapeGroups(first.url);
    const apiBefore = await apiLines(first.url);
    assert.match(
      scrapeBefore,
      /pb_total\{instance="c",job="restart",k="nan"\} NaN/,
    );
    assert.match(
      scrapeBefore,
      /push_failure_time_seconds\{instance="",job="failed"\} [1-9]/,
    );
    assert.doesNotMatch(scrapeBefore, /job="deleted"/);

    const stopped = await first.process.stop("SIGTERM");
    assert.equal(stopped.code, 0, "SIGTERM stops with exit code 0");
    assert.equal(stopped.signal, null);

    const second = await group.pushvault({ dbPath });
    assert.equal(await scrapeGroups(second.url), scrapeBefore);
    assert.deepEqual(await apiLines(second.url), apiBefore);
    assert.equal(
      (await second.process.stop("SIGINT")).code,
      0,
      "SIGINT stops with exit code 0 too",
    );
  });
});

const PUSHERS = 4;
const BURST = 40;

Deno.test("main.ts keeps every acknowledged push and no half push after kill -9 following a burst", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/pv.db`;
  const mode = { groupPerPush: true } as const;
  await withProcesses(async (group) => {
    const first = await group.pushvault({ dbPath });
    const sent: DurabilityPush[] = [];
    const acked: DurabilityPush[] = [];
    // Each push goes to its own group: every acknowledged one must survive.
    await Promise.all(
      Array.from({ length: PUSHERS }, async (_, pusher) => {
        for (let seq = 0; seq < BURST; seq++) {
          const push = { pusher, seq, value: (pusher * 1000 + seq) / 7 - 60 };
          sent.push(push);
          assert.ok(await sendDurabilityPush(first.url, push, mode));
          acked.push(push);
        }
      }),
    );
    // One more push per pusher, in flight when the process dies: each may
    // or may not have been committed, but never in part.
    const inFlight = Array.from({ length: PUSHERS }, (_, pusher) => ({
      pusher,
      seq: BURST,
      value: -pusher - 0.25,
    }));
    sent.push(...inFlight);
    const pending = inFlight.map((push) =>
      sendDurabilityPush(first.url, push, mode)
    );
    first.process.signal("SIGKILL");
    const killed = await first.process.wait();
    assert.equal(killed.signal, "SIGKILL");
    for (const [i, ok] of (await Promise.all(pending)).entries()) {
      if (ok) acked.push(inFlight[i] as DurabilityPush);
    }

    const second: ServerProcess = await group.pushvault({ dbPath });
    const res = await fetch(`${second.url}/metrics`);
    const report = checkDurability(await res.text(), sent, acked, mode);
    assert.deepEqual(report.lost, [], "no acknowledged push was lost");
    assert.deepEqual(report.halfApplied, [], "no push was applied in part");
    assert.ok(report.acked >= PUSHERS * BURST);
    assert.equal((await second.process.stop("SIGTERM")).code, 0);
  });
});

/** Series of the large push: enough to be written aside, a slice at a time. */
const LARGE_SERIES = 100_000;

Deno.test("main.ts keeps a large push whole or not at all after kill -9 during its write", async (t) => {
  const lines = ["# TYPE big gauge"];
  for (let i = 0; i < LARGE_SERIES; i++) lines.push(`big{i="${i}"} ${i}`);
  const body = new TextEncoder().encode(lines.join("\n") + "\n");
  // Killed when the WAL has grown by this much (the push being written),
  // or after the answer if it comes first.
  const cases = [
    { name: "killed early in the write", walBytes: 1 << 20 },
    { name: "killed later in the write", walBytes: 4 << 20 },
    { name: "killed after the answer", walBytes: Infinity },
  ];
  for (const { name, walBytes } of cases) {
    await t.step(name, async () => {
      await using dir = await tempDir();
      const dbPath = `${dir.path}/pv.db`;
      const walSize = () => {
        try {
          return Deno.statSync(`${dbPath}-wal`).size;
        } catch {
          return 0;
        }
      };
      await withProcesses(async (group) => {
        const first = await group.pushvault({ dbPath });
        const start = walSize();
        let status = 0;
        const push = fetch(`${first.url}/metrics/job/big`, {
          method: "PUT",
          body,
        }).then(async (res) => {
          await res.body?.cancel();
          status = res.status;
        }, () => {});
        for (let i = 0; i < 6000 && status === 0; i++) {
          if (walSize() - start >= walBytes) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const answered = status;
        first.process.signal("SIGKILL");
        assert.equal((await first.process.wait()).signal, "SIGKILL");
        await push;

        const second = await group.pushvault({ dbPath });
        const scrape = await scrapeGroups(second.url);
        const series = scrape.split("\n").filter((l) => l.startsWith("big{"))
          .length;
        if (answered === 200) assert.equal(series, LARGE_SERIES);
        else {
          assert.ok(
            series === 0 || series === LARGE_SERIES,
            `${series} of ${LARGE_SERIES} series after kill -9`,
          );
        }
        assert.equal((await second.process.stop("SIGTERM")).code, 0);
      });
    });
  }
});

Deno.test("checkDurability() reports lost, half-applied and in-flight pushes", () => {
  const mode = { groupPerPush: false } as const;
  const sent: DurabilityPush[] = [
    { pusher: 0, seq: 0, value: 1 },
    { pusher: 0, seq: 1, value: 2 },
    { pusher: 1, seq: 0, value: Number.NaN },
    { pusher: 2, seq: 0, value: 5 },
    { pusher: 2, seq: 1, value: Number.POSITIVE_INFINITY },
    { pusher: 3, seq: 0, value: 7 },
  ];
  const acked = sent.filter((p) => !(p.pusher === 2 && p.seq === 1));
  const scrape = [
    "# TYPE kill9_copy gauge",
    'kill9_copy{copy="1",job="kill9",pusher="0"} 1',
    'kill9_copy{copy="1",job="kill9",pusher="1"} 3',
    'kill9_copy{copy="1",job="kill9",pusher="2"} +Inf',
    "# TYPE kill9_seq gauge",
    'kill9_seq{job="kill9",pusher="0"} 0',
    'kill9_seq{job="kill9",pusher="1"} 0',
    'kill9_seq{job="kill9",pusher="2"} 1',
    "# TYPE kill9_value gauge",
    'kill9_value{job="kill9",pusher="0"} 1',
    'kill9_value{job="kill9",pusher="1"} NaN',
    'kill9_value{job="kill9",pusher="2"} +Inf',
    "",
  ].join("\n");
  const report = checkDurability(scrape, sent, acked, mode);
  assert.deepEqual(report.lost, [
    "pusher 0 seq 1 (2): group 0 holds seq 0",
    "pusher 3 seq 0: group 3 missing",
  ]);
  assert.deepEqual(report.halfApplied, [
    "group 1: value NaN, copy 3, seq 0, sent NaN",
  ]);
  assert.equal(report.inFlightCommitted, 1);
});

/** Deterministic bytes (xorshift32) for "a file that is not a database". */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A real 1.5.1 persistence file (Go gob), written on its graceful stop. */
async function pushgatewaySnapshot(path: string): Promise<void> {
  await withProcesses(async (group) => {
    const reference = await group.pushgateway([`--persistence.file=${path}`]);
    const res = await fetch(`${reference.url}/metrics/job/snap/instance/i`, {
      method: "PUT",
      body: "# TYPE snap gauge\nsnap 42\n",
    });
    await res.body?.cancel();
    assert.equal(res.status, 200);
    assert.equal((await reference.process.stop("SIGTERM")).code, 0);
  });
  assert.ok((await Deno.stat(path)).size > 0, "the Pushgateway wrote its file");
}

function foreignSqliteDatabase(path: string): void {
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");
  db.exec("INSERT INTO invoices (total) VALUES (12.5), (99)");
  db.close();
}

Deno.test("main.ts refuses to start on a file that is not a Pushvault database and leaves it untouched", async (t) => {
  const cases: readonly {
    name: string;
    ignore?: boolean;
    write: (path: string) => Promise<void> | void;
  }[] = [
    {
      name: "random bytes",
      write: (path) => Deno.writeFileSync(path, pseudoRandomBytes(4096, 42)),
    },
    {
      name: "a Pushgateway 1.5.1 persistence file",
      ignore: !pushgatewayInstalled(),
      write: pushgatewaySnapshot,
    },
    {
      name: "Go gob-like garbage",
      write: (path) =>
        Deno.writeFileSync(
          path,
          new Uint8Array([
            0x0d,
            0xff,
            0x81,
            0x04,
            0x01,
            0x02,
            0xff,
            0x82,
            0x00,
            0x01,
            0x0c,
            0x01,
            0x0a,
            0x00,
            0x00,
            0x2c,
            0xff,
            0x82,
            0x00,
            0x01,
            0x03,
            0x6a,
            0x6f,
            0x62,
            ...pseudoRandomBytes(200, 7),
          ]),
        ),
    },
    {
      name: "a SQLite database of another application",
      write: foreignSqliteDatabase,
    },
  ];
  for (const c of cases) {
    await t.step({
      name: c.name,
      ignore: c.ignore ?? false,
      fn: async () => {
        await using dir = await tempDir();
        const dbPath = `${dir.path}/pv.db`;
        await c.write(dbPath);
        const before = await Deno.readFile(dbPath);
        await withProcesses(async (group) => {
          const result = await group.runPushvault([
            "--web.listen-address=127.0.0.1:0",
            `--persistence.file=${dbPath}`,
          ]);
          assert.equal(result.code, 1, "exit code 1");
          assert.ok(
            result.stderr.includes(dbPath),
            `the message names the file ${dbPath}:\n${result.stderr}`,
          );
          assert.doesNotMatch(result.stderr, /msg=listening/);
        });
        assert.deepEqual(
          await Deno.readFile(dbPath),
          before,
          "the file is unchanged byte for byte",
        );
        const names = [...Deno.readDirSync(dir.path)].map((e) => e.name);
        assert.deepEqual(names, ["pv.db"], "no -wal, -shm or backup file");
      },
    });
  }
});

Deno.test("main.ts refuses to start when the database directory does not exist", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/missing/pv.db`;
  await withProcesses(async (group) => {
    const result = await group.runPushvault([
      "--web.listen-address=127.0.0.1:0",
      `--persistence.file=${dbPath}`,
    ]);
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(dbPath), result.stderr);
  });
});

const BAD_FLAGS: readonly { name: string; args: string[]; flag: string }[] = [
  { name: "unknown flag", args: ["--no.such-flag=1"], flag: "--no.such-flag" },
  { name: "bad log level", args: ["--log.level=loud"], flag: "--log.level" },
  { name: "bad log format", args: ["--log.format=xml"], flag: "--log.format" },
  {
    name: "bad duration",
    args: ["--persistence.interval=soon"],
    flag: "--persistence.interval",
  },
  {
    name: "bad boolean",
    args: ["--web.enable-admin-api=maybe"],
    flag: "--web.enable-admin-api",
  },
  {
    name: "telemetry path without a slash",
    args: ["--web.telemetry-path=metrics"],
    flag: "--web.telemetry-path",
  },
  {
    name: "bad sync mode",
    args: ["--storage.sync=sometimes"],
    flag: "--storage.sync",
  },
  { name: "positional argument", args: ["extra"], flag: "extra" },
];

Deno.test("main.ts exits 2 naming the flag for a bad command line, without creating the database", async (t) => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/pv.db`;
  for (const c of BAD_FLAGS) {
    await t.step(c.name, async () => {
      await withProcesses(async (group) => {
        const result = await group.runPushvault([
          "--web.listen-address=127.0.0.1:0",
          `--persistence.file=${dbPath}`,
          ...c.args,
        ]);
        assert.equal(result.code, 2, `exit code 2:\n${result.stderr}`);
        assert.ok(
          result.stderr.includes(c.flag),
          `stderr names ${c.flag}:\n${result.stderr}`,
        );
      });
      assert.deepEqual([...Deno.readDirSync(dir.path)], []);
    });
  }
});

Deno.test("main.ts prints help and version and exits 0", async (t) => {
  const cases = [
    {
      args: ["--help"],
      stdout: /--web\.listen-address[\s\S]*--persistence\.file/,
    },
    { args: ["-h"], stdout: /--web\.listen-address/ },
    { args: ["--version"], stdout: /^pushvault, version \S+/ },
  ] as const;
  for (const c of cases) {
    await t.step(c.args.join(" "), async () => {
      await withProcesses(async (group) => {
        const result = await group.runPushvault(c.args);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, c.stdout);
      });
    });
  }
});
