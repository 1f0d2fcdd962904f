/**
 * Test bodies of the text parser's tests (accepted and rejected), given as
 * text.
 * @module
 */
import type { TextParseOptions } from "../../src/exposition/text_parse.ts";

const encoder = new TextEncoder();

/**
 * A body given as text; `\xNN` characters of a `raw` body stand for single
 * bytes (to write invalid UTF-8), otherwise the text is UTF-8 encoded.
 */
export interface Body {
  readonly body: string;
  readonly raw?: boolean;
  readonly utf8Names?: boolean;
}

export function bytesOf(c: Body): Uint8Array {
  if (!c.raw) return encoder.encode(c.body);
  return Uint8Array.from(c.body, (char) => {
    const code = char.charCodeAt(0);
    if (code > 0xff) throw new Error(`raw body has ${JSON.stringify(char)}`);
    return code;
  });
}

export function optionsOf(c: Body): TextParseOptions {
  return c.utf8Names ? { utf8Names: true } : {};
}
