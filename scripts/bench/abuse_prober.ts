/**
 * The abuse benchmark's prober, run as a Web Worker so that the abusive
 * clients in the main thread (building a 58 MB body, reading a 100 MB page)
 * never delay a probe: `GET /-/healthy` every `intervalMs` on one keep-alive
 * connection (fetch's pool, one request at a time), with the row's
 * credentials and CA. A probe still unanswered when "stop" arrives is
 * recorded with the time it has waited so far, then aborted.
 *
 * Messages in: `{ type: "start", config }`, `{ type: "stop" }`.
 * Message out: `{ type: "done", probes, cutStartMs }`, times on the shared
 * clock `performance.timeOrigin + performance.now()`.
 * @module
 */

/// <reference lib="deno.worker" />

import type { Probe } from "./abuse_report.ts";

export interface ProberConfig {
  readonly url: string;
  readonly intervalMs: number;
  readonly headers: Readonly<Record<string, string>>;
  /** PEM of a CA to trust, for HTTPS. */
  readonly caCert?: string;
  /** Stops on its own after this long, whatever happens to the main thread. */
  readonly maxMs: number;
}

export type ProberMessage =
  | { readonly type: "start"; readonly config: ProberConfig }
  | { readonly type: "stop" };

export interface ProberDone {
  readonly type: "done";
  readonly probes: readonly Probe[];
  readonly cutStartMs: number | null;
}

const now = () => performance.timeOrigin + performance.now();

let stopping = false;
let wake: (() => void) | undefined;
let inFlight: AbortController | undefined;

async function probeLoop(config: ProberConfig): Promise<void> {
  const client = config.caCert === undefined
    ? undefined
    : Deno.createHttpClient({ caCerts: [config.caCert] });
  const probes: Probe[] = [];
  let cutStartMs: number | null = null;
  const until = now() + config.maxMs;
  try {
    while (!stopping && now() < until && probes.length < 1_000_000) {
      const start = now();
      const controller = new AbortController();
      inFlight = controller;
      let status = 0;
      try {
        const res = await fetch(config.url, {
          headers: config.headers,
          signal: controller.signal,
          ...(client === undefined ? {} : { client }),
        });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        if (controller.signal.aborted) cutStartMs = start;
      }
      inFlight = undefined;
      const duration = now() - start;
      probes.push([start, duration, status]);
      const pause = config.intervalMs - duration;
      if (pause > 0 && !stopping) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, pause);
        });
        wake = undefined;
      }
    }
  } finally {
    client?.close();
  }
  const done: ProberDone = { type: "done", probes, cutStartMs };
  self.postMessage(done);
  self.close();
}

self.onmessage = (event: MessageEvent<ProberMessage>) => {
  const message = event.data;
  if (message.type === "start") {
    void probeLoop(message.config);
  } else {
    stopping = true;
    inFlight?.abort();
    wake?.();
  }
};
