import assert from "node:assert/strict";
import fc from "fast-check";
import { rejectsWith } from "../test_utils.ts";
import {
  BodyTooLargeError,
  crc32c,
  decompressBody,
  DecompressionError,
  maskedCrc32c,
} from "../../src/exposition/decompress.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LIMIT = { maxBytes: 1 << 20 };

async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const compressed = new Blob([data.slice()]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(compressed).arrayBuffer());
}

function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const result = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function fromBase64(lines: readonly string[]): Uint8Array {
  return Uint8Array.from(atob(lines.join("")), (c) => c.charCodeAt(0));
}

// ---------------------------------------------------------------------------
// Snappy framed encoder for tests: literal-only blocks are valid Snappy.

function uvarint(value: number): number[] {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return bytes;
}

function literalBlock(data: Uint8Array): Uint8Array {
  const n = data.length - 1;
  const tag = n < 60
    ? [n << 2]
    : n < 256
    ? [60 << 2, n]
    : [61 << 2, n & 0xff, n >>> 8];
  return concatBytes(
    Uint8Array.from(uvarint(data.length)),
    Uint8Array.from(data.length === 0 ? [] : tag),
    data,
  );
}

function chunk(type: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  return concatBytes(
    Uint8Array.of(type, n & 0xff, (n >>> 8) & 0xff, n >>> 16),
    payload,
  );
}

function crcBytes(data: Uint8Array): Uint8Array {
  const crc = maskedCrc32c(data);
  return Uint8Array.of(
    crc & 0xff,
    (crc >>> 8) & 0xff,
    (crc >>> 16) & 0xff,
    crc >>> 24,
  );
}

const STREAM_IDENTIFIER = chunk(0xff, encoder.encode("sNaPpY"));

function compressedChunk(
  data: Uint8Array,
  block = literalBlock(data),
): Uint8Array {
  return chunk(0x00, concatBytes(crcBytes(data), block));
}

function uncompressedChunk(data: Uint8Array): Uint8Array {
  return chunk(0x01, concatBytes(crcBytes(data), data));
}

/** Frames `data` in chunks of at most `size` bytes, alternating chunk types. */
function snappyFramed(data: Uint8Array, size = 65536): Uint8Array {
  const parts = [STREAM_IDENTIFIER];
  for (let at = 0, i = 0; at < data.length; at += size, i++) {
    const piece = data.subarray(at, at + size);
    parts.push(i % 2 === 0 ? compressedChunk(piece) : uncompressedChunk(piece));
  }
  return concatBytes(...parts);
}

// ---------------------------------------------------------------------------
// Fixtures made by a real encoder: python3-snappy 0.5.3 (libsnappy 1.1.9)
// `snappy.stream_compress`, the framing format of snzip and Go's
// snappy.NewWriter.

/** `# TYPE some_metric counter\nsome_metric{label="val1"} 42\n`, which the
 * encoder sends as one uncompressed chunk (it does not compress enough). */
const PY_SNAPPY_SMALL = fromHex(
  "ff060000734e61507059013c0000b58faa5123205459504520736f6d655f" +
    "6d657472696320636f756e7465720a736f6d655f6d65747269637b6c6162" +
    "656c3d2276616c31227d2034320a",
);

/** {@link fixtureMetrics}(1100): 66440 bytes, two compressed chunks. */
const PY_SNAPPY_TWO_CHUNKS = fromBase64([
  "/wYAAHNOYVBwWQCDGwDTeuXngIAE6HB1c2h2YXVsdF9maXh0dXJlX21ldHJpY3tpbnN0YW5j",
  "ZT0iaG9zdC0wIixqb2I9ImJhdGNoIn0gMApwmjoAADE6OgAAMaI6AAAyOjoAADKiOgAAMzo6",
  "AAAzojoAADQ6OgAANKI6AAA1OjoAADWiOgAANjo6AAA2ojoAADc6OgAAN6I6AAA4OjoAADii",
  "OgAAOTo6AAA5ojoABDEwOjsABDEwpjwAQkcCpkgCADE+SQIAMaZKAgAxPksCADGmTAIAMT5N",
  "AgAxpk4CADE+TwIAMaZQAgAxPlECADGmUgJCowGmUwJCogGmVAJCoQGmVQI+oAEAMqZUAj6f",
  "AQAyplMCPp4BADKmUgI+nQEAMqZRAj7vAwAyplACPvADADKmTwI+8QMAMqZOAkLyAwAyqk8C",
  "PlACADKmUAJC8gMAMqZRAkLyAwAzplICADE+UwIAM6ZTAkLyAwAzplQCQvIDADOmVQI+8gMA",
  "M6ZVAj6iAQAzplUCPvIDADOmVQI+8gMAM6ZUAkKfAaZTAj7yAwAzplICPvIDADSmUQI+8gMA",
  "NKZQAj7yAwA0pk8CPvIDADSmTgJC8gMANKpPAj5QAgA0plACQvIDADSmUQJC8gMANKZSAgAx",
  "PlMCADSmUwJC8gMANKZUAkLyAwA1plUCPvIDADWmVQI+ogEANaZVAj7yAwA1plUCPvIDADWm",
  "VAI+nwEANaZTAj7yAwA1plICPvIDADWmUQI+8gMANaZQAj7yAwA1pk8CPvIDADamTgJC8gMA",
  "NqpPAj5QAgA2plACQvIDADamUQJC8gMANqZSAgAxPlMCADamUwJC8gMANqZUAkLyAwA2plUC",
  "PvIDADamVQJCogGmVQI+8gMAN6ZVAj7yAwA3plQCPp8BADemUwI+8gMAN6ZSAj7yAwA3plEC",
  "PvIDADemUAI+8gMAN6ZPAj7yAwA3pk4CQvIDADeqTwI+UAIAN6ZQAkLyAwA4plECQvIDADim",
  "UgIAMT5TAgA4plMCQvIDADimVAJC8gMAOKZVAj7yAwA4plUCPqIBADimVQI+8gMAOKZVAj7y",
  "AwA4plQCQp8BplMCPvIDADmmUgI+8gMAOaZRAj7yAwA5plACPvIDADmmTwI+8gMAOaZOAkLy",
  "AwA5qk8CPlACADmmUAJC8gMAOaZRAkLyAwA5plICADE+UwIAOaZTAkLyAwQxMKZVAkLzAwQx",
  "MKZXAj70AwQxMKZYAj6lAQQxMKZZAj72AwQxMKZaAj73AwQxMKZaAj6lAQQxMKZaAj75AwQx",
  "MKZaAj76AwQxMKZaAj77AwQxMKZaAj78AwAxqkAXPv0DADGuQBdCWQKuQRdCWgKuQhdCWwKu",
  "QxdCXAKuRBdCXQKqRRdGAwSuRxdCXwKqSRdGqgGmXwJCqQGqSxdCqAGqTBdCpwGqTRdCpgGq",
  "ThdCAwSqTxdCpAGqUBdCAwSqURdCAwSqURdCAwSuURdCWQKuUhdCWgKuUxdCWwKuVBdCXAKu",
  "VRdCXQKqVhdGAwSuWBdCXwKqWhdCqgGqWxdGqQGmFgdGqAGmFgdGpwGmtwRCpgGqXxdCAwSq",
  "YBdCpAGqYRdCAwSqYhdCAwSqYhdCAwSuYhdCWQKuYxdCWgKuZBdCWwKuZRdCXAKuZhdCXQKq",
  "ZxdGAwSuaRdCXwKqaxdCqgGqbBdCqQGqbRdCqAGqbhdCpwGqbxdGpgGmtwRCAwSqcRdGpAGm",
  "twRCAwSqcxdCAwSqcxdCAwSucxdCWQKudBdCWgKudRdCWwKudhdCXAKudxdCXQKqeBdGAwSu",
  "ehdCXwKqfBdCqgGqfRdCqQGqfhdCqAGqfxdCpwGqgBdCpgGqgRdCAwSqghdCpAGqgxdCAwSq",
  "hBdCAwSqhBdCAwSuhBdCWQKuhRdCWgKuhhdCWwKuhxdCXAKuiBdCXQKqiRdGAwSuixdCXwKq",
  "jRdGqgGmFgdGqQGmzQtGqAGmFgdCpwGqkRdCpgGqkhdCAwSqkxdCpAGqlBdCAwSqlRdCAwSq",
  "lRdCAwSulRdCWQKulhdCWgKulxdCWwKumBc+XAIAMq6YFz5dAgAyqpgXQgMEADKumRc+XwIA",
  "MqqaFz6qAQAyqpoXPqkBADKqmhc+qAEAMqqaF0anAaa3BEamAaa3BD4DBAAyqpoXQqQBqpoX",
  "PgMEADKqmhc+AwQAMqqZFz4DBAAyrpgXQlkCrpgXQloCrpgXQlsCrpgXQlwCrpgXQl0CqpgX",
  "RgMErpkXQl8CqpoXQqoBqpoXQqkBqpoXQqgBqpoXQqcBqpoXQqYBqpoXQgMEqpoXRqQBprcE",
  "QgMEqpoXQgMEqpkXQgMErpgXQlkCrpgXQloCrpgXQlsCrpgXQlwCrpgXQl0CqpgXRgMErpkX",
  "Ql8CqpoXRqoBphYHRqkBps0LQqgBqpoXQqcBqpoXQqYBqpoXQgMEqpoXQqQBqpoXQgMEqpoX",
  "QgMEqpkXQgMErpgXQlkCrpgXQloCrpgXQlsCrpgXQlwCrpgXQl0CqpgXRgMErpkXQl8CqpoX",
  "QqoBqpoXQqkBqpoXRqgBphYHRqcBprcERqYBprcEQgMEqpoXQqQBqpoXQgMEqpoXQgMEqpkX",
  "QgMErpgXQlkCrpgXQloCrpgXQlsCrpgXQlwCrpgXQl0CqpgXRgMErpkXQl8CqpoXQqoBqpoX",
  "QqkBqpoXQqgBqpoXQqcBqpoXQqYBqpoXQgMEqpoXRqQBprcEQgMEqpoXQgMEqpkXQgMErpgX",
  "QlkCrpgXQloCrpgXQlsCrpgXQlwCrpgXQl0CqpgXRgMErpkXQl8CqpoXRqoBphYHQqkBqpoX",
  "QqgBqpoXQqcBqpoXQqYBqpoXQgMEqpoXQqQBqpoXQgMEqpoXQgMEqpkXQgMErpgXQlkCrpgX",
  "PloCADOumBc+WwIAM66YFz5cAgAzrpgXPl0CADOqmBdCAwQAM66ZFz5fAgAzqpoXPqoBADOq",
  "mhdGqQGmzQtGqAGmFgdGpwGmtwRCpgGqmhc+AwQAM6qaF0KkAaqaFz4DBAAzqpoXPgMEADOq",
  "mRc+AwQAM66YF0JZAq6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YDBK6ZF0JfAqqaF0Kq",
  "AaqaF0KpAaqaF0KoAaqaF0KnAaqaF0amAaa3BEIDBKqaF0akAaa3BEIDBKqaF0IDBKqZF0ID",
  "BK6YF0JZAq6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YDBK6ZF0JfAqqaF0KqAaqaF0Kp",
  "AaqaF0KoAaqaF0KnAaqaF0KmAaqaF0IDBKqaF0KkAaqaF0IDBKqaF0IDBKqZF0IDBK6YF0JZ",
  "Aq6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YDBK6ZF0JfAqqaF0aqAaYWB0apAabNC0ao",
  "AaYWB0KnAaqaF0KmAaqaF0IDBKqaF0KkAaqaF0IDBKqaF0IDBKqZF0IDBK6YF0JZAq6YF0Ja",
  "Aq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YDBK6ZF0JfAqqaF0KqAaqaF0KpAaqaF0KoAaqaF0an",
  "Aaa3BEamAaa3BEIDBKqaF0KkAaqaF0IDBKqaF0IDBKqZF0IDBK6YF0JZAq6YF0JaAq6YF0Jb",
  "Aq6YF0JcAq6YF0JdAqqYF0YDBK6ZF0JfAqqaF0KqAaqaF0KpAaqaF0KoAaqaF0KnAaqaF0Km",
  "AaqaF0IDBKqaF0akAaa3BEIDBKqaF0IDBKqZFz4DBAA0rpgXPlkCADSumBc+WgIANK6YFz5b",
  "AgA0rpgXPlwCADSumBc+XQIANKqYF0IDBAA0rpkXPl8CADSqmhdGqgGmFgdGqQGmzQtCqAGq",
  "mhdCpwGqmhdCpgGqmhc+AwQANKqaF0KkAaqaFz4DBAA0qpoXPgMEADSqmRdCAwSumBdCWQKu",
  "mBdCWgKumBdCWwKumBdCXAKumBdCXQKqmBdGAwSumRdCXwKqmhdCqgGqmhdCqQGqmhdGqAGm",
  "FgdGpwGmtwRGpgGmtwRCAwSqmhdCpAGqmhdCAwSqmhdCAwSqmRdCAwSumBdCWQKumBdCWgKu",
  "mBdCWwKumBdCXAKumBdCXQKqmBdGAwSumRdCXwKqmhdCqgGqmhdCqQGqmhdCqAGqmhdCpwGq",
  "mhdCpgGqmhdCAwSqmhdGpAGmtwRCAwSqmhdCAwSqmRdCAwSumBdCWQKumBdCWgKumBdCWwKu",
  "mBdCXAKumBdCXQKqmBdGAwSumRdCXwKqmhdGqgGmFgdCqQGqmhdCqAGqmhdCpwGqmhdCpgGq",
  "mhdCAwSqmhdCpAGqmhdCAwSqmhdCAwSqmRdCAwSumBdCWQKumBdCWgKumBdCWwKumBdCXAKu",
  "mBdCXQKqmBdGAwSumRdCXwKqmhdCqgGqmhdGqQGmzQtGqAGmFgdGpwGmtwRCpgGqmhdCAwSq",
  "mhdCpAGqmhdCAwSqmhdCAwSqmRdCAwSumBdCWQKumBdCWgKumBdCWwKumBdCXAKumBdCXQKq",
  "mBdGAwSumRdCXwKqmhdCqgGqmhdCqQGqmhdCqAGqmhdCpwGqmhdGpgGmtwRCAwSqmhdGpAGm",
  "twQ+AwQANaqaFz4DBAA1qpkXPgMEADWumBc+WQIANa6YFz5aAgA1rpgXPlsCADWumBc+XAIA",
  "Na6YFz5dAgA1qpgXQgMEADWumRc+XwIANaqaF0KqAaqaF0KpAaqaF0KoAaqaF0KnAaqaF0Km",
  "AaqaFz4DBAA1qpoXQqQBqpoXQgMEqpoXQgMEqpkXQgMErpgXQlkCrpgXQloCrpgXQlsCrpgX",
  "QlwCrpgXQl0CqpgXRgMErpkXQl8CqpoXRqoBphYHRqkBps0LRqgBphYHQqcBqpoXQqYBqpoX",
  "QgMEqpoXQqQBqpoXQgMEqpoXQgMEqpkXQgMErpgXQlkCrpgXQloCrpgXQlsCrpgXQlwCrpgX",
  "Ql0CqpgXRgMErpkXQl8CqpoXQqoBqpoXQqkBqpoXQqgBqpoXRqcBprcERqYBprcEQgMEqpoX",
  "QqQBqpoXQgMEqpoXQgMEqpkXQgMErpgXQlkCrpgXQloCrpgXQlsCrpgXQlwCrpgXQl0CqpgX",
  "RgMErpkXQl8CqpoXQqoBqpoXQqkBqpoXQqgBqpoXQqcBqpoXQqYBqpoXQgMEqpoXRqQBprcE",
  "QgMEqpoXQgMEqpkXQgMErpgXQlkCrpgXQloCrpgXQlsCrpgXQlwCrpgXQl0CqpgXRgMErpkX",
  "Ql8CqpoXRqoBphYHRqkBps0LQqgBqpoXQqcBqpoXQqYBqpoXQgMEqpoXQqQBqpoXQgMEqpoX",
  "QgMEqpkXQgMErpgXQlkCrpgXQloCrpgXQlsCrpgXQlwCrpgXQl0CqpgXRgMErpkXQl8CqpoX",
  "QqoBqpoXQqkBqpoXRqgBphYHRqcBprcERqYBprcEPgMEADaqmhc+pAEANqqaFz4DBAA2qpoX",
  "PgMEADaqmRc+AwQANq6YFz5ZAgA2rpgXPloCADaumBc+WwIANq6YFz5cAgA2rpgXPl0CADaq",
  "mBdCAwQANq6ZF0JfAqqaF0KqAaqaF0KpAaqaF0KoAaqaF0KnAaqaF0KmAaqaF0IDBKqaF0ak",
  "Aaa3BEIDBKqaF0IDBKqZF0IDBK6YF0JZAq6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YD",
  "BK6ZF0JfAqqaF0aqAaYWB0KpAaqaF0KoAaqaF0KnAaqaF0KmAaqaF0IDBKqaF0KkAaqaF0ID",
  "BKqaF0IDBKqZF0IDBK6YF0JZAq6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YDBK6ZF0Jf",
  "AqqaF0KqAaqaF0apAabNC0aoAaYWB0anAaa3BEKmAaqaF0IDBKqaF0KkAaqaF0IDBKqaF0ID",
  "BKqZF0IDBK6YF0JZAq6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YDBK6ZF0JfAqqaF0Kq",
  "AaqaF0KpAaqaF0KoAaqaF0KnAaqaF0amAaa3BEIDBKqaF0akAaa3BEIDBKqaF0IDBKqZF0ID",
  "BK6YF0JZAq6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YDBK6ZF0JfAqqaF0KqAaqaF0Kp",
  "AaqaF0KoAaqaF0KnAaqaF0KmAaqaF0IDBKqaF0KkAaqaF0IDBKqaF0IDBKqZF0IDBK6YF0JZ",
  "Aq6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YDBK6ZF0JfAqqaF0aqAaYWB0apAabNC0ao",
  "AaYWBz6nAQA3qpoXPqYBADeqmhc+AwQAN6qaFz6kAQA3qpoXPgMEADeqmhc+AwQAN6qZFz4D",
  "BAA3rpgXPlkCADeumBc+WgIAN66YFz5bAgA3rpgXQlwCrpgXQl0CqpgXQgMEADeumRdCXwKq",
  "mhdCqgGqmhdCqQGqmhdCqAGqmhdGpwGmtwRGpgGmtwRCAwSqmhdCpAGqmhdCAwSqmhdCAwSq",
  "mRdCAwSumBdCWQKumBdCWgKumBdCWwKumBdCXAKumBdCXQKqmBdGAwSumRdCXwKqmhdCqgGq",
  "mhdCqQGqmhdCqAGqmhdCpwGqmhdCpgGqmhdCAwSqmhdGpAGmtwRCAwSqmhdCAwSqmRdCAwSu",
  "mBdCWQKumBdCWgKumBdCWwKumBdCXAKumBdCXQKqmBdGAwSumRdCXwKqmhdGqgGmFgdGqQGm",
  "zQtCqAGqmhdCpwGqmhdCpgGqmhdCAwSqmhdCpAGqmhdCAwSqmhdCAwSqmRdCAwSumBdCWQKu",
  "mBdCWgKumBdCWwKumBdCXAKumBdCXQKqmBdGAwSumRdCXwKqmhdCqgGqmhdCqQGqmhdGqAGm",
  "FgdGpwGmtwRGpgGmtwRCAwSqmhdCpAGqmhdCAwSqmhdCAwSqmRdCAwSumBdCWQKumBdCWgKu",
  "mBdCWwKumBdCXAKumBdCXQKqmBdGAwSumRdCXwKqmhdCqgGqmhdCqQGqmhdCqAGqmhdCpwGq",
  "mhdCpgGqmhdCAwSqmhdGpAGmtwRCAwSqmhdCAwSqmRdCAwSumBdCWQKumBdCWgKumBdCWwKu",
  "mBdCXAKumBdCXQKqmBdGAwSumRdCXwKqmhdGqgGmFgc+qQEAOKqaFz6oAQA4qpoXPqcBADiq",
  "mhc+pgEAOKqaFz4DBAA4qpoXPqQBADiqmhc+AwQAOKqaFz4DBAA4qpkXPgMEADiumBc+WQIA",
  "OK6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0IDBAA4rpkXQl8CqpoXQqoBqpoXRqkBps0L",
  "RqgBphYHRqcBprcEQqYBqpoXQgMEqpoXQqQBqpoXQgMEqpoXQgMEqpkXQgMErpgXQlkCrpgX",
  "QloCrpgXQlsCrpgXQlwCrpgXQl0CqpgXRgMErpkXQl8CqpoXQqoBqpoXQqkBqpoXQqgBqpoX",
  "QqcBqpoXRqYBprcEQgMEqpoXRqQBprcEQgMEqpoXQgMEqpkXQgMErpgXQlkCrpgXQloCrpgX",
  "QlsCrpgXQlwCrpgXQl0CqpgXRgMErpkXQl8CqpoXQqoBqpoXQqkBqpoXQqgBqpoXQqcBqpoX",
  "QqYBqpoXQgMEqpoXQqQBqpoXQgMEqpoXQgMEqpkXQgMErpgXQlkCrpgXQloCrpgXQlsCrpgX",
  "QlwCrpgXQl0CqpgXRgMErpkXQl8CqpoXRqoBphYHRqkBps0LRqgBphYHQqcBqpoXQqYBqpoX",
  "QgMEqpoXQqQBqpoXQgMEqpoXQgMEqpkXQgMErpgXQlkCrpgXQloCrpgXQlsCrpgXQlwCrpgX",
  "Ql0CqpgXRgMErpkXQl8CqpoXQqoBqpoXQqkBqpoXQqgBqpoXRqcBprcERqYBprcEQgMEqpoX",
  "QqQBqpoXQgMEqpoXQgMEqpkXQgMErpgXQlkCrpgXQloCrpgXQlsCrpgXQlwCrpgXQl0CqpgX",
  "RgMErpkXPl8CADmqmhc+qgEAOaqaFz6pAQA5qpoXPqgBADmqmhc+pwEAOaqaFz6mAQA5qpoX",
  "PgMEADmqmhdGpAGmtwQ+AwQAOaqaFz4DBAA5qpkXPgMEADmumBdCWQKumBdCWgKumBdCWwKu",
  "mBdCXAKumBdCXQKqmBdCAwQAOa6ZF0JfAqqaF0aqAaYWB0apAabNC0KoAaqaF0KnAaqaF0Km",
  "AaqaF0IDBKqaF0KkAaqaF0IDBKqaF0IDBKqZF0IDBK6YF0JZAq6YF0JaAq6YF0JbAq6YF0Jc",
  "Aq6YF0JdAqqYF0YDBK6ZF0JfAqqaF0KqAaqaF0KpAaqaF0aoAaYWB0anAaa3BEamAaa3BEID",
  "BKqaF0KkAaqaF0IDBKqaF0IDBKqZF0IDBK6YF0JZAq6YF0JaAq6YF0JbAq6YF0JcAq6YF0Jd",
  "AqqYF0YDBK6ZF0JfAqqaF0KqAaqaF0KpAaqaF0KoAaqaF0KnAaqaF0KmAaqaF0IDBKqaF0ak",
  "Aaa3BEIDBKqaF0IDBKqZF0IDBK6YF0JZAq6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YD",
  "BK6ZF0JfAqqaF0aqAaYWB0KpAaqaF0KoAaqaF0KnAaqaF0KmAaqaF0IDBKqaF0KkAaqaF0ID",
  "BKqaF0IDBKqZF0IDBK6YF0JZAq6YF0JaAq6YF0JbAq6YF0JcAq6YF0JdAqqYF0YDBK6ZF0Jf",
  "AqqaF0KqAaqaF0apAabNC0aoAaYWB0anAaa3BEKmAaqaF0IDBKqaF0KkAaqaF0IDBKqaF0ID",
  "BKqZF0IDBK6YF0JZAq6YF0JaAq6YF0JbAq6YF0JcAq6YFz5dAgQxMKqZF0IEBAQxMK6bFz5h",
  "AgQxMKqdFz6tAQQxMKqeFz6tAQQxMKqfFz6tAQQxMKqgFz6tAQQxMKqhF0qtAaa/BD4LBAQx",
  "MKqjF0qrAabBBD4NBAQxMKqlFz4OBAQxMKqlFz4PBAQxMK6lF0ZjAq6mF0ZkAq6nF0ZlAq6o",
  "F0ZmAq6pF0ZnAqqqF0oUBK6sF0ZpAqquF0axAaqvF0awAaqwF0avAaqxF0auAaqyF0atAaqz",
  "F0YUBKq0F0arAaq1F0YUBKq2F0YUBKq2F0YUBK62F0ZjAq63F0ZkAq64F0ZlAq65F0ZmAq66",
  "F0ZnAqq7F0oUBK69F0ZpAqq/F0qxAaY0B0qwAab0C0qvAaY0B0auAarDF0atAarEF0YUBKrF",
  "F0arAarGF0YUBKrHF0YUBKrHF0YUBK7HF0ZjAq7IF0ZkAq7JF0ZlAq7KF0ZmAq7LF0ZnAqrM",
  "F0oUBK7OF0ZpAqrQF0axAarRF0awAarSF0avAarTF0quAabLBEqtAabLBEYUBKrWF0arAarX",
  "F0YUBKrYF0YUBKrYF0YUBK7YF0ZjAq7ZF0ZkAq7aF0ZlAq7bF0ZmAq7cF0ZnAqrdF0oUBK7f",
  "F0ZpAqrhF0axAariF0awAarjF0avAarkF0auAarlF0atAarmF0YUBKrnF0qrAabLBEYUBKrp",
  "F0YUBKrpF0YUBK7pF0ZjAq7qF0ZkAq7rF0ZlAq7sF0ZmAkrtFwDTAAAWOErYiAfwPmVfbWV0",
  "cmlje2luc3RhbmNlPSJob3N0LTE0Iixqb2I9ImJhdGNoIn0gMTA4NQpwdXNodmF1bHRfZml4",
  "dHVyZV4+AAA1Rj4ACDYKcJ4+AAA2Rj4AADeiPgAAMEY9AAA4oj0AADFGPQAAOaI9AAAyQj0A",
  "BDkwoj0AADNGPQAAMaI9AEatAQQ5MqI9AAA1RnoACDMKcJqsAUarAQQ5NKI9AAA3RnoAADWi",
  "PQAAOEY9AKZjAgA5Rj0ApmICADFGYwIAOapjAgAxRnwABDkK",
]);

function fixtureMetrics(count: number): string {
  let text = "";
  for (let i = 0; i < count; i++) {
    text += `pushvault_fixture_metric{instance="host-${
      i % 17
    }",job="batch"} ${i}\n`;
  }
  return text;
}

// ---------------------------------------------------------------------------

Deno.test("decompressBody() passes identity, absent and unknown encodings through", async (t) => {
  const body = encoder.encode("some_metric 1\n");
  for (
    const encoding of [null, "", "identity", "deflate", "br", "gzip, identity"]
  ) {
    await t.step(JSON.stringify(encoding), async () => {
      assert.equal(await decompressBody(body, encoding, LIMIT), body);
    });
  }
});

Deno.test("decompressBody() applies the limit to bodies it passes through", async () => {
  const body = new Uint8Array(11);
  assert.equal(await decompressBody(body, null, { maxBytes: 11 }), body);
  await rejectsWith(
    decompressBody(body, "identity", { maxBytes: 10 }),
    BodyTooLargeError,
    "request body exceeds the limit of 10 bytes",
  );
});

Deno.test("decompressBody() decodes gzip whatever the case of the encoding", async (t) => {
  const text = "# TYPE some_metric counter\nsome_metric 3.14\n".repeat(100);
  const body = await gzip(encoder.encode(text));
  for (const encoding of ["gzip", "GZIP", "GZip"]) {
    await t.step(encoding, async () => {
      const result = await decompressBody(body, encoding, LIMIT);
      assert.equal(decoder.decode(result), text);
      assert.equal(Object.getPrototypeOf(result), Uint8Array.prototype);
    });
  }
});

Deno.test("decompressBody() reads concatenated gzip members as Go does", async () => {
  const body = concatBytes(
    await gzip(encoder.encode("a 1\n")),
    await gzip(encoder.encode("b 2\n")),
  );
  assert.equal(
    decoder.decode(await decompressBody(body, "gzip", LIMIT)),
    "a 1\nb 2\n",
  );
});

Deno.test("decompressBody() rejects bad gzip with the Go gzip reader's messages", async (t) => {
  const valid = await gzip(encoder.encode("some_metric 1\n"));
  const flip = (at: number): Uint8Array => {
    const copy = valid.slice();
    copy[at] = (copy[at] ?? 0) ^ 0x01;
    return copy;
  };
  const cases = [
    // docs/compatibility.md, Compression: empty body, short and long non-gzip
    // bodies, as observed.
    { name: "empty body", body: new Uint8Array(0), message: "EOF" },
    {
      name: "short non-gzip body",
      body: encoder.encode("x 1\n"),
      message: "unexpected EOF",
    },
    {
      name: "long non-gzip body",
      body: encoder.encode("some_metric 3.14\n"),
      message: "gzip: invalid header",
    },
    {
      name: "wrong compression method",
      body: Uint8Array.of(0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0xff, 0),
      message: "gzip: invalid header",
    },
    {
      name: "truncated stream",
      body: valid.subarray(0, valid.length - 5),
      message: "unexpected EOF",
    },
    {
      name: "wrong CRC-32",
      body: flip(valid.length - 8),
      message: "gzip: invalid checksum",
    },
    {
      name: "wrong length",
      body: flip(valid.length - 4),
      message: "gzip: invalid checksum",
    },
    {
      name: "garbage after the last member",
      body: concatBytes(valid, encoder.encode("garbage after it")),
      message: "gzip: invalid header",
    },
    {
      name: "corrupt deflate data",
      body: concatBytes(
        valid.subarray(0, 10),
        Uint8Array.of(0xff, 0xff, 0xff, 0xff),
      ),
      message: /^flate: corrupt input/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await rejectsWith(
        decompressBody(c.body, "gzip", LIMIT),
        DecompressionError,
        c.message,
      );
      await decompressBody(c.body, "gzip", LIMIT).catch((error: unknown) => {
        assert.ok(error instanceof DecompressionError);
        assert.equal(error.encoding, "gzip");
      });
    });
  }
});

Deno.test("decompressBody() accepts gzip output exactly at the limit and not a byte more", async () => {
  const body = await gzip(new Uint8Array(1000));
  assert.equal(
    (await decompressBody(body, "gzip", { maxBytes: 1000 })).length,
    1000,
  );
  await rejectsWith(
    decompressBody(body, "gzip", { maxBytes: 999 }),
    BodyTooLargeError,
    "decompressed request body exceeds the limit of 999 bytes",
  );
});

Deno.test("decompressBody() inflates a large gzip body into a buffer of its own, letting other work run", async () => {
  // 32 MiB of text-like bytes: inflated in slices between turns of the event
  // loop, so a timer set before the call fires before the body is inflated.
  const data = new Uint8Array(32 << 20).map((_, i) => 0x30 + (i * 7 % 43));
  const body = await gzip(data);
  let fired = false;
  setTimeout(() => fired = true, 0);
  const inflated = await decompressBody(body, "gzip", { maxBytes: 64 << 20 });
  const firedBeforeTheEnd = fired;
  assert.ok(firedBeforeTheEnd);
  assert.deepEqual(inflated, data);
  // Sized by the gzip trailer: handed to the push worker without a copy.
  assert.equal(inflated.byteOffset, 0);
  assert.equal(inflated.buffer.byteLength, data.length);
});

Deno.test("decompressBody() inflates large concatenated gzip members whole", async () => {
  // The trailer states the last member's size only: the buffer grows.
  const a = new Uint8Array(3 << 20).map((_, i) => 0x30 + (i % 10));
  const b = new Uint8Array(1 << 20).fill(0x61);
  const body = concatBytes(await gzip(a), await gzip(b));
  const inflated = await decompressBody(body, "gzip", LIMIT_64M);
  assert.deepEqual(inflated, concatBytes(a, b));
});

const LIMIT_64M = { maxBytes: 64 << 20 };

Deno.test("decompressBody() stops inflating a gzip bomb at the limit", async () => {
  // 1 GiB of zeros, compressed from streamed chunks to about 1 MiB.
  const zeros = new Uint8Array(1 << 20);
  const stream = new ReadableStream<BufferSource>({
    start(controller) {
      for (let i = 0; i < 1024; i++) controller.enqueue(zeros);
      controller.close();
    },
  }).pipeThrough(new CompressionStream("gzip"));
  const bomb = new Uint8Array(await new Response(stream).arrayBuffer());
  assert.ok(bomb.length < 2 << 20, `bomb is ${bomb.length} bytes`);
  const maxBytes = 16 << 20;
  await assert.rejects(
    decompressBody(bomb, "gzip", { maxBytes }),
    (error: unknown) => {
      assert.ok(error instanceof BodyTooLargeError);
      assert.equal(error.limit, maxBytes);
      assert.match(error.message, /limit of 16777216 bytes/);
      return true;
    },
  );
});

Deno.test("decompressBody() decodes snappy frames from a real encoder", async (t) => {
  await t.step("one uncompressed chunk", async () => {
    const result = await decompressBody(PY_SNAPPY_SMALL, "snappy", LIMIT);
    assert.equal(
      decoder.decode(result),
      '# TYPE some_metric counter\nsome_metric{label="val1"} 42\n',
    );
  });
  await t.step("two compressed chunks", async () => {
    const result = await decompressBody(PY_SNAPPY_TWO_CHUNKS, "snappy", LIMIT);
    assert.equal(result.length, 66440);
    assert.equal(decoder.decode(result), fixtureMetrics(1100));
  });
  await t.step("upper-case encoding", async () => {
    const result = await decompressBody(PY_SNAPPY_SMALL, "SNAPPY", LIMIT);
    assert.equal(result.length, 56);
  });
});

Deno.test("decompressBody() round-trips random bodies through snappy frames", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 3000 }),
      fc.integer({ min: 1, max: 700 }),
      async (data, size) => {
        const result = await decompressBody(
          snappyFramed(data, size),
          "snappy",
          LIMIT,
        );
        assert.deepEqual(result, data);
      },
    ),
    { seed: 20240521, numRuns: 200 },
  );
});

Deno.test("decompressBody() reads snappy copies, padding and skippable chunks", async () => {
  const text = encoder.encode("abcabcabcabcX");
  // "abc" literal, a 4-byte-offset copy of 9 bytes (overlapping), "X" literal.
  const block = Uint8Array.of(
    13,
    2 << 2,
    0x61,
    0x62,
    0x63,
    ((9 - 1) << 2) | 3,
    3,
    0,
    0,
    0,
    0,
    0x58,
  );
  const body = concatBytes(
    STREAM_IDENTIFIER,
    chunk(0xfe, new Uint8Array(7)), // padding
    compressedChunk(text, block),
    chunk(0x80, encoder.encode("skip me")), // reserved skippable
    STREAM_IDENTIFIER, // a second stream (concatenated files)
    uncompressedChunk(encoder.encode("!")),
  );
  assert.equal(
    decoder.decode(await decompressBody(body, "snappy", LIMIT)),
    "abcabcabcabcX!",
  );
});

Deno.test("decompressBody() takes an empty snappy body for an empty stream", async () => {
  assert.equal(
    (await decompressBody(new Uint8Array(0), "snappy", LIMIT)).length,
    0,
  );
  assert.equal(
    (await decompressBody(STREAM_IDENTIFIER, "snappy", LIMIT)).length,
    0,
  );
});

Deno.test("decompressBody() rejects bad snappy streams as Go's snappy.Reader does", async (t) => {
  const data = encoder.encode("some_metric 1\n");
  const good = compressedChunk(data);
  const badCrc = good.slice();
  badCrc[4] = (badCrc[4] ?? 0) ^ 0x01;
  const cases = [
    {
      name: "no stream identifier",
      body: good,
      message: "snappy: corrupt input",
    },
    {
      name: "plain text",
      body: encoder.encode("some_metric 1\n"),
      message: "snappy: corrupt input",
    },
    {
      name: "wrong stream identifier",
      body: chunk(0xff, encoder.encode("sNaPpX")),
      message: "snappy: corrupt input",
    },
    {
      name: "CRC mismatch in a compressed chunk",
      body: concatBytes(STREAM_IDENTIFIER, badCrc),
      message: "snappy: corrupt input",
    },
    {
      name: "CRC mismatch in an uncompressed chunk",
      body: concatBytes(
        STREAM_IDENTIFIER,
        chunk(
          0x01,
          concatBytes(crcBytes(data), encoder.encode("other_metric 1\n")),
        ),
      ),
      message: "snappy: corrupt input",
    },
    {
      name: "truncated chunk",
      body: concatBytes(STREAM_IDENTIFIER, good.subarray(0, good.length - 1)),
      message: "snappy: corrupt input",
    },
    {
      name: "truncated chunk header",
      body: concatBytes(STREAM_IDENTIFIER, good.subarray(0, 3)),
      message: "snappy: corrupt input",
    },
    {
      name: "chunk shorter than its checksum",
      body: concatBytes(STREAM_IDENTIFIER, chunk(0x00, Uint8Array.of(1, 2, 3))),
      message: "snappy: corrupt input",
    },
    {
      name: "block shorter than its declared length",
      body: concatBytes(
        STREAM_IDENTIFIER,
        compressedChunk(data, literalBlock(data).subarray(0, 10)),
      ),
      message: "snappy: corrupt input",
    },
    {
      name: "copy before any output",
      body: concatBytes(
        STREAM_IDENTIFIER,
        compressedChunk(new Uint8Array(4), Uint8Array.of(4, 1, 1)),
      ),
      message: "snappy: corrupt input",
    },
    {
      name: "block declaring more than 64 KiB",
      body: concatBytes(
        STREAM_IDENTIFIER,
        compressedChunk(data, Uint8Array.of(0x81, 0x80, 0x04)),
      ),
      message: "snappy: corrupt input",
    },
    {
      name: "reserved unskippable chunk",
      body: concatBytes(STREAM_IDENTIFIER, chunk(0x02, new Uint8Array(1))),
      message: "snappy: unsupported input",
    },
    {
      name: "chunk longer than Go's reader accepts",
      body: concatBytes(
        STREAM_IDENTIFIER,
        Uint8Array.of(0xfe, 0xff, 0xff, 0x01),
      ),
      message: "snappy: unsupported input",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await rejectsWith(
        decompressBody(c.body, "snappy", LIMIT),
        DecompressionError,
        c.message,
      );
    });
  }
});

Deno.test("decompressBody() stops decoding snappy at the limit", async () => {
  const body = snappyFramed(new Uint8Array(200_000), 65536);
  await rejectsWith(
    decompressBody(body, "snappy", { maxBytes: 100_000 }),
    BodyTooLargeError,
    "decompressed request body exceeds the limit of 100000 bytes",
  );
  assert.equal(
    (await decompressBody(body, "snappy", { maxBytes: 200_000 })).length,
    200_000,
  );
});

Deno.test("crc32c() gives the CRC-32C check value", () => {
  // RFC 3720 appendix B.4 / the "123456789" check value of CRC-32C.
  assert.equal(crc32c(encoder.encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
});

// ---------------------------------------------------------------------------

Deno.test("decompressBody() lets other work run while it decodes a large snappy body", async () => {
  // 40 chunks of 64 KiB: decoded in turns of the event loop, so a timer set
  // before the call fires before the body is decoded.
  const data = new Uint8Array(40 * 65536).map((_, i) => i % 97);
  let fired = false;
  setTimeout(() => fired = true, 0);
  const decoded = await decompressBody(snappyFramed(data), "snappy", {
    maxBytes: data.length,
  });
  const firedBeforeTheEnd = fired;
  assert.ok(firedBeforeTheEnd);
  assert.deepEqual(decoded, data);
});
