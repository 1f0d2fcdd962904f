/**
 * Makes scrape and API output of a gateway comparable across runs: drops the
 * gateway's own families and replaces push times with `<time>`. Used by the
 * recorder on the reference Pushgateway's output and by the golden test on
 * ours, so both sides go through the same function.
 */

/**
 * Families the gateway exposes about itself (docs/compatibility.md, The
 * gateway's own metrics), not pushed ones.
 */
export function isOwnFamily(name: string): boolean {
  return name.startsWith("go_") || name.startsWith("process_") ||
    name.startsWith("pushgateway_");
}

const TIME_FAMILIES = new Set(["push_time_seconds", "push_failure_time_seconds"]);

/** Stand-in for a non-zero push time. */
export const TIME_PLACEHOLDER = "<time>";

function sampleName(line: string): string {
  const brace = line.indexOf("{");
  const space = line.indexOf(" ");
  const end = brace >= 0 && (space < 0 || brace < space) ? brace : space;
  return end < 0 ? line : line.slice(0, end);
}

/**
 * Text 0.0.4 scrape → the same text without own families, with every
 * non-zero `push_time_seconds`/`push_failure_time_seconds` value replaced by
 * {@link TIME_PLACEHOLDER}.
 */
export function normalizeScrape(text: string): string {
  const out: string[] = [];
  let family = "";
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
      family = line.slice(7, line.indexOf(" ", 7));
      if (!isOwnFamily(family)) out.push(line);
      continue;
    }
    if (isOwnFamily(family)) continue;
    if (TIME_FAMILIES.has(sampleName(line))) {
      // The value follows the last space: label values cannot hold a newline
      // and values hold no space.
      const space = line.lastIndexOf(" ");
      const value = line.slice(space + 1);
      out.push(value === "0" ? line : `${line.slice(0, space + 1)}${TIME_PLACEHOLDER}`);
      continue;
    }
    out.push(line);
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

// ---------------------------------------------------------------------------
// JSON from /api/v1/metrics. Parsed into an order-preserving tree that keeps
// every token's source text, so re-emitting it yields Go's bytes except where
// we normalise (JSON.parse would reorder integer-like keys such as bucket "1").

type JsonNode =
  | { readonly kind: "object"; readonly entries: [string, string, JsonNode][] }
  | { readonly kind: "array"; readonly items: JsonNode[] }
  | { readonly kind: "raw"; readonly text: string };

function parseJson(text: string): JsonNode {
  let i = 0;
  const skip = () => {
    while (i < text.length && " \t\r\n".includes(text.charAt(i))) i++;
  };
  const rawString = (): string => {
    const start = i;
    i++; // opening quote
    while (text.charAt(i) !== '"') {
      if (i >= text.length) throw new SyntaxError("unterminated JSON string");
      i += text.charAt(i) === "\\" ? 2 : 1;
    }
    i++;
    return text.slice(start, i);
  };
  const value = (): JsonNode => {
    skip();
    const char = text.charAt(i);
    if (char === "{") {
      i++;
      const entries: [string, string, JsonNode][] = [];
      skip();
      if (text.charAt(i) === "}") {
        i++;
        return { kind: "object", entries };
      }
      for (;;) {
        skip();
        const rawKey = rawString();
        skip();
        i++; // ':'
        entries.push([JSON.parse(rawKey) as string, rawKey, value()]);
        skip();
        if (text.charAt(i++) === "}") return { kind: "object", entries };
      }
    }
    if (char === "[") {
      i++;
      const items: JsonNode[] = [];
      skip();
      if (text.charAt(i) === "]") {
        i++;
        return { kind: "array", items };
      }
      for (;;) {
        items.push(value());
        skip();
        if (text.charAt(i++) === "]") return { kind: "array", items };
      }
    }
    if (char === '"') return { kind: "raw", text: rawString() };
    const start = i;
    while (i < text.length && !",]} \t\r\n".includes(text.charAt(i))) i++;
    return { kind: "raw", text: text.slice(start, i) };
  };
  const root = value();
  skip();
  if (i !== text.length) throw new SyntaxError("trailing data after JSON");
  return root;
}

function emitJson(node: JsonNode): string {
  switch (node.kind) {
    case "raw":
      return node.text;
    case "array":
      return `[${node.items.map(emitJson).join(",")}]`;
    case "object":
      return `{${
        node.entries.map(([, rawKey, v]) => `${rawKey}:${emitJson(v)}`).join(",")
      }}`;
  }
}

function get(node: JsonNode, key: string): JsonNode | undefined {
  if (node.kind !== "object") return undefined;
  return node.entries.find(([k]) => k === key)?.[2];
}

const PLACEHOLDER_RAW = JSON.stringify(TIME_PLACEHOLDER);

function normalizeFamily(name: string, family: JsonNode): void {
  if (family.kind !== "object") return;
  for (const entry of family.entries) {
    if (entry[0] === "time_stamp") entry[2] = { kind: "raw", text: PLACEHOLDER_RAW };
  }
  if (!TIME_FAMILIES.has(name)) return;
  const metrics = get(family, "metrics");
  if (metrics?.kind !== "array") return;
  for (const metric of metrics.items) {
    if (metric.kind !== "object") continue;
    for (const entry of metric.entries) {
      if (entry[0] === "value" && entry[2].kind === "raw" && entry[2].text !== '"0"') {
        entry[2] = { kind: "raw", text: PLACEHOLDER_RAW };
      }
    }
  }
}

/**
 * `/api/v1/metrics` JSON → the same JSON (Go's bytes) with every
 * `time_stamp` and non-zero push time replaced by {@link TIME_PLACEHOLDER}
 * and the groups, which upstream lists in random order, sorted by their
 * grouping labels.
 */
export function normalizeApiJson(text: string): string {
  const root = parseJson(text);
  const data = get(root, "data");
  if (data?.kind === "array") {
    for (const group of data.items) {
      if (group.kind !== "object") continue;
      for (const [key, , family] of group.entries) {
        if (key !== "labels" && key !== "last_push_successful") {
          normalizeFamily(key, family);
        }
      }
    }
    const labelsOf = (group: JsonNode) => {
      const labels = get(group, "labels");
      return labels === undefined ? "" : emitJson(labels);
    };
    data.items.sort((a, b) => {
      const x = labelsOf(a);
      const y = labelsOf(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }
  return emitJson(root);
}
