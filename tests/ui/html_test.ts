import assert from "node:assert/strict";
import { escapeHtml, html, raw } from "../../src/ui/html.ts";

const ESCAPES = [
  {
    name: "markup",
    input: "<script>alert(1)</script>",
    output: "&lt;script&gt;alert(1)&lt;/script&gt;",
  },
  { name: "ampersand", input: "a&b", output: "a&amp;b" },
  { name: "double quote", input: 'say "hi"', output: "say &quot;hi&quot;" },
  { name: "single quote", input: "it's", output: "it&#39;s" },
  { name: "nothing to escape", input: "plain text ü", output: "plain text ü" },
  { name: "an entity stays literal", input: "&lt;", output: "&amp;lt;" },
] as const;

Deno.test("escapeHtml() escapes & < > \" '", async (t) => {
  for (const c of ESCAPES) {
    await t.step(c.name, () => assert.equal(escapeHtml(c.input), c.output));
  }
});

Deno.test("html`` escapes every interpolated string", () => {
  const value = '"><img src=x onerror=alert(1)>';
  assert.equal(
    html`<a title="${value}">${value}</a>`.text,
    '<a title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</a>',
  );
});

Deno.test("html`` keeps nested html`` and raw() as they are", () => {
  const inner = html`<b>${"<i>"}</b>`;
  assert.equal(
    html`<p>${inner}${raw("<br>")}</p>`.text,
    "<p><b>&lt;i&gt;</b><br></p>",
  );
});

Deno.test("html`` flattens arrays and renders nothing for null, undefined and booleans", () => {
  const items = ["<a>", html`<b></b>`, ["c", 1, 2n]];
  assert.equal(
    html`${items}|${null}|${undefined}|${false}|${true}|${0}`.text,
    "&lt;a&gt;<b></b>c12|||||0",
  );
});
