/**
 * Prometheus-style label matchers over grouping keys, for bulk delete and
 * the history API: `{job="batch",instance=~"ci-.*"}`. Operators `=`, `!=`,
 * `=~`, `!~`; regular expressions are fully anchored as in PromQL; a label
 * the group lacks matches as the empty string. Several selectors are OR'ed
 * (like `match[]` in Prometheus' series API). A label name that is not a
 * legacy one is quoted, as in Prometheus 3: `{"foo.bar"="baz"}`, so groups
 * pushed with `--push.enable-utf8-names` can be named by those labels too.
 *
 * Pure; throws MatcherError with a message that names the problem.
 * @module
 */

import type { Label } from "../exposition/model.ts";
import { errorMessage } from "../error_message.ts";

export type MatchOp = "=" | "!=" | "=~" | "!~";

export interface Matcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
  readonly regex?: RegExp;
}

/** One `{…}` selector: every matcher must hold. */
export type Selector = readonly Matcher[];

export class MatcherError extends Error {
  override name = "MatcherError";
}

/** Parses `{a="1",b=~"x.*"}`. Empty selectors `{}` are refused. */
export function parseSelector(text: string): Selector {
  const s = text.trim();
  if (!s.startsWith("{") || !s.endsWith("}")) {
    throw new MatcherError(
      `invalid matcher ${
        JSON.stringify(text)
      }: expected a selector in braces, e.g. {job="batch"}`,
    );
  }
  const matchers: Matcher[] = [];
  let i = 1;
  const end = s.length - 1;
  const skipSpace = () => {
    while (i < end && /\s/.test(s[i] as string)) i++;
  };
  while (true) {
    skipSpace();
    if (i >= end) break;
    const name = readName();
    skipSpace();
    const opMatch = /^(=~|!~|!=|=)/.exec(s.slice(i, end));
    if (!opMatch) {
      throw new MatcherError(
        `invalid matcher ${
          JSON.stringify(text)
        }: expected one of =, !=, =~, !~ after ${name}`,
      );
    }
    const op = opMatch[0] as MatchOp;
    i += op.length;
    skipSpace();
    const value = readQuoted();
    let regex: RegExp | undefined;
    if (op === "=~" || op === "!~") {
      try {
        regex = new RegExp(`^(?:${value})$`, "su");
      } catch (error) {
        throw new MatcherError(
          `invalid regular expression ${
            JSON.stringify(value)
          } for label ${name}: ${errorMessage(error)}`,
        );
      }
    }
    matchers.push(regex ? { name, op, value, regex } : { name, op, value });
    skipSpace();
    if (i < end && s[i] === ",") {
      i++;
      continue;
    }
    skipSpace();
    if (i < end) {
      throw new MatcherError(
        `invalid matcher ${
          JSON.stringify(text)
        }: expected "," or "}" at position ${i}`,
      );
    }
  }
  if (matchers.length === 0) {
    throw new MatcherError(
      `invalid matcher ${
        JSON.stringify(text)
      }: a selector needs at least one label matcher`,
    );
  }
  return matchers;

  function readName(): string {
    const at = i;
    let name: string;
    if (s[i] === '"' || s[i] === "'" || s[i] === "`") {
      name = readQuoted();
    } else {
      name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i, end))?.[0] ?? "";
      i += name.length;
    }
    if (name === "") {
      throw new MatcherError(
        `invalid matcher ${
          JSON.stringify(text)
        }: expected a label name at position ${at}`,
      );
    }
    return name;
  }

  function readQuoted(): string {
    const quote = s[i];
    if (quote !== '"' && quote !== "'" && quote !== "`") {
      throw new MatcherError(
        `invalid matcher ${
          JSON.stringify(text)
        }: expected a quoted value at position ${i}`,
      );
    }
    let j = i + 1;
    let raw = "";
    while (j < end && s[j] !== quote) {
      if (s[j] === "\\" && quote !== "`") {
        raw += s.slice(j, j + 2);
        j += 2;
        continue;
      }
      raw += s[j];
      j++;
    }
    if (j >= end) {
      throw new MatcherError(
        `invalid matcher ${JSON.stringify(text)}: unterminated quoted value`,
      );
    }
    i = j + 1;
    if (quote === "`") return raw;
    try {
      return JSON.parse(`"${raw.replace(/\\'/g, "'")}"`) as string;
    } catch {
      throw new MatcherError(
        `invalid matcher ${
          JSON.stringify(text)
        }: bad escape sequence in ${quote}${raw}${quote}`,
      );
    }
  }
}

/** True when the labels satisfy every matcher of the selector. */
export function matchesSelector(
  labels: readonly Label[],
  selector: Selector,
): boolean {
  for (const m of selector) {
    const value = labels.find((l) => l.name === m.name)?.value ?? "";
    let ok: boolean;
    switch (m.op) {
      case "=":
        ok = value === m.value;
        break;
      case "!=":
        ok = value !== m.value;
        break;
      case "=~":
        ok = m.regex?.test(value) ?? false;
        break;
      case "!~":
        ok = !(m.regex?.test(value) ?? false);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

/** True when any selector matches (an empty list matches everything). */
export function matchesAny(
  labels: readonly Label[],
  selectors: readonly Selector[],
): boolean {
  return selectors.length === 0 ||
    selectors.some((s) => matchesSelector(labels, s));
}
