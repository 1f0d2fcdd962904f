/**
 * Where the time went in a V8 `.cpuprofile` (as written by
 * `deno run --cpu-prof`): self time per function, summed over the call tree
 * from the samples and their time deltas, the top N printed as a table.
 *
 *   deno run -A scripts/bench/cpuprofile_top.ts <file.cpuprofile> [--top 25]
 * @module
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface FunctionTime {
  readonly name: string;
  readonly location: string;
  readonly selfMs: number;
  readonly selfPercent: number;
  /** Self time of the function and everything it called. */
  readonly totalMs: number;
  readonly totalPercent: number;
  /** Who called it, by self time spent in it, largest first (at most 3). */
  readonly callers: readonly {
    readonly name: string;
    readonly percent: number;
  }[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Samples outside JavaScript: idle, program, garbage collector. */
  readonly idleMs: number;
  readonly functions: readonly FunctionTime[];
  /** Self time grouped by source file (or `(native)`). */
  readonly files: readonly { file: string; selfMs: number; percent: number }[];
}

/** Microseconds since the profile started; samples outside are ignored. */
export interface ProfileWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

export function summarizeProfile(
  profile: CpuProfile,
  top = 25,
  window?: ProfileWindow,
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfUs = new Map<number, number>();
  let at = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    // timeDeltas[i] is the time before sample i; attribute the next delta to it.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const key = (n: ProfileNode) =>
    `${n.callFrame.functionName || "(anonymous)"}\u0000${
      shortUrl(n.callFrame.url)
    }:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const files = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  let all = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    all += us;
    const name = node.callFrame.functionName;
    if (name === "(idle)" || name === "(program)" || name === "(root)") {
      idle += us;
    }
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + us);
    const up = byId.get(parent.get(id) ?? -1);
    if (up) {
      let m = callers.get(k);
      if (!m) callers.set(k, m = new Map());
      const ck = key(up).replace("\u0000", " ");
      m.set(ck, (m.get(ck) ?? 0) + us);
    }
    const file = shortUrl(node.callFrame.url) || "(native)";
    files.set(file, (files.get(file) ?? 0) + us);
    // Inclusive time: once per distinct function on the stack.
    const seen = new Set<string>();
    for (
      let cur: number | undefined = id, guard = 0;
      cur !== undefined && guard < 10_000;
      cur = parent.get(cur), guard++
    ) {
      const n = byId.get(cur);
      if (!n) break;
      const kk = key(n);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + us);
    }
  }
  const pct = (us: number) => (all === 0 ? 0 : (100 * us) / all);
  const functions = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => {
      const [name, location] = k.split("\u0000") as [string, string];
      const t = total.get(k) ?? us;
      return {
        name,
        location,
        selfMs: us / 1000,
        selfPercent: pct(us),
        totalMs: t / 1000,
        totalPercent: pct(t),
        callers: [...(callers.get(k) ?? new Map<string, number>()).entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([c, cus]) => ({ name: c, percent: (100 * cus) / us })),
      };
    });
  return {
    totalMs: all / 1000,
    idleMs: idle / 1000,
    functions,
    files: [...files.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([file, us]) => ({ file, selfMs: us / 1000, percent: pct(us) })),
  };
}

/** Repository-relative paths for our files, the last segments for others. */
function shortUrl(url: string): string {
  if (url === "") return "";
  const src = url.lastIndexOf("/src/");
  if (src >= 0 && url.startsWith("file://")) return url.slice(src + 1);
  const parts = url.split("/");
  return parts.slice(-2).join("/");
}

export function formatSummary(summary: ProfileSummary): string {
  const lines: string[] = [];
  lines.push(
    `profile: ${
      summary.totalMs.toFixed(0)
    } ms sampled, of which idle/program/root ${summary.idleMs.toFixed(0)} ms`,
  );
  lines.push("");
  lines.push(
    "| self % | self ms | total % | function | location | called from (share of its self time) |",
  );
  lines.push("| ---: | ---: | ---: | --- | --- | --- |");
  for (const f of summary.functions) {
    const from = f.callers.map((c) => `${c.name} ${c.percent.toFixed(0)}%`)
      .join(", ");
    lines.push(
      `| ${f.selfPercent.toFixed(1)} | ${f.selfMs.toFixed(0)} | ${
        f.totalPercent.toFixed(1)
      } | ${f.name} | ${f.location} | ${from} |`,
    );
  }
  lines.push("");
  lines.push("| self % | self ms | file |");
  lines.push("| ---: | ---: | --- |");
  for (const f of summary.files) {
    lines.push(
      `| ${f.percent.toFixed(1)} | ${f.selfMs.toFixed(0)} | ${f.file} |`,
    );
  }
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  const file = Deno.args[0];
  if (!file) throw new Error("usage: cpuprofile_top.ts <file> [--top N]");
  const topAt = Deno.args.indexOf("--top");
  const top = topAt >= 0 ? Number(Deno.args[topAt + 1]) : 25;
  const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
  Deno.stdout.writeSync(
    new TextEncoder().encode(formatSummary(summarizeProfile(profile, top))),
  );
}
