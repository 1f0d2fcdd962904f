/**
 * The pure parts of the abuse benchmark (abuse.ts): its options, the abusive
 * bodies, the longest probe of a window, the targets and the Markdown table.
 * No I/O, no clock: abuse.ts owns the servers and the time.
 * @module
 */

const encoder = new TextEncoder();

/** Options of `deno task bench:abuse`. */
export interface AbuseOptions {
  /** Smaller sizes and shorter floods, for development. */
  readonly quick: boolean;
  /** Row ids or row groups to run; empty: all. */
  readonly only: readonly string[];
  readonly jsonPath: string | undefined;
  readonly pushvaultOnly: boolean;
  /** Timeout of each abusive request, ms (`--timeout <seconds>`). */
  readonly timeoutMs: number;
}

export const USAGE = "usage: deno run -A scripts/bench/abuse.ts [--quick] " +
  "[--only <row>]… [--json <file>] [--pushvault-only] [--timeout <seconds>]";

/** Parses the command line; throws a RangeError naming the bad argument. */
export function parseAbuseOptions(args: readonly string[]): AbuseOptions {
  let quick = false;
  let pushvaultOnly = false;
  let jsonPath: string | undefined;
  let timeoutMs = 60_000;
  const only: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf("=");
    const [flag, inline] = arg.startsWith("--") && eq > 0
      ? [arg.slice(0, eq), arg.slice(eq + 1)]
      : [arg, undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined || v === "") {
        throw new RangeError(`${flag} needs a value; ${USAGE}`);
      }
      return v;
    };
    switch (flag) {
      case "--quick":
        quick = true;
        break;
      case "--pushvault-only":
        pushvaultOnly = true;
        break;
      case "--only":
        only.push(...value().split(",").filter((s) => s !== ""));
        break;
      case "--json":
        jsonPath = value();
        break;
      case "--timeout": {
        const text = value();
        const seconds = Number(text);
        if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0 || seconds > 600) {
          throw new RangeError(
            `--timeout takes seconds from 1 to 600, not ${
              JSON.stringify(text)
            }`,
          );
        }
        timeoutMs = seconds * 1000;
        break;
      }
      default:
        throw new RangeError(
          `unknown argument ${JSON.stringify(arg)}; ${USAGE}`,
        );
    }
  }
  return { quick, only, jsonPath, pushvaultOnly, timeoutMs };
}

// --- bodies ----------------------------------------------------------------------

/**
 * One series with `count` labels, `m{l0="v",l1="v",…} 1`; with `invalid`
 * the value is `x`, which no parser accepts, after all the labels.
 */
export function labelsBody(
  count: number,
  invalid = false,
): Uint8Array<ArrayBuffer> {
  const labels = Array.from({ length: count }, (_, i) => `l${i}="v"`);
  return encoder.encode(`m{${labels.join(",")}} ${invalid ? "x" : "1"}\n`);
}

/** `m 111…1\n` whose number token is `digits` long. */
export function bigNumberBody(digits: number): Uint8Array<ArrayBuffer> {
  const body = new Uint8Array(digits + 3).fill(0x31);
  body[0] = 0x6d; // m
  body[1] = 0x20;
  body[body.length - 1] = 0x0a;
  return body;
}

const SERIES_HEAD = encoder.encode("# TYPE m gauge\n");
const SERIES_LINE = encoder.encode('m{id="00000000"} 1\n');
const SERIES_DIGITS_AT = 6;
const SERIES_DIGITS = 8;

/**
 * A gauge `m` with `series` series `m{id="00000042"} 1`, 19 bytes each:
 * 1M series are 18.1 MiB, as in the adversarial run.
 */
export function seriesBody(series: number): Uint8Array<ArrayBuffer> {
  if (series > 10 ** SERIES_DIGITS) {
    throw new RangeError(`at most ${10 ** SERIES_DIGITS} series`);
  }
  const out = new Uint8Array(SERIES_HEAD.length + series * SERIES_LINE.length);
  out.set(SERIES_HEAD, 0);
  for (let s = 0; s < series; s++) {
    const at = SERIES_HEAD.length + s * SERIES_LINE.length;
    out.set(SERIES_LINE, at);
    let n = s;
    for (let d = SERIES_DIGITS - 1; d >= 0 && n > 0; d--) {
      out[at + SERIES_DIGITS_AT + d] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
  }
  return out;
}

/** The number of 19-byte series that make a body of about `bytes`. */
export function seriesForBytes(bytes: number): number {
  return Math.max(1, Math.round(bytes / SERIES_LINE.length));
}

/** `families` gauges of `series` series each, values from `round`. */
export function gaugesBody(
  families: number,
  series: number,
  round: number,
): string {
  let text = "";
  for (let f = 0; f < families; f++) {
    text += `# TYPE abuse_g${f} gauge\n`;
    for (let s = 0; s < series; s++) {
      text += `abuse_g${f}{s="${s}"} ${round + s}\n`;
    }
  }
  return text;
}

// --- figures ----------------------------------------------------------------------

/** A probe: when it was sent (ms, any shared clock), how long it took, status (0: failed). */
export type Probe = readonly [
  startMs: number,
  durationMs: number,
  status: number,
];

/** What the probes say about a window of time. */
export interface ProbeSummary {
  /** Probes that overlap the window. */
  readonly count: number;
  /** The longest of them; 0 without probes. */
  readonly maxMs: number;
  /** Probes that failed or did not answer 200. */
  readonly failed: number;
  /** The longest probe had not been answered when probing stopped. */
  readonly cut: boolean;
}

/**
 * The probes overlapping `[fromMs, toMs]`; `cutStartMs` is the start of a
 * probe still unanswered when probing stopped (its duration is a lower bound).
 */
export function summarizeProbes(
  probes: readonly Probe[],
  fromMs: number,
  toMs: number,
  cutStartMs: number | null = null,
): ProbeSummary {
  let count = 0;
  let maxMs = 0;
  let failed = 0;
  let cut = false;
  for (const [start, duration, status] of probes) {
    if (start > toMs || start + duration < fromMs) continue;
    count++;
    if (status !== 200) failed++;
    if (duration > maxMs) {
      maxMs = duration;
      cut = start === cutStartMs;
    }
  }
  return { count, maxMs, failed, cut };
}

/** The `p`-quantile (0..1) of `xs` by nearest rank; NaN for none. */
export function quantile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1);
  return sorted[Math.max(0, rank)] as number;
}

export const PROBE_TARGET_MS = 100;

/** A target of a row: what it asks and whether Pushvault met it. */
export interface Check {
  readonly name: string;
  readonly met: boolean;
  /** What was measured against what was asked, e.g. `412 MiB > 300 MiB`. */
  readonly text: string;
}

export function probeCheck(probe: ProbeSummary): Check {
  const met = probe.count > 0 && !probe.cut &&
    probe.maxMs <= PROBE_TARGET_MS && probe.failed === 0;
  const failed = probe.failed > 0 ? `, ${probe.failed} failed` : "";
  return {
    name: "probe",
    met,
    text: `probe ${formatMs(probe.maxMs)}${probe.cut ? "+" : ""}${failed} ${
      met ? "≤" : "vs"
    } ${PROBE_TARGET_MS} ms`,
  };
}

export function memoryCheck(peakMiB: number, limitMiB: number): Check {
  const met = peakMiB <= limitMiB;
  return {
    name: "memory",
    met,
    text: `peak ${Math.round(peakMiB)} ${met ? "≤" : ">"} ${
      Math.round(limitMiB)
    } MiB`,
  };
}

// --- formatting -------------------------------------------------------------------

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "–";
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** One server's figures in one row. */
export interface ServerCell {
  /** Why this server did not run the row ("n/a: …"), if it did not. */
  readonly skipped?: string;
  readonly probe?: ProbeSummary;
  /** Probes of the idle server just before the abuse: the noise floor. */
  readonly idle?: ProbeSummary;
  readonly peakMiB?: number;
  /** Status and time of the abusive request(s), e.g. `400 in 1.2 s`. */
  readonly request?: string;
  /** What else the row measured. */
  readonly detail?: string;
}

export interface RowReport {
  readonly id: string;
  readonly title: string;
  readonly pushvault: ServerCell;
  readonly pushgateway: ServerCell;
  /** Pushvault's targets; empty when it did not run. */
  readonly checks: readonly Check[];
}

function cellText(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function probeText(cell: ServerCell): string {
  if (cell.probe === undefined) return "–";
  const p = cell.probe;
  if (p.count === 0) return "no probe";
  const idle = cell.idle === undefined || cell.idle.count === 0
    ? ""
    : ` (idle ${formatMs(cell.idle.maxMs)})`;
  return `${formatMs(p.maxMs)}${p.cut ? "+" : ""}${
    p.failed > 0 ? `, ${p.failed}/${p.count} failed` : ""
  }${idle}`;
}

/** The verdict on Pushvault's targets: `met`, or `not met: …` naming what failed. */
export function verdict(checks: readonly Check[]): string {
  if (checks.length === 0) return "–";
  const missed = checks.filter((c) => !c.met);
  return missed.length === 0
    ? "met"
    : `not met: ${missed.map((c) => c.text).join("; ")}`;
}

/** Rows × {Pushvault, Pushgateway} as one Markdown table. */
export function formatTable(rows: readonly RowReport[]): string {
  const head = [
    "row",
    "PV longest probe",
    "PV peak RSS",
    "PV abusive request",
    "PV detail",
    "PV targets",
    "PG longest probe",
    "PG peak RSS",
    "PG abusive request",
    "PG detail",
  ];
  const lines = [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
  ];
  const server = (cell: ServerCell) =>
    cell.skipped !== undefined ? [cell.skipped, "", "", ""] : [
      probeText(cell),
      cell.peakMiB === undefined ? "–" : `${Math.round(cell.peakMiB)} MiB`,
      cell.request ?? "–",
      cell.detail ?? "",
    ];
  for (const row of rows) {
    const pv = server(row.pushvault);
    const pg = server(row.pushgateway);
    const cells = [
      row.title,
      ...pv,
      row.pushvault.skipped !== undefined ? "–" : verdict(row.checks),
      ...pg,
    ];
    lines.push(`| ${cells.map(cellText).join(" | ")} |`);
  }
  return lines.join("\n") + "\n";
}
