/**
 * An escaping `html` tagged template, like `html` in honojs/hono
 * `src/helper/html/index.ts`: every interpolated value is HTML-escaped unless
 * it is already {@link Html} (the result of another `html` call or of
 * {@link raw}). Arrays are flattened, so `${items.map((i) => html`…`)}` works;
 * `null`, `undefined` and booleans render nothing, so `${cond && html`…`}`
 * works too.
 *
 * Escaping covers `& < > " '`, which makes a value safe in element content
 * and inside a quoted attribute. It is not safe in unquoted attributes, URLs
 * (`javascript:`), `<script>` or `<style>`: the templates never put user
 * data there.
 * @module
 */

/** Markup that is already safe: never escaped again. */
export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

export type HtmlValue =
  | Html
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | readonly HtmlValue[];

/** Marks trusted markup as safe. Never pass user data. */
export function raw(text: string): Html {
  return new Html(text);
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const NEEDS_ESCAPE = /[&<>"']/;
const ESCAPE_ALL = /[&<>"']/g;

/** `& < > " '` → entities; the string itself when nothing needs escaping. */
export function escapeHtml(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(ESCAPE_ALL, (c) => ESCAPES[c] as string);
}

export function html(
  strings: TemplateStringsArray,
  ...values: readonly HtmlValue[]
): Html {
  const parts: string[] = [];
  for (let i = 0; i < strings.length; i++) {
    parts.push(strings[i] as string);
    if (i < values.length) append(parts, values[i]);
  }
  return new Html(parts.join(""));
}

function append(parts: string[], value: HtmlValue): void {
  if (value === null || value === undefined || typeof value === "boolean") {
    return;
  }
  if (value instanceof Html) {
    parts.push(value.text);
  } else if (Array.isArray(value)) {
    for (const item of value as readonly HtmlValue[]) append(parts, item);
  } else {
    parts.push(escapeHtml(String(value)));
  }
}
