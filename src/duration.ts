/**
 * Durations as Prometheus and Go write them: parsed from flags and request
 * parameters (`5m`, `1h30m`, `7d`), and written back as Go's
 * `time.Duration` prints them.
 * @module
 */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Prometheus durations (`5m`, `1h30m`, `7d`, `0`) → milliseconds. */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const re = /(\d+)(ms|s|m|h|d|w|y)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    at = re.lastIndex;
  }
  return text.length > 0 ? total : undefined;
}

/** Go's time.Duration String(): `5m0s`, `1h0m0s`, `30s`, `0s`. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
