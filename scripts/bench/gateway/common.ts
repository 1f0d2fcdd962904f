/**
 * What every part of the gateway benchmark shares: the loopback host, the
 * binaries it runs, where the repository is, and how it prints.
 * @module
 */

export const HOST = "127.0.0.1";
export const PUSHGATEWAY_BIN = "/usr/bin/prometheus-pushgateway";
export const WRK_BIN = "/usr/bin/wrk";
export const REPO = new URL("../../../", import.meta.url).pathname;
export const SCRIPTS = new URL("../", import.meta.url).pathname;
export const encoder = new TextEncoder();

export function print(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}
export function progress(text: string): void {
  Deno.stderr.writeSync(
    encoder.encode(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`),
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1
    ? s[mid] as number
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
