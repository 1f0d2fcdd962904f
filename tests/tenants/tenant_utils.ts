/**
 * Helpers for the tenant tests: a client that sends as a user over plain
 * HTTP or TLS (fetch, and the curl binary for pushes), and readers that
 * turn each endpoint's answer into the set of groups it shows, named by
 * their `job` label (every test group has its own job).
 * @module
 */

import assert from "node:assert/strict";
import { decodeDelimited } from "../../src/exposition/protobuf_decode.ts";
import { PROTOBUF_DELIMITED_CONTENT_TYPE } from "../../src/exposition/negotiate.ts";
import { run } from "../e2e/e2e_utils.ts";
import { basic, type Pki } from "../security/security_utils.ts";

export const PASSWORD = "tenant-pw";

export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly bytes: Uint8Array;
}

/** Sends as users to one gateway, over plain HTTP or TLS. */
export class TenantClient {
  readonly url: string;
  readonly #client: Deno.HttpClient | undefined;
  readonly #caFile: string | undefined;

  constructor(url: string, tls?: { pki: Pki }) {
    this.url = url;
    this.#client = tls
      ? Deno.createHttpClient({ caCerts: [tls.pki.read(tls.pki.caCert)] })
      : undefined;
    this.#caFile = tls ? `${tls.pki.dir}/${tls.pki.caCert}` : undefined;
  }

  async send(
    user: string,
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      redirect: "manual",
      headers: { ...basic(user, PASSWORD), ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(this.#client ? { client: this.#client } : {}),
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    return {
      status: res.status,
      bytes,
      text: new TextDecoder().decode(bytes),
    };
  }

  /** The same request by the curl binary: status and body. */
  async curl(
    user: string,
    method: string,
    path: string,
    body?: string,
  ): Promise<{ status: number; body: string }> {
    const { stdout } = await run("curl", [
      "--silent",
      "--show-error",
      "--write-out",
      "\n%{http_code}",
      "-u",
      `${user}:${PASSWORD}`,
      "-X",
      method,
      ...(this.#caFile ? ["--cacert", this.#caFile] : []),
      ...(body === undefined ? [] : ["--data-binary", "@-"]),
      `${this.url}${path}`,
    ], body === undefined ? {} : { stdin: body });
    const cut = stdout.lastIndexOf("\n");
    return {
      status: Number(stdout.slice(cut + 1)),
      body: stdout.slice(0, cut),
    };
  }

  close(): void {
    this.#client?.close();
  }
}

/** What a scrape shows: per family, the jobs of the groups it shows. */
export type Shown = Map<string, Set<string>>;

function add(shown: Shown, family: string, job: string | undefined): void {
  let jobs = shown.get(family);
  if (jobs === undefined) shown.set(family, jobs = new Set());
  if (job !== undefined) jobs.add(job);
}

/** Families and jobs of a text scrape. */
export function shownInText(text: string): Shown {
  const shown: Shown = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const name = /^[^{ ]+/.exec(line)?.[0] ?? "";
    add(shown, name, /[{,]job="([^"]*)"/.exec(line)?.[1]);
  }
  return shown;
}

/** Families and jobs of a delimited protobuf scrape. */
export function shownInProtobuf(bytes: Uint8Array): Shown {
  const shown: Shown = new Map();
  for (const family of decodeDelimited(bytes)) {
    for (const metric of family.metrics) {
      add(
        shown,
        family.name,
        metric.labels.find((l) => l.name === "job")?.value,
      );
    }
  }
  return shown;
}

export const PROTOBUF_ACCEPT = PROTOBUF_DELIMITED_CONTENT_TYPE;

/** The jobs of `/api/v1/metrics`' groups. */
export function jobsInApi(text: string): Set<string> {
  const body = JSON.parse(text) as {
    data: { labels: Record<string, string> }[];
  };
  return new Set(body.data.map((g) => g.labels.job as string));
}

/** The jobs of `/api/v1/history`'s rows. */
export function jobsInHistory(text: string): Set<string> {
  const body = JSON.parse(text) as {
    data: { labels: Record<string, string> | null }[];
  };
  return new Set(
    body.data.flatMap((row) => row.labels?.job ? [row.labels.job] : []),
  );
}

/** Asserts `actual` holds exactly `expected`, in any order. */
export function assertJobs(
  actual: Iterable<string>,
  expected: Iterable<string>,
  what: string,
): void {
  assert.deepEqual([...actual].sort(), [...expected].sort(), what);
}
