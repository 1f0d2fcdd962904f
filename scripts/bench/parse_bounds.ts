/**
 * Measures what one hostile push costs the gateway: the answer, its time,
 * the longest the HTTP thread left `/-/healthy` waiting, and the process's
 * peak RSS (VmHWM). Starts the gateway as `deno task start` does, on a free
 * loopback port with a fresh database, once per case.
 *
 *   deno run -A scripts/bench/parse_bounds.ts [case…]
 *
 * Cases: labels10k labels40k labels80k labels60k_invalid number58m
 * series1m series1m_twice concurrent4x10m. Without arguments, all of them.
 * @module
 */

const CASES: Record<string, () => Body[]> = {
  labels10k: () => [manyLabels(10_000, "} 1\n")],
  labels40k: () => [manyLabels(40_000, "} 1\n")],
  labels80k: () => [manyLabels(80_000, "} 1\n")],
  labels60k_invalid: () => [manyLabels(60_000, "} x\n")],
  number58m: () => [text(`big ${"1".repeat(58_000_000)}\n`)],
  series1m: () => [manySeries(1_000_000)],
  series1m_twice: () => [manySeries(1_000_000), manySeries(1_000_000)],
  concurrent4x10m: () => [],
};

interface Body {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly path: string;
}

function text(s: string, path = "job/bench"): Body {
  return { bytes: new TextEncoder().encode(s), path };
}

function manyLabels(n: number, end: string): Body {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`l${i}="v"`);
  return text(`m{${parts.join(",")}${end}`);
}

/** About 18 bytes a series, like the adversarial run's 18 MiB for 1M. */
function manySeries(n: number, path = "job/bench"): Body {
  const lines: string[] = ["# TYPE m gauge"];
  for (let i = 0; i < n; i++) lines.push(`m{i="${i}"} ${i}`);
  return text(lines.join("\n") + "\n", path);
}

/** Probes `/-/healthy` every 10 ms until stdin closes; prints the worst ms. */
const PROBE = `
const base = Deno.args[0];
let worst = 0;
let probing = true;
Deno.stdin.readable.pipeTo(new WritableStream()).finally(() => probing = false);
while (probing) {
  const t0 = performance.now();
  try {
    const res = await fetch(base + "/-/healthy");
    await res.body?.cancel();
  } catch {}
  worst = Math.max(worst, performance.now() - t0);
  await new Promise((r) => setTimeout(r, 10));
}
Deno.stdout.writeSync(new TextEncoder().encode(String(Math.round(worst))));
Deno.exit(0);
`;

const encoder = new TextEncoder();

function print(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function peakRss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

async function runCase(name: string): Promise<void> {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--heap-growing-percent=30",
      new URL("../../src/main.ts", import.meta.url).pathname,
      `--web.listen-address=127.0.0.1:${port}`,
      `--persistence.file=${dir}/x.db`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let k = 0; k < 300; k++) {
      try {
        const res = await fetch(`${base}/-/healthy`);
        await res.body?.cancel();
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const bodies = name === "concurrent4x10m"
      ? [0, 1, 2, 3].map((k) => manySeries(550_000, `job/c${k}`))
      : (CASES[name] ?? (() => []))();
    // The probe is a process of its own: this one's event loop is busy
    // sending the bodies, which would count as the gateway's stalls.
    const probe = new Deno.Command(Deno.execPath(), {
      args: ["eval", PROBE, base],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const probeOut = probe.stdout.pipeThrough(new TextDecoderStream())
      .getReader().read();
    await new Promise((r) => setTimeout(r, 300));
    const send = async (body: Body) => {
      const t0 = performance.now();
      const res = await fetch(`${base}/metrics/${body.path}`, {
        method: "PUT",
        body: body.bytes,
      });
      const answer = (await res.text()).slice(0, 160).replaceAll("\n", " ");
      return `${res.status} in ${
        ((performance.now() - t0) / 1000).toFixed(2)
      }s ${answer}`;
    };
    const results: string[] = [];
    const size = bodies.reduce((n, b) => n + b.bytes.length, 0);
    if (name === "concurrent4x10m") {
      results.push(...await Promise.all(bodies.map(send)));
    } else {
      for (const body of bodies) results.push(await send(body));
    }
    await probe.stdin.close();
    const worstHealthMs = Number((await probeOut).value ?? NaN);
    await probe.status;
    print(
      `${name}: body ${(size / 2 ** 20).toFixed(1)} MiB; health worst ${
        worstHealthMs.toFixed(0)
      } ms; peak RSS ${(peakRss(child.pid) / 2 ** 20).toFixed(0)} MiB`,
    );
    for (const r of results) print(`  ${r}`);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

const names = Deno.args.length > 0 ? Deno.args : [...Object.keys(CASES)];
for (const name of names) {
  if (!(name in CASES)) throw new Error(`unknown case ${name}`);
  await runCase(name);
}
