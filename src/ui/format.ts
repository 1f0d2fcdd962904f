/**
 * How the web UI writes numbers, times and native-histogram buckets
 * (docs/compatibility.md, Web UI).
 * Pure; never throws.
 *
 * Digits always come from `formatGoFloat` (exposition/float.ts, the one place
 * that turns float64 into text); {@link formatPlainDecimal} only moves the
 * decimal point, as the Pushgateway's template writes values with Go's
 * `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an exponent.
 * @module
 */

import { formatGoFloat } from "../exposition/float.ts";
import type { NativeHistogram } from "../exposition/model.ts";
import { nativeBuckets as nativeBucketList } from "../exposition/native_buckets.ts";

/** Go `strconv.FormatFloat(v, 'f', -1, 64)`: `1e+21` → `1000000000000000000000`. */
export function formatPlainDecimal(value: number): string {
  const g = formatGoFloat(value);
  const at = g.indexOf("e");
  if (at < 0) return g; // plain already, or NaN, +Inf, -Inf, -0
  const exponent = Number(g.slice(at + 1));
  let mantissa = g.slice(0, at);
  let sign = "";
  if (mantissa.startsWith("-")) {
    sign = "-";
    mantissa = mantissa.slice(1);
  }
  const dot = mantissa.indexOf(".");
  const digits = dot < 0
    ? mantissa
    : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  // Where the decimal point falls inside `digits` once the exponent is applied.
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) {
    return sign + digits + "0".repeat(point - digits.length);
  }
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Unix seconds → RFC 3339 in UTC, whole seconds (Go's `time.RFC3339`). */
export function formatTime(seconds: number): string {
  const date = new Date(Math.floor(seconds) * 1000);
  if (Number.isNaN(date.getTime())) return "invalid time";
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * Unix seconds → RFC 3339 in UTC with milliseconds, `2026-12-07T18:01:02.345Z`:
 * pushes a few milliseconds apart must not all read the same second.
 */
export function formatTimeMs(seconds: number): string {
  const date = new Date(Math.round(seconds * 1000));
  if (Number.isNaN(date.getTime())) return "invalid time";
  return date.toISOString();
}

/** A short age: `just now`, `42s ago`, `5m ago`, `3h ago`, `12d ago`. */
export function formatAge(seconds: number): string {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 0) return "in the future";
  if (seconds < 1) return "just now";
  return `${formatSpan(seconds)} ago`;
}

/** A span in its largest whole unit: `42s`, `5m`, `3h`, `12d`. */
export function formatSpan(seconds: number): string {
  if (seconds < 60) return `${Math.floor(Math.max(0, seconds))}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** A duration in seconds as `3d 4h 5m 6s`, leading zero units left out. */
export function formatDuration(seconds: number): string {
  let rest = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]] as const) {
    if (rest >= size || parts.length > 0) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  parts.push(`${rest}s`);
  return parts.join(" ");
}

/** Bytes as `512 B`, `1.5 KiB`, `2.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** One populated native-histogram bucket, in Prometheus' interval notation. */
export interface NativeBucket {
  /** `(0.5,1]`, `[-1,-0.5)`, `[-0.001,0.001]`. */
  readonly interval: string;
  readonly count: number;
}

/**
 * The populated buckets of a native histogram, ascending, in the interval
 * notation of Prometheus' `FloatHistogram.String()`.
 */
export function nativeBuckets(native: NativeHistogram): NativeBucket[] {
  return nativeBucketList(native).map((b) => ({
    interval: `${b.boundaries === 0 ? "(" : "["}${formatGoFloat(b.lower)},${
      formatGoFloat(b.upper)
    }${b.boundaries === 1 ? ")" : "]"}`,
    count: b.count,
  }));
}
