/**
 * Finds import cycles among the TypeScript modules under the given
 * directories (default `src/`): every group of modules that import each
 * other, directly or through others, with one shortest cycle through it.
 * Static relative imports and re-exports count, `import type` included (a
 * cycle of types still ties the modules together); a group that only holds
 * together through type imports is marked as such. Dynamic `import()` is
 * not followed.
 *
 *     deno run --allow-read scripts/import_cycles.ts [dir ...]
 *
 * Prints nothing but a summary line and exits 0 when there is no cycle;
 * exits 1 after listing them otherwise.
 * @module
 */

import { dirname, join, normalize, relative } from "node:path";

/** An import of one module by another. */
export interface ImportEdge {
  readonly to: string;
  /** `import type`, `export type`, or braces holding only `type` names. */
  readonly typeOnly: boolean;
}

/** Module path → the modules it imports (paths as given, normalised). */
export type ImportGraph = ReadonlyMap<string, readonly ImportEdge[]>;

/** A group of modules importing each other, and one cycle through it. */
export interface ImportCycle {
  readonly modules: readonly string[];
  /** First module repeated last: `[a, b, a]`. */
  readonly path: readonly string[];
  /** Whether the group falls apart once type-only imports are left out. */
  readonly typeOnly: boolean;
}

const STATIC_IMPORT =
  /^[ \t]*(?:import|export)\s+(type\s+)?((?:[\w$]+\s*,\s*)?(?:\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?)|[\w$]+)\s+from\s*["']([^"']+)["']/gm;
const SIDE_EFFECT_IMPORT = /^[ \t]*import\s*["']([^"']+)["']/gm;

/** The relative specifiers a module's source imports, with their kind. */
export function importsOf(
  source: string,
): { specifier: string; typeOnly: boolean }[] {
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const match of source.matchAll(STATIC_IMPORT)) {
    const [, typeKeyword, clause = "", specifier = ""] = match;
    found.push({
      specifier,
      typeOnly: typeKeyword !== undefined || onlyTypeNames(clause),
    });
  }
  for (const match of source.matchAll(SIDE_EFFECT_IMPORT)) {
    found.push({ specifier: match[1] ?? "", typeOnly: false });
  }
  return found.filter(({ specifier }) => specifier.startsWith("."));
}

/** `{ type A, type B }`: every name in the braces is a type. */
function onlyTypeNames(clause: string): boolean {
  if (!clause.startsWith("{")) return false;
  const names = clause.slice(1, -1).split(",").map((name) => name.trim())
    .filter((name) => name !== "");
  return names.length > 0 && names.every((name) => name.startsWith("type "));
}

/** Groups of two or more modules (or one importing itself) in a cycle. */
export function findCycles(graph: ImportGraph): ImportCycle[] {
  const cycles: ImportCycle[] = [];
  for (const group of stronglyConnected(graph, false)) {
    const members = new Set(group);
    const first = [...group].sort()[0] as string;
    const path = shortestCycle(graph, first, members);
    if (path === undefined) continue;
    const runtime = stronglyConnected(restrict(graph, members), true);
    const typeOnly = !runtime.some((part) =>
      part.length > 1 || selfImport(graph, part[0] as string, true)
    );
    cycles.push({ modules: [...group].sort(), path, typeOnly });
  }
  return cycles.sort((a, b) =>
    (a.modules[0] as string) < (b.modules[0] as string) ? -1 : 1
  );
}

function restrict(graph: ImportGraph, members: Set<string>): ImportGraph {
  const sub = new Map<string, ImportEdge[]>();
  for (const name of members) {
    sub.set(name, (graph.get(name) ?? []).filter((e) => members.has(e.to)));
  }
  return sub;
}

function selfImport(
  graph: ImportGraph,
  name: string,
  runtimeOnly: boolean,
): boolean {
  return (graph.get(name) ?? []).some((edge) =>
    edge.to === name && !(runtimeOnly && edge.typeOnly)
  );
}

/** Tarjan's algorithm; groups of one are kept only if they import themselves. */
function stronglyConnected(
  graph: ImportGraph,
  runtimeOnly: boolean,
): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  const visit = (name: string): void => {
    index.set(name, next);
    low.set(name, next);
    next++;
    stack.push(name);
    onStack.add(name);
    for (const edge of graph.get(name) ?? []) {
      if (runtimeOnly && edge.typeOnly) continue;
      if (!graph.has(edge.to)) continue;
      if (!index.has(edge.to)) {
        visit(edge.to);
        low.set(name, Math.min(low.get(name) ?? 0, low.get(edge.to) ?? 0));
      } else if (onStack.has(edge.to)) {
        low.set(name, Math.min(low.get(name) ?? 0, index.get(edge.to) ?? 0));
      }
    }
    if (low.get(name) === index.get(name)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        group.push(member);
      } while (member !== name);
      if (group.length > 1 || selfImport(graph, name, runtimeOnly)) {
        groups.push(group);
      }
    }
  };
  for (const name of graph.keys()) if (!index.has(name)) visit(name);
  return groups;
}

/** Breadth first from `start` back to it, inside `members`. */
function shortestCycle(
  graph: ImportGraph,
  start: string,
  members: Set<string>,
): string[] | undefined {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let k = 0; k < queue.length; k++) {
    const name = queue[k] as string;
    for (const { to } of graph.get(name) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let at = name; at !== start; at = previous.get(at) as string) {
          path.unshift(at);
        }
        path.unshift(start);
        return path;
      }
      if (previous.has(to)) continue;
      previous.set(to, name);
      queue.push(to);
    }
  }
  return undefined;
}

/** The import graph of the `.ts` and `.tsx` files under `roots`. */
export async function readGraph(
  roots: readonly string[],
): Promise<ImportGraph> {
  const graph = new Map<string, ImportEdge[]>();
  const files: string[] = [];
  for (const root of roots) await collect(normalize(root), files);
  for (const file of files) {
    const source = await Deno.readTextFile(file);
    graph.set(
      file,
      importsOf(source).map(({ specifier, typeOnly }) => ({
        to: normalize(join(dirname(file), specifier)),
        typeOnly,
      })),
    );
  }
  return graph;
}

async function collect(dir: string, files: string[]): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) await collect(path, files);
    else if (/\.tsx?$/.test(entry.name)) files.push(path);
  }
}

if (import.meta.main) {
  const roots = Deno.args.length > 0 ? Deno.args : ["src"];
  const graph = await readGraph(roots);
  const cycles = findCycles(graph);
  const lines = cycles.map((cycle) => {
    const kind = cycle.typeOnly ? " (type imports only)" : "";
    const path = cycle.path.map((name) => relative(".", name)).join(" → ");
    return `${cycle.modules.length} modules${kind}: ${path}`;
  });
  const summary = `${cycles.length} import cycle${
    cycles.length === 1 ? "" : "s"
  } among ${graph.size} modules under ${roots.join(", ")}`;
  const out = [...lines, summary].join("\n") + "\n";
  await Deno.stdout.write(new TextEncoder().encode(out));
  if (cycles.length > 0) Deno.exit(1);
}
