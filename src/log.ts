/**
 * The logger: logfmt or JSON lines in the Pushgateway's shape
 * (`ts=… caller=… level=info msg="…" key=value`), written to stderr. The
 * only module that writes to the console.
 * @module
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "logfmt" | "json";
export const LOG_LEVELS = [
  "debug",
  "info",
  "warn",
  "error",
] as const satisfies readonly LogLevel[];
export const LOG_FORMATS = [
  "logfmt",
  "json",
] as const satisfies readonly LogFormat[];

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Where lines go; stderr by default. */
  readonly write?: (line: string) => void;
  readonly now?: () => number;
}

const encoder = new TextEncoder();

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ??
    ((line: string) => Deno.stderr.writeSync(encoder.encode(line)));
  const now = options.now ?? Date.now;
  const log = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (RANK[level] < RANK[options.level]) return;
    const record: LogFields = {
      ts: new Date(now()).toISOString(),
      caller: "pushvault",
      level,
      msg,
      ...fields,
    };
    write(
      options.format === "json"
        ? `${JSON.stringify(record)}\n`
        : `${logfmt(record)}\n`,
    );
  };
  return {
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
  };
}

function logfmt(record: LogFields): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    const text = String(value);
    parts.push(
      /^[^\s"=\\]+$/.test(text)
        ? `${key}=${text}`
        : `${key}=${JSON.stringify(text)}`,
    );
  }
  return parts.join(" ");
}

/** A logger that drops everything (tests that do not look at logs). */
export const SILENT: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
