/**
 * Paths as Go's server handles them: the raw path of a request, ServeMux's
 * cleaning, url.PathEscape, and http.Redirect's answer.
 * @module
 */

/** The path of a request URL exactly as sent: from after the host to `?` or `#`. */
export function rawPathOf(requestUrl: string): string {
  const afterScheme = requestUrl.indexOf("//") + 2;
  const start = requestUrl.indexOf("/", afterScheme);
  if (start < 0) return "/";
  let end = requestUrl.length;
  for (const c of ["?", "#"]) {
    const at = requestUrl.indexOf(c, start);
    if (at >= 0 && at < end) end = at;
  }
  return requestUrl.slice(start, end);
}

/**
 * Go's ServeMux cleanPath: path.Clean (one slash, no `.`, `..` resolved,
 * never above the root) keeping a trailing slash.
 */
export function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  let cleaned = `/${parts.join("/")}`;
  if (path.endsWith("/") && cleaned !== "/") cleaned += "/";
  return cleaned;
}

/** Go's url.PathEscape for a whole path: `/` and `$&+,:;=@` stay. */
export function escapePath(path: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(path)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c)
      ? c
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Go's html.EscapeString. */
const GO_HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&#34;",
  "'": "&#39;",
};

/** Like Go's http.Redirect: GET and HEAD also get a small HTML body. */
export function redirect(
  status: 301 | 307,
  location: string,
  method: string,
): Response {
  if (method !== "GET" && method !== "HEAD") {
    return new Response(null, { status, headers: { Location: location } });
  }
  const text = status === 301 ? "Moved Permanently" : "Temporary Redirect";
  const href = location.replace(/[&<>"']/g, (c) => GO_HTML_ESCAPES[c] ?? c);
  return new Response(`<a href="${href}">${text}</a>.\n\n`, {
    status,
    headers: { Location: location, "Content-Type": "text/html; charset=utf-8" },
  });
}
