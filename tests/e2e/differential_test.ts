/**
 * Differential test: every case of `differential_cases.ts` runs against the
 * reference Pushgateway 1.5.1 (a child process) and Pushvault (in process);
 * for every request the status, the Location/Allow/Content-Type headers and
 * the body (error bodies up to the free-wording prefixes of
 * `deviations.ts`, scrapes with own families stripped and push times
 * normalised) must agree, and so must the scrape and `/api/v1/metrics`
 * after the case (groups sorted, times replaced), except at the places
 * `deviations.ts` lists.
 * @module
 */

import assert from "node:assert/strict";
import { stripOwn } from "../test_utils.ts";
import { startTestGateway } from "../test_utils.ts";
import type { DiffCase, DiffRequest } from "./differential_cases.ts";
import { DIFF_CASES } from "./differential_cases.ts";
import type { Deviation } from "./deviations.ts";
import {
  COMPARED_DETAILS,
  DEVIATIONS,
  FREE_WORDING_AFTER,
} from "./deviations.ts";
import type { ProcessGroup, ServerProcess } from "./process_utils.ts";
import { pushgatewayInstalled, withProcesses } from "./process_utils.ts";

/**
 * Headers whose values must agree (docs/compatibility.md, Routes; Methods and
 * status codes).
 */
const COMPARED_HEADERS = ["location", "allow", "content-type"] as const;
const DEFAULT_ANSWER_WITHIN_MS = 10_000;
const SCRAPE_PATH = "/metrics";
const API_PATH = "/api/v1/metrics";
const SCRAPE_ERROR_PREFIX = "An error has occurred while serving metrics:";

interface Answer {
  /** 0 when no answer came within the request's time limit. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

interface Difference {
  readonly where: string;
  readonly reference: string;
  readonly pushvault: string;
  /** The bodies as compared. */
  readonly bodies: { readonly reference: string; readonly pushvault: string };
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

function isScrape(req: DiffRequest): boolean {
  return req.method === "GET" && req.path === SCRAPE_PATH;
}

const METADATA_FAMILIES = new Set([
  "push_time_seconds",
  "push_failure_time_seconds",
]);

/**
 * `/api/v1/metrics` made comparable: groups sorted by their labels (1.5.1
 * gives them in random order), every `time_stamp` and every non-zero push
 * time replaced; key order kept as served.
 */
export function normalizeApi(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text;
  }
  if (
    typeof json !== "object" || json === null || !("data" in json) ||
    !Array.isArray(json.data)
  ) {
    return text;
  }
  const groups = json.data.map((group: unknown) => {
    if (typeof group !== "object" || group === null) return group;
    return Object.fromEntries(
      Object.entries(group).map(([name, family]) => {
        if (typeof family !== "object" || family === null) {
          return [name, family];
        }
        const copy: Record<string, unknown> = { ...family };
        if ("time_stamp" in copy) copy.time_stamp = "<ts>";
        if (METADATA_FAMILIES.has(name) && Array.isArray(copy.metrics)) {
          copy.metrics = copy.metrics.map((metric: unknown) =>
            typeof metric === "object" && metric !== null &&
              "value" in metric && metric.value !== "0"
              ? { ...metric, value: "<time>" }
              : metric
          );
        }
        return [name, copy];
      }),
    );
  });
  const key = (group: unknown) =>
    JSON.stringify(
      typeof group === "object" && group !== null && "labels" in group
        ? group.labels
        : group,
    );
  groups.sort((a: unknown, b: unknown) => key(a) < key(b) ? -1 : 1);
  return JSON.stringify({ ...json, data: groups }, null, 1);
}

/** The body as compared: see the module comment. */
function normalizeBody(req: DiffRequest, status: number, body: string): string {
  if (isScrape(req) && status === 200) return stripOwn(body);
  if (req.method === "GET" && req.path === API_PATH && status === 200) {
    return normalizeApi(body);
  }
  if (body.startsWith(SCRAPE_ERROR_PREFIX)) return SCRAPE_ERROR_PREFIX;
  for (const prefix of FREE_WORDING_AFTER) {
    if (!body.startsWith(prefix)) continue;
    const detail = body.slice(prefix.length);
    for (const { pattern, shape } of COMPARED_DETAILS) {
      if (pattern.test(detail)) return prefix + detail.replace(pattern, shape);
    }
    return `${prefix}<detail>`;
  }
  return body;
}

function pickHeaders(headers: Headers): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of COMPARED_HEADERS) {
    const value = headers.get(name);
    if (value !== null) picked[name] = value;
  }
  return picked;
}

async function send(base: string, req: DiffRequest): Promise<Answer> {
  const abort = new AbortController();
  const timer = setTimeout(
    () => abort.abort(),
    req.answerWithinMs ?? DEFAULT_ANSWER_WITHIN_MS,
  );
  try {
    const { status, headers, body } = req.raw
      ? await sendRaw(base, req, abort.signal)
      : await sendFetch(base, req, abort.signal);
    return {
      status,
      headers: pickHeaders(headers),
      body: normalizeBody(req, status, body),
    };
  } catch (error) {
    if (abort.signal.aborted) return { status: 0, headers: {}, body: "" };
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function sendFetch(
  base: string,
  req: DiffRequest,
  signal: AbortSignal,
): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${base}${req.path}`, {
    method: req.method,
    redirect: "manual",
    signal,
    ...(req.body === undefined ? {} : { body: req.body }),
    ...(req.headers === undefined ? {} : { headers: req.headers }),
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** HTTP/1.1 over a plain connection, the request line exactly as given. */
async function sendRaw(
  base: string,
  req: DiffRequest,
  signal: AbortSignal,
): Promise<{ status: number; headers: Headers; body: string }> {
  const url = new URL(base);
  const conn = await Deno.connect({
    hostname: url.hostname,
    port: Number(url.port),
  });
  const onAbort = () => conn.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const body = typeof req.body === "string"
      ? new TextEncoder().encode(req.body)
      : req.body ?? new Uint8Array();
    const head = [
      `${req.method} ${req.path} HTTP/1.1`,
      `Host: ${url.host}`,
      "Connection: close",
      `Content-Length: ${body.length}`,
      ...Object.entries(req.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ].join("\r\n");
    const out = new Uint8Array([...new TextEncoder().encode(head), ...body]);
    for (let written = 0; written < out.length;) {
      written += await conn.write(out.subarray(written));
    }
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    return parseRawResponse(concat(chunks));
  } finally {
    signal.removeEventListener("abort", onAbort);
    try {
      conn.close();
    } catch {
      // Closed by the abort.
    }
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function parseRawResponse(
  bytes: Uint8Array,
): { status: number; headers: Headers; body: string } {
  const text = new TextDecoder().decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  assert.ok(end > 0, `not an HTTP response: ${JSON.stringify(text)}`);
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = text.slice(end + 4);
  if (headers.get("transfer-encoding")?.toLowerCase() === "chunked") {
    let decoded = "";
    for (;;) {
      const lineEnd = body.indexOf("\r\n");
      const size = parseInt(body.slice(0, lineEnd), 16);
      if (!(size > 0)) break;
      decoded += body.slice(lineEnd + 2, lineEnd + 2 + size);
      body = body.slice(lineEnd + 2 + size + 2);
    }
    body = decoded;
  }
  return { status, headers, body };
}

function describeAnswer(answer: Answer, place: "status" | "body" | string) {
  if (place === "status") {
    return answer.status === 0 ? "no answer" : String(answer.status);
  }
  if (place === "body") return JSON.stringify(answer.body);
  const name = place.replace(/^header /, "");
  return JSON.stringify(answer.headers[name] ?? null);
}

function compareAnswers(
  where: string,
  reference: Answer,
  pushvault: Answer,
): Difference[] {
  const places = [
    "status",
    "body",
    ...COMPARED_HEADERS.map((h) => `header ${h}`),
  ];
  const out: Difference[] = [];
  for (const place of places) {
    const ref = describeAnswer(reference, place);
    const pv = describeAnswer(pushvault, place);
    if (ref !== pv) {
      out.push({
        where: `${where} ${place}`,
        reference: ref,
        pushvault: pv,
        bodies: { reference: reference.body, pushvault: pushvault.body },
      });
    }
  }
  return out;
}

/** Scrapes the reference until it equals `expected`, for a bounded time. */
async function settledReference(
  url: string,
  req: DiffRequest,
  expected: Answer,
  first: Answer,
): Promise<Answer> {
  let answer = first;
  for (let attempt = 0; attempt < 40; attempt++) {
    if (compareAnswers("", answer, expected).length === 0) return answer;
    await sleep(25);
    answer = await send(url, req);
  }
  return answer;
}

/**
 * Scrapes the reference until it has given two different outputs and
 * `ours` among them (at most 200 times): its HELP winner is random.
 */
async function referenceOutcomes(
  url: string,
  req: DiffRequest,
  ours: string,
): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let attempt = 0; attempt < 200; attempt++) {
    if (seen.size > 1 && seen.has(ours)) break;
    const answer = await send(url, req);
    seen.add(`${answer.status} ${answer.body}`);
  }
  return seen;
}

async function runCase(
  c: DiffCase,
  deviation: Deviation | undefined,
  referenceUrl: string,
  pushvaultUrl: string,
): Promise<Difference[]> {
  const differences: Difference[] = [];
  let referenceQueued = false;
  const steps: { where: string; req: DiffRequest }[] = c.requests.map((
    req,
    i,
  ) => ({ where: `request ${i + 1}`, req }));
  steps.push(
    { where: "final scrape", req: { method: "GET", path: SCRAPE_PATH } },
    { where: "final api", req: { method: "GET", path: API_PATH } },
  );
  for (const { where, req } of steps) {
    let reference = await send(referenceUrl, req);
    const pushvault = await send(pushvaultUrl, req);
    if ((isScrape(req) || req.path === API_PATH) && referenceQueued) {
      // DELETE and wipe are applied after their 202 by 1.5.1's writer
      // (docs/compatibility.md, Methods and status codes): give it a moment
      // before calling the scrape different.
      reference = await settledReference(
        referenceUrl,
        req,
        pushvault,
        reference,
      );
    }
    if (reference.status === 202) referenceQueued = true;
    if (where === "final scrape" && deviation?.referenceVaries) {
      const ours = `${pushvault.status} ${pushvault.body}`;
      const outcomes = await referenceOutcomes(referenceUrl, req, ours);
      assert.ok(
        outcomes.has(ours),
        `Pushvault's scrape is none of the reference's:\n${ours}\n--- reference ---\n${
          [...outcomes].join("\n---\n")
        }`,
      );
      const again = await send(pushvaultUrl, req);
      assert.equal(again.body, pushvault.body, "Pushvault's scrape is stable");
      if (outcomes.size > 1) {
        differences.push({
          where: "final scrape body",
          reference: `${outcomes.size} different outputs`,
          pushvault: "one output",
          bodies: { reference: "", pushvault: pushvault.body },
        });
      }
      continue;
    }
    const found = compareAnswers(where, reference, pushvault);
    for (const d of found) {
      differences.push({
        ...d,
        reference: `${d.reference}  [${req.method} ${req.path}]`,
      });
    }
  }
  return differences;
}

function report(differences: readonly Difference[]): string {
  return differences.map((d) =>
    `${d.where}:\n  reference: ${d.reference}\n  pushvault: ${d.pushvault}`
  ).join("\n");
}

/** Wipes a gateway and waits (bounded) until its store is empty. */
async function wipe(url: string): Promise<void> {
  const res = await fetch(`${url}/api/v1/admin/wipe`, { method: "PUT" });
  await res.body?.cancel();
  assert.equal(res.status, 202, `wipe on ${url}`);
  for (let attempt = 0; attempt < 200; attempt++) {
    const api = await fetch(`${url}/api/v1/metrics`);
    const text = await api.text();
    if (/"data":\[\]/.test(text)) return;
    await sleep(25);
  }
  throw new Error(`${url} did not become empty after a wipe`);
}

/** Both gateways run with the admin API, for the wipe between cases. */
const COMMON_FLAGS = ["--web.enable-admin-api"] as const;

interface Pair {
  reference: ServerProcess;
  readonly pushvault: string;
}

function startReference(
  group: ProcessGroup,
  flags: readonly string[],
): Promise<ServerProcess> {
  return group.pushgateway([...COMMON_FLAGS, ...flags]);
}

Deno.test("DEVIATIONS name existing cases, once each, at valid places", () => {
  const names = new Set(DIFF_CASES.map((c) => c.name));
  assert.equal(names.size, DIFF_CASES.length, "case names are unique");
  const seen = new Set<string>();
  for (const d of DEVIATIONS) {
    assert.ok(names.has(d.case), `deviation for unknown case ${d.case}`);
    assert.ok(!seen.has(d.case), `two deviations for ${d.case}`);
    seen.add(d.case);
    assert.ok(d.differences.length > 0, `${d.case}: no places listed`);
    for (const place of d.differences) {
      assert.match(
        place,
        /^(request [1-9][0-9]*|final scrape|final api) (status|body|header [a-z-]+)$/,
        `${d.case}: bad place ${place}`,
      );
    }
    assert.ok(d.what.length > 0 && d.why.length > 0, `${d.case}: what and why`);
  }
});

/**
 * The sections a `doc` field names, as [document, heading] pairs:
 * `"security.md: Limits; compatibility.md: Validation; Scrapes"` names
 * Limits in security.md, Validation and Scrapes in compatibility.md.
 */
function docSections(doc: string): [string, string][] {
  const sections: [string, string][] = [];
  let file = "";
  for (const part of doc.split(";").map((p) => p.trim())) {
    const named = /^([a-z_-]+\.md): (.+)$/.exec(part);
    if (named) file = named[1] as string;
    sections.push([file, named ? named[2] as string : part]);
  }
  return sections;
}

Deno.test("every doc field names sections that docs/ has", async () => {
  const headings = new Map<string, Set<string>>();
  const docs = [
    ...DIFF_CASES.map((c) => ({ what: c.name, doc: c.doc })),
    ...DEVIATIONS.map((d) => ({ what: `deviation ${d.case}`, doc: d.doc })),
  ];
  for (const { what, doc } of docs) {
    for (const [file, section] of docSections(doc)) {
      assert.ok(file !== "", `${what}: "${doc}" names no document first`);
      if (!headings.has(file)) {
        const text = await Deno.readTextFile(
          new URL(`../../docs/${file}`, import.meta.url),
        );
        headings.set(
          file,
          new Set(
            text.match(/^#{2,} .+$/gm)?.map((h) => h.replace(/^#+ /, "")),
          ),
        );
      }
      assert.ok(
        headings.get(file)?.has(section),
        `${what}: docs/${file} has no section "${section}"`,
      );
    }
  }
});

Deno.test({
  name:
    "Pushvault answers every differential case like Pushgateway 1.5.1, except the listed deviations",
  ignore: !pushgatewayInstalled(),
  async fn(t) {
    await withProcesses(async (group) => {
      await using stack = new AsyncDisposableStack();
      // One reference and one Pushvault per set of case flags, started when
      // a case first needs them.
      const pairs = new Map<string, Pair>();
      const pairFor = async (flags: readonly string[]): Promise<Pair> => {
        const key = flags.join(" ");
        let pair = pairs.get(key);
        if (pair === undefined) {
          const pushvault = stack.use(
            await startTestGateway([...COMMON_FLAGS, ...flags]),
          );
          pair = {
            reference: await startReference(group, flags),
            pushvault: pushvault.url,
          };
          pairs.set(key, pair);
        }
        return pair;
      };
      for (const c of DIFF_CASES) {
        const flags = c.flags ?? [];
        const pair = await pairFor(flags);
        const deviation = DEVIATIONS.find((d) => d.case === c.name);
        await t.step(`${c.name} (${c.doc})`, async () => {
          const differences = await runCase(
            c,
            deviation,
            pair.reference.url,
            pair.pushvault,
          );
          if (deviation === undefined) {
            assert.ok(
              differences.length === 0,
              `Pushvault differs from the reference:\n${report(differences)}`,
            );
            return;
          }
          assert.deepEqual(
            differences.map((d) => d.where).sort(),
            [...deviation.differences].sort(),
            `the deviation "${deviation.what}" is not where deviations.ts says:\n${
              report(differences)
            }`,
          );
          const adds = deviation.messageAdds;
          for (const d of differences) {
            if (adds === undefined || !d.where.endsWith(" body")) continue;
            // Both end with the line feed that ends the message.
            const reference = d.bodies.reference.replace(/\n$/, "");
            const pushvault = d.bodies.pushvault.replace(/\n$/, "");
            assert.ok(
              pushvault.startsWith(reference) &&
                adds.test(pushvault.slice(reference.length)),
              `${d.where}: Pushvault's message is not the reference's plus ${adds}:\n${
                report([d])
              }`,
            );
          }
        });
        if (c.restartReferenceAfter !== undefined) {
          await pair.reference.process[Symbol.asyncDispose]();
          pair.reference = await startReference(group, flags);
        } else {
          await wipe(pair.reference.url);
        }
        await wipe(pair.pushvault);
      }
    });
  },
});
