/**
 * kill -9 durability check (docs/operations.md, Durability): 4 concurrent
 * pushers send pushes with distinct values (±Inf, NaN, 5e-324, 1.797e308 among
 * them) to a Pushvault child process, which is SIGKILLed at a random moment;
 * after a restart on the same file every acknowledged push must be there
 * exactly (the latest acknowledged value of each pusher's group, or the one
 * push that was in flight) and no push may be half-applied (its three families
 * must agree). Prints acked/lost per run; exits 1 if anything was lost.
 *
 * Usage: `deno run -A scripts/kill9_durability.ts --runs 5 --pushes 2000
 * [--pushers 4] [--seed 1] [--jitter-ms 3]` (`--pushes` per pusher; the
 * kill comes up to `--jitter-ms` after a randomly chosen acknowledgement).
 *
 * The push format and the check are exported for `tests/e2e/restart_test.ts`.
 * @module
 */

import { mulberry32 } from "./mulberry32.ts";
import { parseArgs } from "node:util";
import { formatGoFloat } from "../src/exposition/float.ts";
import type { MetricFamily } from "../src/exposition/model.ts";
import { parseText } from "../src/exposition/text_parse.ts";
import { errorText, withProcesses } from "../tests/e2e/process_utils.ts";

/** One push: the pusher, its sequence number and the value it carries. */
export interface DurabilityPush {
  readonly pusher: number;
  readonly seq: number;
  readonly value: number;
}

export interface DurabilityOptions {
  /**
   * true: every push has its own group (`…/pusher/P/seq/S`), so every
   * acknowledged push must be present. false: one group per pusher, so the
   * latest acknowledged push (or a later one that was in flight) must be.
   */
  readonly groupPerPush: boolean;
}

const VALUE = "kill9_value";
const COPY = "kill9_copy";
const SEQ = "kill9_seq";

/** The path a push goes to (PUT: the group holds exactly this push). */
export function pushPath(
  push: DurabilityPush,
  options: DurabilityOptions,
): string {
  const base = `/metrics/job/kill9/pusher/${push.pusher}`;
  return options.groupPerPush ? `${base}/seq/${push.seq}` : base;
}

/** Three families that must agree: the value twice and the sequence number. */
export function pushBody(push: DurabilityPush): string {
  const value = formatGoFloat(push.value);
  return `# TYPE ${VALUE} gauge\n${VALUE} ${value}\n` +
    `# TYPE ${COPY} gauge\n${COPY}{copy="1"} ${value}\n` +
    `# TYPE ${SEQ} gauge\n${SEQ} ${push.seq}\n`;
}

/**
 * Sends one push with PUT. Resolves true when it was acknowledged (200),
 * false when the connection failed (the server died); throws on any other
 * answer.
 */
export async function sendDurabilityPush(
  url: string,
  push: DurabilityPush,
  options: DurabilityOptions,
): Promise<boolean> {
  let res: Response;
  try {
    res = await fetch(`${url}${pushPath(push, options)}`, {
      method: "PUT",
      body: pushBody(push),
    });
  } catch (error) {
    if (error instanceof TypeError) return false; // connection refused or reset
    throw error;
  }
  let text: string;
  try {
    text = await res.text();
  } catch (error) {
    if (error instanceof TypeError) return false; // died mid-answer
    throw error;
  }
  if (res.status !== 200) {
    throw new Error(
      `PUT ${pushPath(push, options)} answered ${res.status}: ${text}`,
    );
  }
  return true;
}

export interface DurabilityReport {
  readonly acked: number;
  /** Acknowledged pushes missing or replaced by an older one. */
  readonly lost: readonly string[];
  /** Groups whose families disagree or carry a value never sent. */
  readonly halfApplied: readonly string[];
  /** Pushes found that were sent but not acknowledged (in flight). */
  readonly inFlightCommitted: number;
}

interface Found {
  value?: number;
  copy?: number;
  seq?: number;
}

const same = (a: number | undefined, b: number) =>
  a !== undefined && (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)));

function labelValue(
  labels: readonly { name: string; value: string }[],
  name: string,
) {
  return labels.find((l) => l.name === name)?.value;
}

/**
 * Checks a scrape (text format) against the pushes that were sent and
 * those that were acknowledged.
 */
export function checkDurability(
  scrape: string,
  sent: readonly DurabilityPush[],
  acked: readonly DurabilityPush[],
  options: DurabilityOptions,
): DurabilityReport {
  const groupOf = (pusher: string, seq: string | undefined) =>
    options.groupPerPush ? `${pusher}/${seq}` : pusher;
  const found = new Map<string, Found>();
  const families: MetricFamily[] = parseText(new TextEncoder().encode(scrape));
  for (const family of families) {
    if (family.name !== VALUE && family.name !== COPY && family.name !== SEQ) {
      continue;
    }
    if (family.type !== "gauge") {
      throw new Error(`${family.name} is a ${family.type}`);
    }
    for (const metric of family.metrics) {
      const pusher = labelValue(metric.labels, "pusher");
      if (pusher === undefined) continue;
      const key = groupOf(pusher, labelValue(metric.labels, "seq"));
      const entry = found.get(key) ?? {};
      if (family.name === VALUE) entry.value = metric.value;
      if (family.name === COPY) entry.copy = metric.value;
      if (family.name === SEQ) entry.seq = metric.value;
      found.set(key, entry);
    }
  }

  const sentByKey = new Map<string, DurabilityPush>();
  for (const push of sent) {
    sentByKey.set(`${push.pusher}/${push.seq}`, push);
  }
  const ackedKeys = new Set(acked.map((p) => `${p.pusher}/${p.seq}`));
  const lost: string[] = [];
  const halfApplied: string[] = [];
  let inFlightCommitted = 0;

  // Every group found must hold one whole push that was sent.
  for (const [group, entry] of found) {
    const push = entry.seq === undefined
      ? undefined
      : sentByKey.get(`${group.split("/")[0]}/${entry.seq}`);
    if (
      push === undefined || !same(entry.value, push.value) ||
      !same(entry.copy, push.value)
    ) {
      halfApplied.push(
        `group ${group}: value ${entry.value}, copy ${entry.copy}, seq ${entry.seq}` +
          (push ? `, sent ${formatGoFloat(push.value)}` : ", never sent"),
      );
      continue;
    }
    if (!ackedKeys.has(`${push.pusher}/${push.seq}`)) inFlightCommitted++;
  }

  // Every acknowledged push must be there, or be replaced by a later one.
  const latestAcked = new Map<number, DurabilityPush>();
  for (const push of acked) {
    const seen = latestAcked.get(push.pusher);
    if (!seen || push.seq > seen.seq) latestAcked.set(push.pusher, push);
  }
  const expected = options.groupPerPush ? acked : [...latestAcked.values()];
  for (const push of expected) {
    const group = groupOf(String(push.pusher), String(push.seq));
    const entry = found.get(group);
    if (entry === undefined) {
      lost.push(
        `pusher ${push.pusher} seq ${push.seq}: group ${group} missing`,
      );
    } else if (entry.seq === undefined || entry.seq < push.seq) {
      lost.push(
        `pusher ${push.pusher} seq ${push.seq} (${
          formatGoFloat(push.value)
        }): group ${group} holds seq ${entry.seq}`,
      );
    }
  }
  return { acked: acked.length, lost, halfApplied, inFlightCommitted };
}

const SPECIALS = [
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
  5e-324,
  1.797e308,
  -1.797e308,
] as const;

/** Distinct per pusher; each special value once, spread over the run. */
export function durabilityValue(pusher: number, seq: number): number {
  if (seq % 97 === 0 && seq / 97 < SPECIALS.length) {
    return SPECIALS[seq / 97] as number;
  }
  return (pusher * 1_000_003 + seq) / 3;
}

interface RunResult {
  readonly sent: number;
  readonly killAfterAcks: number;
  readonly report: DurabilityReport;
}

async function runOnce(
  options: { pushers: number; pushes: number; jitterMs: number },
  next: () => number,
): Promise<RunResult> {
  const dir = await Deno.makeTempDir({ prefix: "pushvault-kill9-" });
  const dbPath = `${dir}/pv.db`;
  const mode = { groupPerPush: false } as const;
  try {
    return await withProcesses(async (group) => {
      const server = await group.pushvault({ dbPath });
      const total = options.pushers * options.pushes;
      const killAfterAcks = 1 + Math.floor(next() * total);
      const sent: DurabilityPush[] = [];
      const acked: DurabilityPush[] = [];
      let killed = false;
      let scheduled = false;
      const kill = () => {
        if (killed) return;
        killed = true;
        server.process.signal("SIGKILL");
      };
      // A random delay after the chosen ack, so that the signal lands at
      // any point of the server's work on the pushes in flight.
      const scheduleKill = () => {
        if (scheduled) return;
        scheduled = true;
        setTimeout(kill, next() * options.jitterMs);
      };
      await Promise.all(
        Array.from({ length: options.pushers }, async (_, pusher) => {
          for (let seq = 0; seq < options.pushes && !killed; seq++) {
            const push = { pusher, seq, value: durabilityValue(pusher, seq) };
            sent.push(push);
            if (!await sendDurabilityPush(server.url, push, mode)) break;
            acked.push(push);
            if (acked.length >= killAfterAcks) scheduleKill();
          }
        }),
      );
      kill();
      await server.process.wait();
      const restarted = await group.pushvault({ dbPath });
      const res = await fetch(`${restarted.url}/metrics`);
      const scrape = await res.text();
      if (res.status !== 200) {
        throw new Error(`scrape after restart: ${res.status} ${scrape}`);
      }
      const report = checkDurability(scrape, sent, acked, mode);
      await restarted.process.stop("SIGTERM");
      return { sent: sent.length, killAfterAcks, report };
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function positiveInt(text: string | undefined, flag: string, fallback: number) {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--${flag} must be a positive integer, got ${text}`);
  }
  return n;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: "string" },
      pushes: { type: "string" },
      pushers: { type: "string" },
      seed: { type: "string" },
      "jitter-ms": { type: "string" },
    },
    strict: true,
  });
  const runs = positiveInt(values.runs, "runs", 5);
  const pushes = positiveInt(values.pushes, "pushes", 2000);
  const pushers = positiveInt(values.pushers, "pushers", 4);
  const seed = positiveInt(
    values.seed,
    "seed",
    1 + Math.floor(Math.random() * 1e9),
  );
  const jitterMs = positiveInt(values["jitter-ms"], "jitter-ms", 3);
  const next = mulberry32(seed);
  // deno-lint-ignore no-console -- a script reporting its results
  const print = (line: string) => console.log(line);
  print(
    `kill -9 durability: ${runs} runs, ${pushers} pushers × ${pushes} pushes, seed ${seed}`,
  );
  let failed = false;
  for (let run = 1; run <= runs; run++) {
    let result: RunResult;
    try {
      result = await runOnce({ pushers, pushes, jitterMs }, next);
    } catch (error) {
      failed = true;
      print(`run ${run}/${runs}: FAILED to run\n${errorText(error)}`);
      continue;
    }
    const { sent, killAfterAcks, report } = result;
    const bad = report.lost.length + report.halfApplied.length;
    if (bad > 0) failed = true;
    print(
      `run ${run}/${runs}: sent ${sent}, acked ${report.acked} (SIGKILL after ${killAfterAcks} acks), ` +
        `lost ${report.lost.length}, half-applied ${report.halfApplied.length}, ` +
        `in flight and kept ${report.inFlightCommitted}${
          bad > 0 ? "  FAILED" : ""
        }`,
    );
    for (const line of [...report.lost, ...report.halfApplied].slice(0, 20)) {
      print(`  ${line}`);
    }
  }
  print(
    failed
      ? "FAILED: acknowledged pushes were lost, or a run could not complete"
      : "ok: nothing lost",
  );
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
