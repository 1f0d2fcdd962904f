/**
 * deploy/haproxy.cfg shards by job (docs/operations.md, "Sharding by job"):
 * three real Pushvault shards, each with its own SQLite file, behind Debian's
 * HAProxy running the shipped file with only its addresses replaced by loopback
 * ones. 300 jobs, pushed in every spelling of the job a client can send (plain,
 * percent-escaped, `job@base64` padded or not, ...), must each live on exactly
 * one shard; a DELETE and the job's history through the proxy must reach that
 * shard; the shards' scrapes together are what was pushed.
 * @module
 */

import assert from "node:assert/strict";
import { emptyDir, ROOT, run } from "./deploy_utils.ts";
import { ChildProcess, freePort } from "../e2e/process_utils.ts";
import { pollUntil, PROMETHEUS, queryPrometheus } from "../e2e/e2e_utils.ts";
import { startTestGateway } from "../test_utils.ts";
import type { TestGateway } from "../test_utils.ts";
import { parseText } from "../../src/exposition/text_parse.ts";

const HAPROXY = "/usr/sbin/haproxy";
const SHARD_COUNT = 3;
const JOB_COUNT = 300;
/** Requests in flight at once through the proxy. */
const CONCURRENCY = 8;

function installed(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * deploy/haproxy.cfg with its `bind` address and the address of each
 * `server` line replaced; everything else is the shipped file. HAProxy can
 * change its user only when started as root, so only then does it keep the
 * `user`/`group` lines.
 */
function shardingConfig(
  template: string,
  options: { readonly listen: string; readonly shards: readonly string[] },
): string {
  let binds = 0;
  let config = template.replace(/^ {2}bind \S+$/gm, () => {
    binds++;
    return `  bind ${options.listen}`;
  });
  assert.equal(binds, 1, "deploy/haproxy.cfg must have one bind line");
  let servers = 0;
  config = config.replace(
    /^( {2}server shard(\d+) )\S+( id \d+)$/gm,
    (_line, head: string, number: string, tail: string) => {
      servers++;
      const address = options.shards[Number(number) - 1];
      assert.ok(address, `no test shard for server shard${number}`);
      return `${head}${address}${tail}`;
    },
  );
  assert.equal(servers, options.shards.length, "one server line per shard");
  if (Deno.uid() !== 0) {
    config = config.replace(/^ {2}(user|group) haproxy\n/gm, "");
  }
  return config;
}

/** The job names: ASCII, `/` (only `@base64` carries it), spaces, Unicode, URL and PromQL specials. */
function jobName(i: number): string {
  switch (i % 8) {
    case 0:
      return `team/${i}/backup`;
    case 1:
      return `nightly batch ${i}`;
    case 2:
      return `sauvegarde-é-${i}-😀`;
    case 3:
      return `作业${i}`;
    case 4:
      return `a+b?c#d&e%f=${i}`;
    case 5:
      return `quote"back\\slash ${i}`;
    case 6:
      return `x@base64-${i}`;
    default:
      return `job-${i}`;
  }
}

/** The grouping labels after the job: none, plain, or `@base64` with a `/`. */
function instanceOf(i: number): string {
  return i % 3 === 0 ? "" : i % 3 === 1 ? `host-${i}` : `host/${i}`;
}

function labelPath(i: number): string {
  const instance = instanceOf(i);
  if (instance === "") return "";
  return i % 3 === 1
    ? `/instance/${encodeURIComponent(instance)}`
    : `/instance@base64/${base64Url(instance)}`;
}

function base64Url(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Every spelling of a job's path segment that Pushvault reads as that job
 * (docs/compatibility.md, Routes; Grouping keys), or undefined where it cannot
 * carry the job (a plain job cannot hold `/`: `%2F` is decoded before the path
 * is split).
 */
const FORMS: readonly {
  readonly name: string;
  readonly segment: (job: string) => string | undefined;
}[] = [
  {
    name: "plain",
    segment: (job) =>
      job.includes("/") ? undefined : `job/${encodeURIComponent(job)}`,
  },
  {
    name: "plain_lowercase_escapes",
    segment: (job) =>
      job.includes("/")
        ? undefined
        : `job/${
          encodeURIComponent(job).replace(/%[0-9A-F]{2}/g, (e) =>
            e.toLowerCase())
        }`,
  },
  {
    name: "plain_escaped_keyword",
    segment: (job) =>
      job.includes("/") ? undefined : `jo%62/${encodeURIComponent(job)}`,
  },
  { name: "base64", segment: (job) => `job@base64/${base64Url(job)}` },
  {
    name: "base64_padded",
    segment: (job) => {
      const b = base64Url(job);
      return `job@base64/${b}${"=".repeat((4 - (b.length % 4)) % 4)}`;
    },
  },
  {
    name: "base64_extra_padding",
    segment: (job) => `job@base64/${base64Url(job)}===`,
  },
  {
    name: "base64_escaped_padding",
    segment: (job) => `job@base64/${base64Url(job)}%3D%3D`,
  },
  {
    name: "base64_escaped_keyword",
    segment: (job) => `job%40base64/${base64Url(job)}`,
  },
  {
    name: "base64_line_break",
    segment: (job) => {
      const b = base64Url(job);
      return `job@base64/${b.slice(0, 4)}%0A${b.slice(4)}`;
    },
  },
  {
    // Go's decoder ignores the unused low bits of the last character.
    name: "base64_loose_trailing_bits",
    segment: (job) => {
      const b = base64Url(job);
      if (b.length % 4 === 0) return undefined;
      const last = B64.indexOf(b.at(-1) ?? "");
      return `job@base64/${b.slice(0, -1)}${B64[last | 1]}`;
    },
  },
];

interface Job {
  readonly index: number;
  readonly name: string;
  readonly instance: string;
  /** The FORMS that can carry it, each pushed as its own family. */
  readonly forms: readonly string[];
}

const JOBS: readonly Job[] = Array.from({ length: JOB_COUNT }, (_, index) => {
  const name = jobName(index);
  return {
    index,
    name,
    instance: instanceOf(index),
    forms: FORMS.filter((f) => f.segment(name) !== undefined).map((f) =>
      f.name
    ),
  };
});

function pushPath(job: Job, form: string): string {
  const segment = FORMS.find((f) => f.name === form)?.segment(job.name);
  assert.ok(segment !== undefined, `${form} cannot carry ${job.name}`);
  return `/metrics/${segment}${labelPath(job.index)}`;
}

/** Runs `work` for every item, at most CONCURRENCY at a time. */
async function eachLimited<T>(
  items: readonly T[],
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function request(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { redirect: "manual", ...init });
  return { status: res.status, text: await res.text() };
}

/** A group as a shard's /api/v1/metrics lists it: labels and family names. */
interface ShardGroup {
  readonly job: string;
  readonly instance: string;
  readonly families: readonly string[];
}

async function groupsOf(shardUrl: string): Promise<ShardGroup[]> {
  const { status, text } = await request(`${shardUrl}/api/v1/metrics`);
  assert.equal(status, 200, text);
  const body = JSON.parse(text) as {
    data: Record<string, unknown>[];
  };
  return body.data.map((group) => {
    const labels = group.labels as Record<string, string>;
    return {
      job: labels.job ?? "",
      instance: labels.instance ?? "",
      families: Object.keys(group).filter((k) => k.startsWith("sharding_"))
        .sort(),
    };
  });
}

/** The `sharding_*` samples of a shard's scrape, one string each. */
async function scrapedSamples(shardUrl: string): Promise<Set<string>> {
  const res = await fetch(`${shardUrl}/metrics`);
  const families = parseText(new Uint8Array(await res.arrayBuffer()));
  const samples = new Set<string>();
  for (const family of families) {
    if (!family.name.startsWith("sharding_form_")) continue;
    assert.ok(family.type === "gauge");
    for (const metric of family.metrics) {
      const label = (n: string) =>
        metric.labels.find((l) => l.name === n)?.value ?? "";
      samples.add(sampleKey({
        family: family.name,
        job: label("job"),
        instance: label("instance"),
        value: metric.value,
      }));
    }
  }
  return samples;
}

function sampleKey(
  s: { family: string; job: string; instance: string; value: number },
): string {
  return JSON.stringify([s.family, s.job, s.instance, s.value]);
}

/** The PromQL string literal of a value: JSON's escapes are PromQL's. */
function promqlString(value: string): string {
  return JSON.stringify(value);
}

interface Cluster {
  readonly proxy: string;
  readonly shards: readonly TestGateway[];
}

/** Starts the shards and HAProxy, runs `body`, stops them all. */
async function withCluster(body: (c: Cluster) => Promise<void>) {
  const shards: TestGateway[] = [];
  await using dir = await emptyDir("pushvault-sharding-");
  try {
    for (let i = 0; i < SHARD_COUNT; i++) shards.push(await startTestGateway());
    const port = freePort();
    const config = shardingConfig(
      await Deno.readTextFile(`${ROOT}/deploy/haproxy.cfg`),
      {
        listen: `127.0.0.1:${port}`,
        shards: shards.map((s) => new URL(s.url).host),
      },
    );
    const configPath = `${dir.path}/haproxy.cfg`;
    await Deno.writeTextFile(configPath, config);
    const check = await run(HAPROXY, ["-c", "-f", configPath]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    await using haproxy = new ChildProcess("haproxy", HAPROXY, [
      "-db",
      "-f",
      configPath,
    ]);
    const proxy = `http://127.0.0.1:${port}`;
    try {
      await pollUntil("HAProxy to listen", async () => {
        if (haproxy.exited) throw new Error("haproxy exited");
        const res = await fetch(`${proxy}/`);
        await res.body?.cancel();
        return true;
      }, { timeoutMs: 10_000, intervalMs: 50 });
      await body({ proxy, shards });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message}\n${haproxy.describe()}`, { cause: error });
    }
  } finally {
    for (const shard of shards) await shard[Symbol.asyncDispose]();
  }
}

/** Which shard (index) holds each job, checking it is exactly one group. */
async function placement(
  shards: readonly TestGateway[],
): Promise<Map<string, { shard: number; group: ShardGroup }>> {
  const where = new Map<string, { shard: number; group: ShardGroup }>();
  for (let shard = 0; shard < shards.length; shard++) {
    for (const group of await groupsOf((shards[shard] as TestGateway).url)) {
      const seen = where.get(group.job);
      assert.equal(
        seen,
        undefined,
        `job ${
          JSON.stringify(group.job)
        } is on shard ${seen?.shard} and ${shard}`,
      );
      where.set(group.job, { shard, group });
    }
  }
  return where;
}

Deno.test({
  name:
    "deploy/haproxy.cfg sends every form of a job, its DELETE and its history to one shard",
  ignore: !installed(HAPROXY),
  fn: () =>
    withCluster(async ({ proxy, shards }) => {
      // Each job: PUT in its first form, then POST one family per other form.
      await eachLimited(JOBS, async (job) => {
        for (const [n, form] of job.forms.entries()) {
          const res = await request(`${proxy}${pushPath(job, form)}`, {
            method: n === 0 ? "PUT" : "POST",
            body:
              `# TYPE sharding_form_${form} gauge\nsharding_form_${form} ${job.index}\n`,
          });
          assert.equal(
            res.status,
            200,
            `${form} push of ${JSON.stringify(job.name)}: ${res.text}`,
          );
        }
      });

      const where = await placement(shards);
      assert.equal(where.size, JOBS.length);
      for (const job of JOBS) {
        const found = where.get(job.name);
        assert.ok(found, `job ${JSON.stringify(job.name)} is on no shard`);
        assert.deepEqual(
          found.group.families,
          job.forms.map((f) => `sharding_form_${f}`).sort(),
          `every form of ${
            JSON.stringify(job.name)
          } reached shard ${found.shard}`,
        );
        assert.equal(found.group.instance, job.instance);
      }
      const perShard = shards.map((_, s) =>
        [...where.values()].filter((w) => w.shard === s).length
      );
      assert.ok(perShard.every((n) => n > 0), `jobs per shard: ${perShard}`);

      // A DELETE through the proxy, in a form other than the first push's.
      const deleted = JOBS.filter((job) => job.index % 10 === 7);
      await eachLimited(deleted, async (job) => {
        const form = job.forms[job.index % job.forms.length] as string;
        const res = await request(`${proxy}${pushPath(job, form)}`, {
          method: "DELETE",
        });
        assert.equal(res.status, 202, res.text);
      });
      const after = await placement(shards);
      for (const job of deleted) {
        assert.equal(after.has(job.name), false, `${job.name} was not deleted`);
      }
      assert.equal(after.size, JOBS.length - deleted.length);

      // The history of a job through the proxy is its shard's answer.
      const kept = JOBS.filter((job) => job.index % 10 !== 7);
      for (const job of kept.slice(0, 40)) {
        const owner = shards[where.get(job.name)?.shard ?? -1] as TestGateway;
        const selector = job.instance !== "" && job.index % 2 === 0
          ? `{instance=${promqlString(job.instance)},job=${
            promqlString(job.name)
          }}`
          : `{job=${promqlString(job.name)}}`;
        // URLSearchParams writes a space as `+`, encodeURIComponent as %20.
        const query = job.index % 2 === 0
          ? new URLSearchParams({ "match[]": selector, limit: "1000" })
            .toString()
          : `match%5B%5D=${encodeURIComponent(selector)}&limit=1000`;
        const viaProxy = await request(`${proxy}/api/v1/history?${query}`);
        const direct = await request(`${owner.url}/api/v1/history?${query}`);
        assert.equal(viaProxy.status, 200, `${selector}: ${viaProxy.text}`);
        const entries = (JSON.parse(viaProxy.text) as {
          data: { labels: Record<string, string> }[];
        }).data;
        assert.equal(entries.length, job.forms.length, selector);
        assert.ok(entries.every((e) => e.labels.job === job.name), selector);
        assert.equal(viaProxy.text, direct.text, selector);
      }

      // The shards' scrapes, together, are what was pushed and not deleted.
      const expected = new Set<string>();
      for (const job of kept) {
        for (const form of job.forms) {
          expected.add(sampleKey({
            family: `sharding_form_${form}`,
            job: job.name,
            instance: job.instance,
            value: job.index,
          }));
        }
      }
      const union = new Set<string>();
      for (const shard of shards) {
        for (const sample of await scrapedSamples(shard.url)) {
          assert.equal(union.has(sample), false, `${sample} on two shards`);
          union.add(sample);
        }
      }
      assert.deepEqual(union, expected);
    }),
});

/** What the proxy refuses, rather than answer from one shard. */
const NOT_ROUTED = [
  { name: "the history without a selector", path: "/api/v1/history" },
  {
    name: "the history of a regular expression on job",
    path: `/api/v1/history?match[]=${encodeURIComponent('{job=~"job-.*"}')}`,
  },
  {
    name: "the history of two selectors",
    path: `/api/v1/history?match[]=${
      encodeURIComponent('{job="job-7"}')
    }&match[]=${encodeURIComponent('{job="job-15"}')}`,
  },
  {
    name: "the history of a single-quoted job",
    path: `/api/v1/history?match[]=${encodeURIComponent("{job='job-7'}")}`,
  },
  {
    name: 'the history of a job with an escape other than \\" and \\\\',
    path: `/api/v1/history?match[]=${encodeURIComponent('{job="a\\nb"}')}`,
  },
] as const;

const PER_SHARD = [
  { method: "GET", path: "/metrics" },
  { method: "GET", path: "/" },
  { method: "GET", path: "/api/v1/metrics" },
  { method: "GET", path: "/api/v1/status" },
  { method: "PUT", path: "/api/v1/admin/wipe" },
] as const;

Deno.test({
  name:
    "deploy/haproxy.cfg refuses what one shard cannot answer for all of them",
  ignore: !installed(HAPROXY),
  fn: () =>
    withCluster(async ({ proxy }) => {
      for (const c of NOT_ROUTED) {
        const res = await request(`${proxy}${c.path}`);
        assert.equal(res.status, 400, c.name);
        assert.match(res.text, /"errorType":"bad_data"/, c.name);
        JSON.parse(res.text);
      }
      for (const c of PER_SHARD) {
        const res = await request(`${proxy}${c.path}`, { method: c.method });
        assert.equal(res.status, 404, `${c.method} ${c.path}`);
        assert.match(res.text, /served by each Pushvault shard/);
      }
    }),
});

/**
 * Pushes `sharding_conflict` as a counter for one job and as a gauge for a
 * job on another shard (both accepted), then as a gauge for a job beside
 * the first (refused: each shard checks its own store). Returns the two
 * jobs that hold it.
 */
async function pushOneNameWithTwoTypes(
  proxy: string,
  shards: readonly TestGateway[],
): Promise<{ counter: Job; gauge: Job }> {
  const placed = JOBS.slice(0, 24);
  for (const job of placed) {
    const res = await request(`${proxy}${pushPath(job, "base64")}`, {
      method: "PUT",
      body: "sharding_placed 1\n",
    });
    assert.equal(res.status, 200, res.text);
  }
  const where = await placement(shards);
  const shardOf = (job: Job) => where.get(job.name)?.shard;
  const a = JOBS[0] as Job;
  const b = placed.find((j) => shardOf(j) !== shardOf(a));
  const c = placed.find((j) => j !== a && shardOf(j) === shardOf(a));
  assert.ok(b && c, "24 jobs cover two shards, two of them on one");
  const push = async (job: Job, type: string) =>
    await request(`${proxy}${pushPath(job, "base64")}`, {
      method: "POST",
      body: `# TYPE sharding_conflict ${type}\nsharding_conflict 1\n`,
    });
  assert.equal((await push(a, "counter")).status, 200);
  assert.equal((await push(b, "gauge")).status, 200, "another shard");
  const same = await push(c, "gauge");
  assert.equal(same.status, 400, "the same shard checks");
  assert.match(same.text, /sharding_conflict/);
  return { counter: a, gauge: b };
}

Deno.test({
  name:
    "deploy/haproxy.cfg: the consistency check is per shard, so two shards may disagree on a type",
  ignore: !installed(HAPROXY),
  fn: () =>
    withCluster(async ({ proxy, shards }) => {
      await pushOneNameWithTwoTypes(proxy, shards);
    }),
});

/** deploy/prometheus-shards.yml scraping `shards` every second. */
function prometheusConfig(template: string, shards: readonly string[]): string {
  let intervals = 0;
  let config = template.replace(
    /^ {2}(scrape|evaluation)_interval: 30s$/gm,
    (_line, what: string) => {
      intervals++;
      return `  ${what}_interval: 1s`;
    },
  );
  assert.equal(intervals, 2);
  let targets = 0;
  config = config.replace(
    /^( {10}- )"[^"]+"$/gm,
    (_line, head: string) => `${head}${JSON.stringify(shards[targets++])}`,
  );
  assert.equal(targets, shards.length, "one target per shard");
  return config;
}

Deno.test({
  name:
    "Prometheus with deploy/prometheus-shards.yml keeps both types of a name that two shards accepted",
  ignore: !installed(HAPROXY) || !installed(PROMETHEUS),
  fn: () =>
    withCluster(async ({ proxy, shards }) => {
      const { counter, gauge } = await pushOneNameWithTwoTypes(proxy, shards);
      await using dir = await emptyDir("pushvault-sharding-prometheus-");
      await Deno.writeTextFile(
        `${dir.path}/prometheus.yml`,
        prometheusConfig(
          await Deno.readTextFile(`${ROOT}/deploy/prometheus-shards.yml`),
          shards.map((s) => new URL(s.url).host),
        ),
      );
      await Deno.copyFile(
        `${ROOT}/deploy/alerts.yml`,
        `${dir.path}/alerts.yml`,
      );
      const port = freePort();
      const url = `http://127.0.0.1:${port}`;
      await using prometheus = new ChildProcess("prometheus", PROMETHEUS, [
        `--config.file=${dir.path}/prometheus.yml`,
        `--storage.tsdb.path=${dir.path}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
      ]);
      try {
        // Each shard is a target; the pushed series keep the pushed job
        // and no instance (instance="" is no label), whichever shard they
        // came from.
        const series = await pollUntil("both series scraped", async () => {
          const result = await queryPrometheus(url, "sharding_conflict");
          return result.length === 2 ? result : undefined;
        }, { timeoutMs: 30_000, intervalMs: 250 });
        const expected = [counter, gauge].map((job) => ({
          __name__: "sharding_conflict",
          ...(job.instance === "" ? {} : { instance: job.instance }),
          job: job.name,
        }));
        assert.deepEqual(
          series.map((s) => s.metric),
          expected.sort((x, y) =>
            JSON.stringify(x) < JSON.stringify(y) ? -1 : 1
          ),
        );
        // Two series can come from two scrapes before the third shard's
        // first one: wait for every target, as for the series.
        const up = await pollUntil("every shard scraped", async () => {
          const result = await queryPrometheus(url, 'up{job="pushvault"}');
          return result.length === shards.length ? result : undefined;
        }, { timeoutMs: 30_000, intervalMs: 250 });
        assert.deepEqual(
          up.map((s) => s.metric.instance).sort(),
          shards.map((s) => new URL(s.url).host).sort(),
        );
        // Prometheus keeps one metadata entry per type it was told.
        const types = await pollUntil("both types in metadata", async () => {
          const metadata = await (await fetch(
            `${url}/api/v1/metadata?metric=sharding_conflict`,
          )).json() as { data: Record<string, { type: string }[]> };
          const found = (metadata.data.sharding_conflict ?? []).map((m) =>
            m.type
          ).sort();
          return found.length === 2 ? found : undefined;
        }, { timeoutMs: 30_000, intervalMs: 250 });
        assert.deepEqual(types, ["counter", "gauge"]);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${message}\n${prometheus.describe()}`, {
          cause: error,
        });
      }
    }),
});

Deno.test({
  name:
    "deploy/prometheus-shards.yml passes promtool and scrapes every shard of deploy/haproxy.cfg",
  ignore: !installed("/usr/bin/promtool"),
  fn: async () => {
    const result = await run("promtool", [
      "check",
      "config",
      "prometheus-shards.yml",
    ], { cwd: `${ROOT}/deploy` });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const prometheus = await Deno.readTextFile(
      `${ROOT}/deploy/prometheus-shards.yml`,
    );
    assert.match(prometheus, /^ {4}honor_labels: true$/m);
    const targets = [...prometheus.matchAll(/^ {10}- "([^"]+)"$/gm)].map((
      m,
    ) => m[1]);
    const haproxy = await Deno.readTextFile(`${ROOT}/deploy/haproxy.cfg`);
    const servers = [...haproxy.matchAll(/^ {2}server shard\d+ (\S+) id/gm)]
      .map((m) => m[1]);
    assert.deepEqual(targets, servers);
  },
});
