/**
 * `families.rendered`, the column start-up reads instead of a family's
 * samples: its series' keys and texts in one value, encoded when a push is
 * prepared (prepare.ts, possibly on the push worker) and decoded by the store
 * at start-up. Pure.
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { zlib } from "../exposition/zlib.ts";
import type { RenderedSeries } from "./rendered_series.ts";

/**
 * Texts of a family's series as a push or start-up hands them over: one
 * string per series, or (as start-up reads them from the database) their
 * UTF-8 bytes joined, with each text's [start, end) in `bounds`.
 */
export type SeriesTexts = readonly string[] | JoinedTexts;

export interface JoinedTexts {
  readonly joined: Uint8Array;
  /** Start and end offset in `joined` of text i at 2i and 2i + 1. */
  readonly bounds: ArrayLike<number>;
}

/** A family's series as start-up reads them from `families.rendered`. */
export interface LoadedSeries {
  readonly keys: readonly string[];
  readonly texts: SeriesTexts;
}

/**
 * `families.rendered`: what the view keeps of a family, so that start-up
 * reads one row per family instead of its samples. `pv4`: the tag, the
 * series' keys as a JSON array, U+0002, then their texts joined by U+0001
 * (fast for a million series). Start-up reads the column as bytes and
 * decodes the two parts apart: the keys come out of JSON.parse as strings
 * of their own, which V8
 * hashes twice as fast as pieces cut from a larger string (the index is
 * built from them), and the texts stay bytes, with their bounds found by
 * scanning for U+0001: the view keeps texts as bytes (TextArena). A family
 * whose texts hold U+0001 or U+0002 is written as `pv2`, one JSON array of
 * the tag and each key and text. `pv3` (the tag, keys and texts all joined
 * by U+0001) is still read. A row with another tag is rendered again from
 * its samples.
 *
 * A family of {@link COMPRESS_AT} bytes or more is stored as `pz1` and the
 * raw-deflated bytes of its `pv4` (or `pv2`) value: its series repeat their
 * label names and grouping labels, so it takes about a seventh of the
 * space, which is most of what the current state costs a kept sample
 * (docs/database.md). Smaller ones stay text: there the saving is a few
 * hundred bytes and the call costs a push more than the bytes save.
 */
const RENDERED_TAG = "pv4";
const TEXTS_START = "\u0002";
const TEXT_SEPARATOR = "\u0001";
const RENDERED_JSON_TAG = "pv2";
const RENDERED_V3_TAG = "pv3";
const COMPRESSED_TAG = "pz1";

/** The size (UTF-16 units of the text) from which `rendered` is deflated. */
export const COMPRESS_AT = 4096;
/** Fast and still about 7:1 on rendered text; level 6 gains a third. */
const DEFLATE_LEVEL = 1;

const utf8Encoder = new TextEncoder();

/**
 * The `rendered` value of a family: its text, or (from {@link COMPRESS_AT}
 * on) `pz1` and the deflated bytes of that text.
 */
export function encodeRendered(series: RenderedSeries): string | Uint8Array {
  return compressed(renderedText(series));
}

/**
 * {@link encodeRendered} of a family whose keys come as JSON arrays of
 * consecutive keys (the push worker's, key_chunks.ts): the keys' JSON is
 * used as it is unless a text holds a separator.
 */
export function encodeRenderedStrings(
  keyChunks: readonly string[],
  texts: readonly string[],
): string | Uint8Array {
  for (const text of texts) {
    if (text.includes(TEXT_SEPARATOR) || text.includes(TEXTS_START)) {
      const keys = keyChunks.flatMap((chunk) => JSON.parse(chunk) as string[]);
      return encodeRendered({ keys, texts });
    }
  }
  return compressed(
    `${RENDERED_TAG}${joinedJson(keyChunks)}${TEXTS_START}${
      texts.join(TEXT_SEPARATOR)
    }`,
  );
}

/** JSON arrays of consecutive keys as the JSON array of all of them. */
function joinedJson(keyChunks: readonly string[]): string {
  const pieces = keyChunks.filter((chunk) => chunk !== "[]");
  if (pieces.length === 0) return "[]";
  return pieces.length === 1
    ? pieces[0] as string
    : `[${pieces.map((chunk) => chunk.slice(1, -1)).join(",")}]`;
}

/** `text`, or from {@link COMPRESS_AT} on `pz1` and its deflated bytes. */
function compressed(text: string): string | Uint8Array {
  if (text.length < COMPRESS_AT) return text;
  const deflated = zlib().deflateRawSync(utf8Encoder.encode(text), {
    level: DEFLATE_LEVEL,
  });
  const out = new Uint8Array(COMPRESSED_TAG.length + deflated.length);
  out.set(utf8Encoder.encode(COMPRESSED_TAG));
  out.set(deflated, COMPRESSED_TAG.length);
  return out;
}

/**
 * {@link encodeRendered} of a family whose texts come as a prepared push
 * carries them: their UTF-8 bytes joined by U+0001, `separatorFree` when no
 * text holds U+0001 or U+0002 (else they are decoded for `pv2`). The texts
 * are deflated as they are, never made into one string.
 */
export function encodeRenderedJoined(
  keys: readonly string[],
  texts: JoinedTexts,
  separatorFree: boolean,
): string | Uint8Array {
  if (!separatorFree) {
    const strings: string[] = [];
    for (let i = 0; i < keys.length; i++) strings.push(textOf(texts, i));
    return encodeRendered({ keys, texts: strings });
  }
  // Bytes, not UTF-16 units, against COMPRESS_AT: a few non-ASCII texts
  // near the threshold may be deflated earlier; both read back alike.
  if (keys.length < COMPRESS_AT && texts.joined.length < COMPRESS_AT) {
    const head = `${RENDERED_TAG}${keysJson(keys)}${TEXTS_START}`;
    if (head.length + texts.joined.length < COMPRESS_AT) {
      return head + utf8.decode(texts.joined);
    }
  }
  return deflatedInPieces(keyPieces(keys), texts.joined);
}

/**
 * {@link encodeRenderedJoined} of a family whose texts hold no separator,
 * yielding after each piece of keys deflated (a large family's sums are
 * prepared so on the HTTP thread, prepared_values.ts): the same value.
 */
export function* encodeRenderedJoinedSteps(
  keys: readonly string[],
  texts: JoinedTexts,
): Generator<void, string | Uint8Array, undefined> {
  if (keys.length < COMPRESS_AT && texts.joined.length < COMPRESS_AT) {
    return encodeRenderedJoined(keys, texts, true);
  }
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < keys.length; at += KEYS_PER_PIECE) {
    const json = keysJson(keys.slice(at, at + KEYS_PER_PIECE));
    pieces.push(deflateKeyPiece(json, at === 0));
    yield;
  }
  return renderedOfKeyPieces(pieces, texts.joined);
}

/**
 * {@link encodeRenderedJoined} of a family whose keys come as JSON arrays
 * of consecutive keys ({@link keysJson} of each slice, as the push worker
 * keeps them): the same value, without the keys made strings again unless
 * a text holds a separator.
 */
export function encodeRenderedChunks(
  keyChunks: readonly string[],
  count: number,
  texts: JoinedTexts,
  separatorFree: boolean,
): string | Uint8Array {
  const pieces = keyChunks.filter((chunk) => chunk !== "[]");
  if (!separatorFree) {
    const keys = pieces.flatMap((chunk) => JSON.parse(chunk) as string[]);
    return encodeRenderedJoined(keys, texts, separatorFree);
  }
  // As encodeRenderedJoined: JSON arrays join into the JSON of all keys.
  if (count < COMPRESS_AT && texts.joined.length < COMPRESS_AT) {
    const head = `${RENDERED_TAG}${joinedJson(pieces)}${TEXTS_START}`;
    if (head.length + texts.joined.length < COMPRESS_AT) {
      return head + utf8.decode(texts.joined);
    }
  }
  return deflatedInPieces(pieces, texts.joined);
}

/** `keys` as the JSON arrays of {@link KEYS_PER_PIECE} keys each. */
function keyPieces(keys: readonly string[]): string[] {
  const pieces: string[] = [];
  for (let at = 0; at < keys.length; at += KEYS_PER_PIECE) {
    pieces.push(keysJson(keys.slice(at, at + KEYS_PER_PIECE)));
  }
  return pieces;
}

/** Keys, or bytes of texts, deflated at once by {@link deflatedInPieces}. */
const KEYS_PER_PIECE = 16_384;
const TEXT_BYTES_PER_PIECE = 1024 * 1024;
/** An empty final block (fixed Huffman codes): the end of a raw deflate stream. */
const FINAL_BLOCK = Uint8Array.of(0x03, 0x00);

/** Raw deflate of `bytes`, ended by a sync flush (a piece of a stream). */
function deflatePiece(bytes: Uint8Array): Uint8Array {
  return zlib().deflateRawSync(bytes, {
    level: DEFLATE_LEVEL,
    finishFlush: zlib().constants.Z_SYNC_FLUSH,
  });
}

/**
 * The deflated piece of `pz1`'s stream that holds the keys of `json` (a
 * JSON array of keys, not empty): `pv4[` and them for the first piece, a
 * comma and them after. The push worker deflates a family's keys so as
 * they come, and lets them go.
 */
export function deflateKeyPiece(json: string, first: boolean): Uint8Array {
  return deflatePiece(
    utf8Encoder.encode(
      `${first ? `${RENDERED_TAG}[` : ","}${json.slice(1, -1)}`,
    ),
  );
}

/**
 * `pz1` and the raw deflate of the `pv4` text of the keys (JSON arrays of
 * consecutive keys, not empty) and `joined`, a piece at a time, each ended
 * by a sync flush and the whole by an empty final block (one ordinary
 * deflate stream): a million series made the text whole first, as a
 * string, its bytes and the bytes with the texts, 200 MB at once.
 */
function deflatedInPieces(
  keyPieces: readonly string[],
  joined: Uint8Array,
): Uint8Array {
  return renderedOfKeyPieces(
    keyPieces.map((json, k) => deflateKeyPiece(json, k === 0)),
    joined,
  );
}

/**
 * `pz1` of the keys' deflated pieces ({@link deflateKeyPiece}, in order)
 * and the texts `joined`.
 */
export function renderedOfKeyPieces(
  keyPieces: readonly Uint8Array[],
  joined: Uint8Array,
): Uint8Array {
  const pieces: Uint8Array[] = [utf8Encoder.encode(COMPRESSED_TAG)];
  if (keyPieces.length === 0) {
    pieces.push(deflatePiece(utf8Encoder.encode(`${RENDERED_TAG}[`)));
  }
  pieces.push(...keyPieces);
  pieces.push(deflatePiece(utf8Encoder.encode(`]${TEXTS_START}`)));
  for (let at = 0; at < joined.length; at += TEXT_BYTES_PER_PIECE) {
    pieces.push(deflatePiece(joined.subarray(at, at + TEXT_BYTES_PER_PIECE)));
  }
  pieces.push(FINAL_BLOCK);
  let length = 0;
  for (const piece of pieces) length += piece.length;
  return concatBytes(pieces, length);
}

/** The keys of deflated pieces of {@link deflateKeyPiece}, in order. */
export function keysOfKeyPieces(keyPieces: readonly Uint8Array[]): string[] {
  if (keyPieces.length === 0) return [];
  const stream = [...keyPieces, FINAL_BLOCK];
  let length = 0;
  for (const piece of stream) length += piece.length;
  const bytes = concatBytes(stream, length);
  const text = utf8.decode(zlib().inflateRawSync(bytes));
  return JSON.parse(`${text.slice(RENDERED_TAG.length)}]`) as string[];
}

function textOf(texts: JoinedTexts, i: number): string {
  const { joined, bounds } = texts;
  return utf8.decode(
    joined.subarray(bounds[2 * i] as number, bounds[2 * i + 1] as number),
  );
}

/** The `pv4` (or `pv2`) text of a family, uncompressed. */
export function renderedText(series: RenderedSeries): string {
  const { keys, texts } = series;
  let separatorFree = true;
  for (const text of texts) {
    if (text.includes(TEXT_SEPARATOR) || text.includes(TEXTS_START)) {
      separatorFree = false;
      break;
    }
  }
  if (separatorFree) {
    return `${RENDERED_TAG}${keysJson(keys)}${TEXTS_START}${
      texts.join(TEXT_SEPARATOR)
    }`;
  }
  const flat: string[] = [RENDERED_JSON_TAG];
  for (let i = 0; i < keys.length; i++) {
    flat.push(keys[i] as string, texts[i] as string);
  }
  return JSON.stringify(flat);
}

/**
 * `JSON.stringify(keys)`, joined directly when no key needs escaping (keys
 * hold no control characters: key parts escape them), as on every push.
 */
export function keysJson(keys: readonly string[]): string {
  for (const key of keys) {
    if (KEY_NEEDS_ESCAPE.test(key)) return JSON.stringify(keys);
  }
  return keys.length === 0 ? "[]" : `["${keys.join('","')}"]`;
}
/** What JSON escapes in a key: quotes, backslashes, lone surrogates. */
const KEY_NEEDS_ESCAPE = /["\\\ud800-\udfff]/;

const utf8 = new TextDecoder();
const ASCII_P = 0x70;
const ASCII_V = 0x76;
const ASCII_4 = 0x34;
const ASCII_Z = 0x7a;
const ASCII_1 = 0x31;

/**
 * Decodes `families.rendered` as read at start-up: as bytes (the query
 * casts it to BLOB, so no string of the whole row is made); a `pz1` value
 * inflated first.
 */
export function decodeRendered(
  stored: Uint8Array | null,
): LoadedSeries | undefined {
  if (stored === null) return undefined;
  if (
    stored[0] === ASCII_P && stored[1] === ASCII_Z && stored[2] === ASCII_1
  ) {
    let inflated: Uint8Array;
    try {
      inflated = zlib().inflateRawSync(stored.subarray(COMPRESSED_TAG.length));
    } catch {
      return undefined;
    }
    // Never `pz1` again: a value is compressed once.
    if (inflated[0] === ASCII_P && inflated[1] === ASCII_Z) return undefined;
    return decodeRendered(inflated);
  }
  if (
    stored[0] === ASCII_P && stored[1] === ASCII_V && stored[2] === ASCII_4
  ) {
    const split = stored.indexOf(0x02);
    if (split < 0) return undefined;
    let keys: unknown;
    try {
      keys = JSON.parse(utf8.decode(stored.subarray(3, split)));
    } catch {
      return undefined;
    }
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
      return undefined;
    }
    // The texts stay bytes: the view keeps them so (TextArena).
    const joined = stored.subarray(split + 1);
    const bounds: number[] = new Array(2 * keys.length);
    let start = 0;
    for (let i = 0; i < keys.length; i++) {
      const end = i === keys.length - 1 ? joined.length : joined.indexOf(
        0x01,
        start,
      );
      if (end < 0) return undefined;
      bounds[2 * i] = start;
      bounds[2 * i + 1] = end;
      start = end + 1;
    }
    if (keys.length === 0 ? joined.length > 0 : joined.includes(0x01, start)) {
      return undefined;
    }
    return { keys, texts: { joined, bounds } };
  }
  return decodeFlat(utf8.decode(stored));
}

/** `pv3` and `pv2`: the tag, then each series' key and text. */
function decodeFlat(stored: string): RenderedSeries | undefined {
  let flat: unknown[];
  if (stored.startsWith(RENDERED_V3_TAG + TEXT_SEPARATOR)) {
    flat = stored.split(TEXT_SEPARATOR);
  } else if (stored.startsWith(`["${RENDERED_JSON_TAG}"`)) {
    try {
      flat = JSON.parse(stored);
    } catch {
      return undefined;
    }
  } else {
    return undefined;
  }
  if (flat.length % 2 !== 1) return undefined;
  const n = (flat.length - 1) / 2;
  const keys: string[] = new Array(n);
  const texts: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const key: unknown = flat[2 * i + 1];
    const text: unknown = flat[2 * i + 2];
    if (typeof key !== "string" || typeof text !== "string") return undefined;
    keys[i] = key;
    texts[i] = text;
  }
  return { keys, texts };
}
