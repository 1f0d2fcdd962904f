/**
 * The protobuf wire as the decoder reads it: tags, nested messages, strings
 * checked for UTF-8 and for their length before they are decoded, labels and
 * timestamps. Throws ExpositionError with line 0.
 * @module
 */

import type protobuf from "protobufjs";
import type { Label } from "./model.ts";
import { ExpositionError } from "./model.ts";
import {
  QUOTED_PREFIX_BYTES,
  type TokenLimits,
  TokenTooLongError,
  type TokenTooLongReason,
} from "./token_limits.ts";

export type Reader = protobuf.Reader;

/** Tag of field `field` with wire type `wireType`. */
export function tag(field: number, wireType: 0 | 1 | 2): number {
  return (field << 3) | wireType;
}
export const VARINT = 0;
export const FIXED64 = 1;
export const BYTES = 2;

export const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * protobufjs returns 64-bit integers as `Long` (or as numbers when no Long
 * implementation is loaded). Conversion rounds once, like Go's float64(x).
 */
export function toNumber(value: number | protobuf.Long): number {
  if (typeof value === "number") return value;
  const high = value.unsigned ? value.high >>> 0 : value.high;
  return high * 4294967296 + (value.low >>> 0);
}

export function outOfRange(): RangeError {
  return new RangeError("index out of range");
}

export function skipField(r: Reader, fieldTag: number): void {
  if (fieldTag >>> 3 === 0) throw new Error("illegal tag: field number 0");
  r.skipType(fieldTag & 7);
}

/**
 * Enters the length-delimited message at the reader's position: reads stop
 * at its end (a read past it throws). Returns the outer end for {@link leave}.
 */
export function enter(r: Reader): number {
  const length = r.uint32();
  const end = r.pos + length;
  if (end > r.len) throw outOfRange();
  const outer = r.len;
  r.len = end;
  return outer;
}

export function leave(r: Reader, outer: number): void {
  r.len = outer;
}

/** UTF-8 bytes → string; undefined when they are not valid UTF-8. */
export function decodeUtf8(
  buf: Uint8Array,
  start: number,
  end: number,
): string | undefined {
  const bytes = buf.subarray(start, end);
  // ASCII (nearly every name and value) skips TextDecoder, which costs
  // several times more per call than fromCharCode (measured with
  // scripts/bench/render_bench.ts). apply, not spread: spreading a typed
  // array goes through its iterator.
  if (bytes.length <= 4096) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Like {@link readString}, but returns `likely` itself when the bytes spell
 * it in ASCII. Label names repeat from series to series; reusing the string
 * saves decoding and garbage.
 */
export function readStringLike(
  r: Reader,
  likely: string | undefined,
): string | undefined {
  if (likely === undefined) return readString(r);
  const length = r.uint32();
  const start = r.pos;
  const end = start + length;
  if (end > r.len) throw outOfRange();
  r.pos = end;
  const buf = r.buf;
  if (likely.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      const byte = buf[start + i] as number;
      // Only ASCII: a char code equal to a byte ≥ 0x80 is not that byte.
      if (byte >= 0x80 || likely.charCodeAt(i) !== byte) {
        same = false;
        break;
      }
    }
    if (same) return likely;
  }
  return decodeUtf8(buf, start, end);
}

/** A length-delimited string field; undefined when not valid UTF-8. */
export function readString(r: Reader): string | undefined {
  const length = r.uint32();
  const start = r.pos;
  const end = start + length;
  if (end > r.len) throw outOfRange();
  r.pos = end;
  return decodeUtf8(r.buf, start, end);
}

export function notUtf8(what: string): ExpositionError {
  return new ExpositionError(0, `${what} is not valid UTF-8`);
}

export function quoted(text: string): string {
  return JSON.stringify(text);
}

/**
 * Refuses the length-delimited string at the reader's position if it is
 * longer than `max` bytes, before anything is decoded (token_limits.ts).
 * `label` unset: the string is a metric name.
 */
export function checkLength(
  r: Reader,
  max: number,
  reason: TokenTooLongReason,
  metric: string,
  label: string | undefined,
): void {
  const at = r.pos;
  const bytes = r.uint32();
  const start = r.pos;
  r.pos = at;
  if (bytes <= max) return;
  const prefix = new TextDecoder().decode(
    r.buf.subarray(
      start,
      Math.min(start + bytes, r.len, start + 4 * QUOTED_PREFIX_BYTES),
    ),
  );
  throw new TokenTooLongError({
    reason,
    metric: label === undefined && reason === "label_value_too_long"
      ? prefix
      : metric,
    label: reason === "label_name_too_long" ? prefix : label,
    bytes,
    limit: max,
  });
}

/**
 * A LabelPair message; `where` names the owner for error messages. With
 * `limits`, a name or value over them is refused (metric labels; exemplar
 * labels have their own rules).
 */
export function readLabel(
  r: Reader,
  where: string,
  likelyName: string | undefined,
  limits?: { readonly of: TokenLimits; readonly metric: string },
): Label {
  const outer = enter(r);
  let name = "";
  let value = "";
  let badValue = false;
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, BYTES): {
        if (limits !== undefined) {
          checkLength(
            r,
            limits.of.maxLabelNameBytes,
            "label_name_too_long",
            limits.metric,
            undefined,
          );
        }
        const text = readStringLike(r, likelyName);
        if (text === undefined) throw notUtf8(`a label name in ${where}`);
        name = text;
        break;
      }
      case tag(2, BYTES): {
        if (limits !== undefined) {
          checkLength(
            r,
            limits.of.maxLabelValueBytes,
            "label_value_too_long",
            limits.metric,
            name,
          );
        }
        const text = readString(r);
        badValue = text === undefined;
        value = text ?? "";
        break;
      }
      default:
        skipField(r, fieldTag);
    }
  }
  leave(r, outer);
  if (badValue) throw notUtf8(`label ${quoted(name)} in ${where}`);
  return { name, value };
}

/** A google.protobuf.Timestamp message, in milliseconds. */
export function readTimestamp(r: Reader): number {
  const outer = enter(r);
  let seconds = 0;
  let nanos = 0;
  while (r.pos < r.len) {
    const fieldTag = r.uint32();
    switch (fieldTag) {
      case tag(1, VARINT):
        seconds = toNumber(r.int64());
        break;
      case tag(2, VARINT):
        nanos = r.int32();
        break;
      default:
        skipField(r, fieldTag);
    }
  }
  leave(r, outer);
  return seconds * 1000 + nanos / 1e6;
}
