/**
 * OpenMetrics 1.0 text → metric families, for push bodies sent as
 * `application/openmetrics-text` (the Pushgateway refuses them and parses them
 * as text 0.0.4, docs/compatibility.md, Push bodies; users asked for them in
 * prometheus/pushgateway#400). Pure: no I/O, no clock. Throws the first problem
 * as an {@link ExpositionError} with its 1-based line.
 *
 * Strictness. "Partial or invalid expositions MUST be considered erroneous in
 * their entirety" (OpenMetrics 1.0, "Data transmission"). We enforce the ABNF
 * and the MUSTs that the reference parser (prometheus/client_python
 * `openmetrics/parser.py`) and the OpenMetrics parser test suite
 * (OpenObservability/OpenMetrics `tests/testdata/parsers`) enforce:
 * `# EOF` last and nothing after it; no blank lines, no other `#` lines, no
 * CR; one TYPE/HELP/UNIT per family, before its samples; UNIT a `_unit`
 * suffix of the name and absent on info and stateset; families and metrics
 * not interleaved, names not clashing (`a_created` gauge vs counter `a`);
 * counter-like values (`_total`, `_sum`, `_count`, `_bucket`, `_gcount`)
 * neither NaN nor negative; histograms complete (`+Inf` bucket, buckets sorted,
 * `_count` = `+Inf` bucket, `_count` iff `_sum`), integer counts; quantiles in
 * [0, 1]; stateset values 0/1, info values 1; exemplars only on counter
 * `_total` and `_bucket` samples, their labels ≤ 128 code points; timestamps
 * within a metric not going backwards. Beyond the ABNF, and like the text
 * parser: `__name__` as a label name is reserved. Not checked: duplicate series
 * across families (the consistency check does that), timestamps being absent
 * (push/validate.ts rejects them later). Given limits, names and label values
 * over them, and number tokens over MAX_NUMBER_BYTES, are refused as read
 * (token_limits.ts).
 *
 * Mapping to the model (the choices a text 0.0.4 scrape of the result must
 * make look as client_golang would):
 * - counter `foo` → counter family `foo_total` (the name of its samples, as
 *   client_golang names counter families; a 0.0.4 scrape shows `foo_total`);
 *   `foo_created` → `createdTimestampMs`, never a series of its own; an
 *   exemplar on `foo_total` → `exemplar`.
 * - gauge → gauge; unknown (or no TYPE) → untyped; info `foo` → gauge family
 *   `foo_info` with value 1; stateset `foo` → gauge family `foo` with one
 *   series per state (the label named `foo` holds the state), value 0 or 1.
 * - summary and histogram → family `foo` as in text 0.0.4; gaugehistogram →
 *   type `"gaugehistogram"`, `_gcount`/`_gsum` as count/sum. A missing `_sum`
 *   or `_count` becomes 0 as in the text parser, except that a histogram's
 *   count falls back to its `+Inf` bucket. Buckets keep their order
 *   (including `+Inf`), exemplars go to their bucket. `le`/`quantile` are
 *   parsed as floats.
 * - Timestamps (float seconds) → integer `timestampMs`, truncated toward zero
 *   like Prometheus (`int64(ts * 1000)`), computed from the decimal text so
 *   that `1520879607.789` gives exactly `1520879607789`.
 * - Every MetricPoint becomes its own model metric (several points of one
 *   metric only exist with timestamps, which pushes reject anyway).
 * - Empty HELP or UNIT counts as absent (OpenMetrics 1.0: "MUST be treated
 *   as if no metadata line ... existed"). Families without samples are
 *   dropped, as the text parser does.
 * @module
 */

import { ExpositionError, type MetricFamily } from "./model.ts";
import { NO_TOKEN_LIMITS, type TokenLimits } from "./token_limits.ts";
import { type LineReader, readSample } from "./openmetrics_lex.ts";
import { readMetadata } from "./openmetrics_metadata.ts";
import { finishFamily } from "./openmetrics_points.ts";
import { addSample } from "./openmetrics_samples.ts";
import { CHAR_HASH, type Context } from "./openmetrics_state.ts";

export interface OpenMetricsParseOptions {
  /**
   * Accept quoted UTF-8 metric and label names (`{"my.metric","a.b"="v"}`,
   * `# TYPE "my.metric" gauge`), as the Pushgateway's
   * `--push.enable-utf8-names` does for text (docs/compatibility.md, UTF-8
   * names).
   */
  readonly utf8Names?: boolean;
  /** Names and label values refused as soon as they are longer. */
  readonly limits?: TokenLimits;
}

const CHAR_LF = 10;
const CHAR_CR = 13;

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const MISSING_EOF =
  'unexpected end of input; an OpenMetrics body must end with the line "# EOF"';

/**
 * Parses an OpenMetrics 1.0 text exposition into metric families, in the
 * order of the body. Throws {@link ExpositionError} (with the line) for
 * anything the format forbids; does not check timestamps or duplicate series
 * across families.
 */
export function parseOpenMetrics(
  body: Uint8Array,
  options: OpenMetricsParseOptions = {},
): MetricFamily[] {
  const text = decodeUtf8(body);
  const ctx: Context = {
    utf8Names: options.utf8Names ?? false,
    limits: options.limits ?? NO_TOKEN_LIMITS,
    families: [],
    taken: new Map(),
    family: undefined,
  };
  let pos = 0;
  let line = 0;
  while (pos < text.length) {
    line++;
    const newline = text.indexOf("\n", pos);
    const end = newline === -1 ? text.length : newline;
    if (end - pos === 5 && text.startsWith("# EOF", pos)) {
      if (end + 1 < text.length) {
        throw new ExpositionError(line + 1, 'unexpected content after "# EOF"');
      }
      finishFamily(ctx);
      return ctx.families;
    }
    if (newline === -1) throw new ExpositionError(line, MISSING_EOF);
    if (end === pos) {
      throw new ExpositionError(line, "blank lines are not allowed");
    }
    if (text.charCodeAt(end - 1) === CHAR_CR) {
      throw new ExpositionError(
        line,
        'lines must end with "\\n", not "\\r\\n"',
      );
    }
    const reader: LineReader = { text, pos, end, line };
    if (text.charCodeAt(pos) === CHAR_HASH) {
      readMetadata(ctx, reader);
    } else {
      addSample(ctx, readSample(reader, ctx), line);
    }
    pos = end + 1;
  }
  throw new ExpositionError(line + 1, MISSING_EOF);
}

/** The whole body as a string; OpenMetrics is UTF-8 without a BOM. */
function decodeUtf8(body: Uint8Array): string {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    const offset = invalidUtf8Offset(body);
    let line = 1;
    for (let i = 0; i < offset; i++) if (body[i] === CHAR_LF) line++;
    const byte = (body[offset] ?? 0).toString(16).padStart(2, "0");
    throw new ExpositionError(
      line,
      `invalid UTF-8 (byte 0x${byte} at offset ${offset}); OpenMetrics text must be UTF-8`,
    );
  }
  if (text.charCodeAt(0) === 0xfeff) {
    throw new ExpositionError(1, "a byte order mark is not allowed");
  }
  return text;
}

/** Offset of the first byte that is not part of valid UTF-8 (RFC 3629). */
function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const first = bytes[i] ?? 0;
    if (first < 0x80) {
      i++;
      continue;
    }
    let more: number;
    let codePoint: number;
    if (first >= 0xc2 && first <= 0xdf) {
      more = 1;
      codePoint = first & 0x1f;
    } else if ((first & 0xf0) === 0xe0) {
      more = 2;
      codePoint = first & 0x0f;
    } else if (first >= 0xf0 && first <= 0xf4) {
      more = 3;
      codePoint = first & 0x07;
    } else {
      return i;
    }
    for (let k = 1; k <= more; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    const overlong = (more === 2 && codePoint < 0x800) ||
      (more === 3 && codePoint < 0x10000);
    const surrogate = codePoint >= 0xd800 && codePoint <= 0xdfff;
    if (overlong || surrogate || codePoint > 0x10ffff) return i;
    i += more + 1;
  }
  return bytes.length;
}
