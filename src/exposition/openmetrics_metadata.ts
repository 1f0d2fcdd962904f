/**
 * OpenMetrics metadata lines (HELP, TYPE, UNIT): which family each one
 * describes, and the checks of their order, types and units.
 * @module
 */

import { unreachable } from "./model.ts";
import {
  fail,
  failExpected,
  isMetricNameStart,
  type LineReader,
  peek,
  readHelp,
  readMetricName,
  readQuoted,
} from "./openmetrics_lex.ts";
import { finishFamily } from "./openmetrics_points.ts";
import {
  CHAR_QUOTE,
  CHAR_SPACE,
  checkMetricName,
  claimName,
  type Context,
  failLine,
  type FamilyState,
  type MetadataKind,
  type OmType,
  quote,
  ROLES,
  startFamily,
  TYPE_LIST,
} from "./openmetrics_state.ts";

/** `# TYPE|HELP|UNIT name …`; any other "#" line is an error. */
export function readMetadata(ctx: Context, reader: LineReader): void {
  const { text } = reader;
  const kind = text.startsWith("# HELP ", reader.pos)
    ? "HELP"
    : text.startsWith("# TYPE ", reader.pos)
    ? "TYPE"
    : text.startsWith("# UNIT ", reader.pos)
    ? "UNIT"
    : undefined;
  if (kind === undefined) {
    const start = quote(
      text.slice(reader.pos, Math.min(reader.end, reader.pos + 16)),
    );
    const allowed = '"# HELP", "# TYPE", "# UNIT" and "# EOF"';
    fail(
      reader,
      `unexpected line starting with ${start}; the only "#" lines allowed are ${allowed}`,
    );
  }
  reader.pos += 7;
  let name: string;
  if (peek(reader) === CHAR_QUOTE && ctx.utf8Names) {
    name = readQuoted(reader, "the quoted metric name");
    if (name === "") fail(reader, "the metric name is empty");
  } else if (isMetricNameStart(peek(reader))) {
    name = readMetricName(reader);
  } else {
    failExpected(reader, `a metric name after "# ${kind}"`);
  }
  checkMetricName(name, ctx.limits);
  if (peek(reader) !== CHAR_SPACE) {
    const what =
      { HELP: "the help text", TYPE: "a type", UNIT: "a unit" }[kind];
    failExpected(reader, `a space and ${what} after ${quote(name)}`);
  }
  reader.pos++;
  const family = familyForMetadata(ctx, name, kind, reader.line);
  switch (kind) {
    case "TYPE": {
      const type = text.slice(reader.pos, reader.end);
      if (!Object.hasOwn(ROLES, type)) {
        fail(
          reader,
          type === "untyped"
            ? 'unknown metric type "untyped"; OpenMetrics calls it "unknown"'
            : `unknown metric type ${
              quote(type)
            }; expected one of ${TYPE_LIST}`,
        );
      }
      family.type = type as OmType; // checked against ROLES' keys just above
      for (const [suffix] of ROLES[family.type]) {
        if (suffix !== "") claimName(ctx, family, name + suffix, reader.line);
      }
      checkUnitAllowed(family, reader.line);
      return;
    }
    case "HELP": {
      const help = readHelp(reader);
      family.help = help === "" ? undefined : help;
      return;
    }
    case "UNIT": {
      const unit = readMetricName(reader);
      if (reader.pos < reader.end) {
        failExpected(reader, "a unit of [a-zA-Z0-9_:]");
      }
      if (unit !== "" && !name.endsWith(`_${unit}`)) {
        const [u, n, suffix] = [quote(unit), quote(name), quote(`_${unit}`)];
        fail(
          reader,
          `unit ${u} is not a suffix of the metric name ${n}; the name must end in ${suffix}`,
        );
      }
      family.unit = unit === "" ? undefined : unit;
      checkUnitAllowed(family, reader.line);
      return;
    }
    default:
      return unreachable(kind);
  }
}

/** The family a metadata line describes; a new one unless it is the current. */
function familyForMetadata(
  ctx: Context,
  name: string,
  kind: MetadataKind,
  line: number,
): FamilyState {
  let family = ctx.family;
  if (family === undefined || family.name !== name) {
    finishFamily(ctx);
    family = startFamily(ctx, name, line, "metadata");
  } else if (family.hasSamples) {
    const family = quote(name);
    failLine(
      line,
      `${kind} line for metric family ${family} after its samples; metadata must come first`,
    );
  }
  if (family.seen.has(kind)) {
    failLine(line, `second ${kind} line for metric family ${quote(name)}`);
  }
  family.seen.add(kind);
  return family;
}

function checkUnitAllowed(family: FamilyState, line: number): void {
  const { type } = family;
  if (family.unit !== undefined && (type === "info" || type === "stateset")) {
    failLine(
      line,
      `${type} metric family ${quote(family.name)} must not have a unit`,
    );
  }
}
