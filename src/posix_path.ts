/**
 * The two path operations the start needs, on POSIX paths (Linux and
 * macOS, the targets we build for), as node:path's `resolve` and `dirname`
 * do them. Not node:path itself: importing it would load Deno's Node layer
 * at start (docs/performance.md, "Fixed costs"). Pure but for the current
 * directory a relative path is taken from.
 * @module
 */

/**
 * `segments` joined from the right until one is absolute, then against the
 * current directory if none is, with `.`, `..` and repeated or trailing
 * slashes taken out: `resolvePath("a/../b.db")` is `<cwd>/b.db`.
 */
export function resolvePath(
  ...segments: readonly string[]
): string {
  let joined = "";
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i] as string;
    if (segment === "") continue;
    joined = joined === "" ? segment : `${segment}/${joined}`;
    if (segment.startsWith("/")) break;
  }
  if (!joined.startsWith("/")) joined = `${Deno.cwd()}/${joined}`;
  const parts: string[] = [];
  for (const part of joined.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** The directory of an absolute path (`/` for `/` itself). */
export function parentDirectory(absolute: string): string {
  const trimmed = absolute.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  return slash <= 0 ? "/" : trimmed.slice(0, slash);
}

/** Whether `path` is absolute. */
export function isAbsolutePath(path: string): boolean {
  return path.startsWith("/");
}
