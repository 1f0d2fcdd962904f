/**
 * What the abuse benchmark's parts share: the loopback host, the binaries,
 * the probe interval and settling times, printing and small helpers.
 * @module
 */

export const HOST = "127.0.0.1";
export const PUSHGATEWAY_BIN = "/usr/bin/prometheus-pushgateway";
export const REPO = new URL("../../../", import.meta.url).pathname;
export const TEXT = { "Content-Type": "text/plain; version=0.0.4" } as const;
export const PROBE_INTERVAL_MS = 10;
/** Probing goes on this long after the abuse, so a late stall is seen. */
export const TAIL_MS = 500;
export const READY_TIMEOUT_MS = 120_000;
/** Wait after ready, probing, before the row starts. */
export const SETTLE_MS = 2_000;
export const PASSWORD = "correct horse";
export const encoder = new TextEncoder();

export type Kind = "pushvault" | "pushgateway";

export function print(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}
export function progress(text: string): void {
  Deno.stderr.writeSync(
    encoder.encode(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`),
  );
}
export const now = () => performance.timeOrigin + performance.now();
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

export async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await sleep(1);
  return port;
}

/** 80000 → "80k", 1000000 → "1M". */
export function count(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(n);
}

export function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}
