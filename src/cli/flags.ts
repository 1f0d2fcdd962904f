/**
 * The flag table (the Pushgateway's names and defaults, docs/compatibility.md,
 * Flags, plus ours under `--storage.*`) → Config, and the --help text. Pure:
 * parsing returns a Config or throws FlagError; it never exits or prints.
 * @module
 */

import { parseArgs } from "./parse_args.ts";
import { LOG_FORMATS, LOG_LEVELS } from "../log.ts";
import type { LogFormat, LogLevel } from "../log.ts";
import { parseErrorMessage } from "./parse_error.ts";
import { formatGoDuration, parseDuration } from "../duration.ts";

export interface Config {
  readonly web: {
    readonly listenAddresses: readonly string[];
    readonly telemetryPath: string;
    readonly externalUrl: string;
    readonly routePrefix: string;
    readonly enableLifecycle: boolean;
    readonly enableAdminApi: boolean;
    readonly configFile: string;
    readonly systemdSocket: boolean;
    /** Milliseconds to receive a push body; 0 = no limit. */
    readonly readTimeoutMs: number;
    /**
     * Bytes of a request's URL and headers (node's maxHeaderSize);
     * undefined: each listener's default (docs/security.md, "Limits").
     */
    readonly maxHeaderBytes: number | undefined;
  };
  readonly persistence: {
    /** SQLite database path; "" keeps everything in memory. */
    readonly file: string;
    /** Accepted for compatibility; every push is committed at once. */
    readonly interval: string;
  };
  readonly push: {
    readonly checkConsistency: boolean;
    readonly utf8Names: boolean;
    readonly maxSeriesPerPush: number;
    /** UTF-8 bytes. */
    readonly maxLabelNameLength: number;
    /** UTF-8 bytes. */
    readonly maxLabelValueLength: number;
  };
  readonly storage: {
    readonly sync: "normal" | "full";
    readonly maxBodyBytes: number;
    /** Series in the store, metadata included; 0 = no limit. */
    readonly maxSeries: number;
    /** Run PRAGMA quick_check at start and refuse a damaged database. */
    readonly integrityCheck: boolean;
  };
  readonly history: {
    /** Seconds of history kept; 0 keeps only the current state. */
    readonly retentionSeconds: number;
    /** Bytes of database pages the history may fill; 0 = no size bound. */
    readonly maxSizeBytes: number;
  };
  readonly group: {
    /** Seconds without a successful push before a group expires; 0 = never. */
    readonly ttlSeconds: number;
  };
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
}

/** A bad command line: the message names the flag; main exits 2. */
export class FlagError extends Error {
  override name = "FlagError";
}

type FlagKind = "string" | "bool" | "duration" | "bytes" | "int";
interface FlagSpec {
  readonly kind: FlagKind;
  readonly default: string;
  readonly help: string;
  readonly choices?: readonly string[];
  readonly repeatable?: boolean;
}

/**
 * Every flag, in --help order. Names are the Pushgateway's
 * (docs/compatibility.md, Flags).
 */
export const FLAGS = {
  "web.listen-address": {
    kind: "string",
    default: ":9091",
    repeatable: true,
    help:
      "Address to listen on for the web interface, API, and telemetry. Repeatable.",
  },
  "web.systemd-socket": {
    kind: "bool",
    default: "false",
    help:
      "Use systemd socket activation listeners instead of port listeners (Linux only).",
  },
  "web.config.file": {
    kind: "string",
    default: "",
    help: "Path to a configuration file that can enable TLS or authentication.",
  },
  "web.telemetry-path": {
    kind: "string",
    default: "/metrics",
    help: "Path under which to expose metrics.",
  },
  "web.external-url": {
    kind: "string",
    default: "",
    help: "The URL under which the Pushgateway is externally reachable.",
  },
  "web.route-prefix": {
    kind: "string",
    default: "",
    help:
      "Prefix for the internal routes of web endpoints. Defaults to the path of --web.external-url.",
  },
  "web.read-timeout": {
    kind: "duration",
    default: "5m",
    help:
      "Longest time to receive a push body; a slower client gets 408. 0 = no limit.",
  },
  "web.max-header-bytes": {
    kind: "bytes",
    default: "",
    help:
      "Longest URL and headers of one request (414 past it). Default: 1MiB, as Go's.",
  },
  "web.enable-lifecycle": {
    kind: "bool",
    default: "false",
    help: "Enable shutdown via HTTP request.",
  },
  "web.enable-admin-api": {
    kind: "bool",
    default: "false",
    help: "Enable API endpoints for admin control actions.",
  },
  "persistence.file": {
    kind: "string",
    default: "pushvault.db",
    help:
      "SQLite database holding the metrics and their history. Empty keeps everything in memory only.",
  },
  "persistence.interval": {
    kind: "duration",
    default: "5m",
    help:
      "Accepted for compatibility; Pushvault commits every push before answering.",
  },
  "push.disable-consistency-check": {
    kind: "bool",
    default: "false",
    help: "Do not check consistency of pushed metrics. DANGEROUS.",
  },
  "push.enable-utf8-names": {
    kind: "bool",
    default: "false",
    help: "Allow UTF-8 characters in metric and label names.",
  },
  "push.max-series-per-push": {
    kind: "int",
    default: "1000000",
    help: "Most series one push may carry; more is refused with 413.",
  },
  "push.max-label-name-length": {
    kind: "int",
    default: "1024",
    help:
      "Longest label name, in UTF-8 bytes (grouping key included); longer is refused with 400.",
  },
  "push.max-label-value-length": {
    kind: "int",
    default: "65536",
    help:
      "Longest label value, in UTF-8 bytes (grouping key included); longer is refused with 400.",
  },
  "storage.sync": {
    kind: "string",
    default: "normal",
    choices: ["normal", "full"],
    help:
      "normal: an acknowledged push survives a killed process; full: it also survives power loss (slower).",
  },
  "storage.max-body-bytes": {
    kind: "bytes",
    default: "64MiB",
    help: "Largest push body accepted, after decompression.",
  },
  "storage.max-series": {
    kind: "int",
    default: "10000000",
    help:
      "Most series the store may hold (metadata series included); a push that would pass it is refused with 507. 0 = no limit.",
  },
  "storage.integrity-check": {
    kind: "bool",
    default: "true",
    help:
      "Check the database (PRAGMA quick_check) at start and refuse a damaged one; --no-storage.integrity-check skips it for very large files.",
  },
  "history.retention": {
    kind: "duration",
    default: "7d",
    help:
      "How long the history of pushes and replaced values is kept. 0 keeps only the current state.",
  },
  "history.max-size": {
    kind: "bytes",
    default: "1GiB",
    help:
      "Most space the database may use: past it the oldest history is pruned first (never the current state). 0 = only --history.retention bounds it.",
  },
  "group.ttl": {
    kind: "duration",
    default: "0",
    help:
      "Delete groups whose last successful push is older than this. 0 (the default, as in the Pushgateway) keeps groups forever. A push may set its own with the Pushvault-TTL header.",
  },
  "log.level": {
    kind: "string",
    default: "info",
    choices: LOG_LEVELS,
    help:
      "Only log messages with the given severity or above. One of: [debug, info, warn, error]",
  },
  "log.format": {
    kind: "string",
    default: "logfmt",
    choices: LOG_FORMATS,
    help: "Output format of log messages. One of: [logfmt, json]",
  },
} as const satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;

export type ParsedCommand =
  | { readonly type: "help" }
  | { readonly type: "version" }
  | {
    readonly type: "run";
    readonly config: Config;
    /**
     * Every flag's value as a string, for /api/v1/status
     * (docs/compatibility.md, JSON API).
     */
    readonly flagValues: Readonly<Record<string, string>>;
  };

/** Parses argv (without the program name). Throws FlagError naming the flag. */
export function parseFlags(argv: readonly string[]): ParsedCommand {
  const options: Record<
    string,
    { type: "string"; multiple?: boolean; short?: string }
  > = {};
  for (const [name, spec] of Object.entries(FLAGS) as [string, FlagSpec][]) {
    options[name] = { type: "string", multiple: true };
    void spec;
  }
  const normalized: string[] = [];
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "-h" || arg === "--help" || arg === "--help-long") {
      help = true;
      continue;
    }
    if (arg === "--version") {
      version = true;
      continue;
    }
    // Kingpin booleans: `--flag`, `--no-flag`, `--flag=true|false`.
    const match = /^--(no-)?([^=]+)(?:=(.*))?$/.exec(arg);
    const spec = match
      ? (FLAGS as Record<string, FlagSpec>)[match[2] as string]
      : undefined;
    if (match && spec?.kind === "bool") {
      const value = match[3];
      if (value !== undefined && value !== "true" && value !== "false") {
        throw new FlagError(
          `invalid value ${JSON.stringify(value)} for flag --${
            match[2]
          }: expected true or false`,
        );
      }
      const on = match[1] ? value === "false" : value !== "false";
      normalized.push(`--${match[2]}=${on}`);
      continue;
    }
    normalized.push(arg);
  }
  if (help) return { type: "help" };
  if (version) return { type: "version" };

  let values: Record<string, string[] | undefined>;
  try {
    values = parseArgs({
      args: normalized,
      options,
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string[] | undefined>;
  } catch (error) {
    throw new FlagError(
      parseErrorMessage(error, { command: "pushvault", example: flagExample }),
    );
  }

  const flagValues: Record<string, string> = {};
  const get = (name: FlagName): string => {
    const spec: FlagSpec = FLAGS[name];
    const given = values[name];
    const value = given === undefined ? spec.default : (given.at(-1) as string);
    if (spec.choices && !spec.choices.includes(value)) {
      throw new FlagError(
        `invalid value ${
          JSON.stringify(value)
        } for flag --${name}: expected one of ${spec.choices.join(", ")}`,
      );
    }
    return value;
  };
  const bool = (name: FlagName) => get(name) === "true";

  const listen = values["web.listen-address"] ??
    [FLAGS["web.listen-address"].default];
  for (const address of listen) parseListenAddress(address);
  const interval = get("persistence.interval");
  const intervalMs = parseDuration(interval);
  if (intervalMs === undefined) {
    throw new FlagError(
      `invalid value ${
        JSON.stringify(interval)
      } for flag --persistence.interval: expected a duration like 5m or 30s`,
    );
  }
  const bodyText = get("storage.max-body-bytes");
  const maxBodyBytes = parseBytes(bodyText);
  if (maxBodyBytes === undefined || maxBodyBytes <= 0) {
    throw new FlagError(
      `invalid value ${
        JSON.stringify(bodyText)
      } for flag --storage.max-body-bytes: expected a size like 64MiB or 1048576`,
    );
  }
  const maxSizeText = get("history.max-size");
  const maxSizeBytes = parseBytes(maxSizeText);
  if (maxSizeBytes === undefined) {
    throw new FlagError(
      `invalid value ${
        JSON.stringify(maxSizeText)
      } for flag --history.max-size: expected a size like 2GiB, 500MB or 0`,
    );
  }
  const headerText = get("web.max-header-bytes");
  const maxHeaderBytes = headerText === "" ? undefined : parseBytes(headerText);
  if (headerText !== "" && (maxHeaderBytes ?? 0) < 1024) {
    throw new FlagError(
      `invalid value ${
        JSON.stringify(headerText)
      } for flag --web.max-header-bytes: expected a size of at least 1KiB like 64KiB or 1MiB`,
    );
  }
  const telemetryPath = get("web.telemetry-path");
  if (!telemetryPath.startsWith("/")) {
    throw new FlagError(
      `invalid value ${
        JSON.stringify(telemetryPath)
      } for flag --web.telemetry-path: must start with "/"`,
    );
  }
  const externalUrl = get("web.external-url");
  let externalPath = "";
  if (externalUrl !== "") {
    try {
      externalPath = new URL(externalUrl).pathname;
    } catch {
      throw new FlagError(
        `invalid value ${
          JSON.stringify(externalUrl)
        } for flag --web.external-url: not an absolute URL`,
      );
    }
  }
  const prefixFlag = values["web.route-prefix"] === undefined
    ? externalPath
    : get("web.route-prefix");

  const int = (name: FlagName, min: number): number => {
    const text = get(name);
    const value = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
    if (!(value >= min)) {
      throw new FlagError(
        `invalid value ${
          JSON.stringify(text)
        } for flag --${name}: expected a whole number${
          min > 0 ? ` of at least ${min}` : ""
        }`,
      );
    }
    return value;
  };
  const readTimeoutText = get("web.read-timeout");
  const readTimeoutMs = parseDuration(readTimeoutText);
  if (readTimeoutMs === undefined) {
    throw new FlagError(
      `invalid value ${
        JSON.stringify(readTimeoutText)
      } for flag --web.read-timeout: expected a duration like 5m, 30s or 0`,
    );
  }
  const durationSeconds = (name: "history.retention" | "group.ttl"): number => {
    const text = get(name);
    const ms = parseDuration(text);
    if (ms === undefined) {
      throw new FlagError(
        `invalid value ${
          JSON.stringify(text)
        } for flag --${name}: expected a duration like 7d, 90m or 0`,
      );
    }
    return ms / 1000;
  };
  const config: Config = {
    web: {
      listenAddresses: listen,
      telemetryPath,
      externalUrl,
      routePrefix: normalizeRoutePrefix(prefixFlag),
      enableLifecycle: bool("web.enable-lifecycle"),
      enableAdminApi: bool("web.enable-admin-api"),
      configFile: get("web.config.file"),
      systemdSocket: bool("web.systemd-socket"),
      readTimeoutMs,
      maxHeaderBytes,
    },
    persistence: { file: get("persistence.file"), interval },
    push: {
      checkConsistency: !bool("push.disable-consistency-check"),
      utf8Names: bool("push.enable-utf8-names"),
      maxSeriesPerPush: int("push.max-series-per-push", 1),
      maxLabelNameLength: int("push.max-label-name-length", 1),
      maxLabelValueLength: int("push.max-label-value-length", 1),
    },
    storage: {
      sync: get("storage.sync") as "normal" | "full",
      maxBodyBytes,
      maxSeries: int("storage.max-series", 0),
      integrityCheck: bool("storage.integrity-check"),
    },
    history: {
      retentionSeconds: durationSeconds("history.retention"),
      maxSizeBytes,
    },
    group: { ttlSeconds: durationSeconds("group.ttl") },
    log: {
      level: get("log.level") as LogLevel,
      format: get("log.format") as LogFormat,
    },
  };
  for (const name of Object.keys(FLAGS) as FlagName[]) {
    flagValues[name] = name === "web.listen-address"
      ? listen.join(",")
      : get(name);
    if (FLAGS[name].kind === "duration") {
      flagValues[name] = formatGoDuration(
        parseDuration(flagValues[name] as string) ?? 0,
      );
    }
  }
  return { type: "run", config, flagValues };
}

/**
 * docs/compatibility.md, Flags: `/` → none; otherwise a leading `/` added, a
 * trailing `/` removed.
 */
export function normalizeRoutePrefix(prefix: string): string {
  if (prefix === "" || prefix === "/") return "";
  let p = prefix.startsWith("/") ? prefix : `/${prefix}`;
  while (p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

/** `:9091`, `127.0.0.1:9091`, `[::1]:9091`, `localhost:0`. */
export function parseListenAddress(address: string): ListenAddress {
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new FlagError(
      `invalid value ${
        JSON.stringify(address)
      } for flag --web.listen-address: expected host:port, e.g. :9091 or 127.0.0.1:9091`,
    );
  }
  return { hostname: match[1] ?? match[2] ?? "", port };
}

/** `1048576`, `512KiB`, `64MiB`, `1GiB`, `10MB` → bytes. */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d+)(B|KB|KiB|MB|MiB|GB|GiB)?$/.exec(text);
  if (!m) return undefined;
  const unit: Record<string, number> = {
    B: 1,
    KB: 1e3,
    KiB: 1024,
    MB: 1e6,
    MiB: 1024 ** 2,
    GB: 1e9,
    GiB: 1024 ** 3,
  };
  return Number(m[1]) * (unit[m[2] ?? "B"] as number);
}

/** The --help text. */
/** Values to show after "e.g." where a flag's default is empty. */
const EXAMPLES: Readonly<Record<string, string>> = {
  "web.config.file": "web.yml",
  "web.external-url": "https://pushvault.example.org/",
  "web.route-prefix": "/pushvault",
  "web.max-header-bytes": "1MiB",
};

/** A value that fits `flag`, for the message of a missing value. */
export function flagExample(flag: string): string | undefined {
  const spec = (FLAGS as Record<string, FlagSpec>)[flag];
  if (spec === undefined || spec.kind === "bool") return undefined;
  return EXAMPLES[flag] ?? (spec.default === "" ? undefined : spec.default);
}

export function helpText(): string {
  const lines = [
    "usage: pushvault [<flags>]",
    "       pushvault import --from=<url> [--persistence.file=<file>] [--dry-run]",
    "       pushvault delete [--url=<url>] --match=<selector>|--older-than=<duration>|--pushed-before=<time> [--dry-run]",
    "",
    "A Prometheus Pushgateway that commits every push to SQLite and keeps its history.",
    "",
    "Commands:",
    "  (none)  Run the gateway with the flags below.",
    "  import  Copy every group of a running Pushgateway into a database (pushvault import --help).",
    "  delete  Delete groups of a running Pushvault by selector or age (pushvault delete --help).",
    "",
    "Flags:",
    "  -h, --help                 Show context-sensitive help.",
  ];
  for (const [name, spec] of Object.entries(FLAGS) as [string, FlagSpec][]) {
    const flag = spec.kind === "bool"
      ? `--[no-]${name}`
      : `--${name}=${name.toUpperCase().replace(/[.-]/g, "_")}`;
    const def = spec.kind === "bool" || spec.default === ""
      ? ""
      : ` (default: ${JSON.stringify(spec.default)})`;
    lines.push(`      ${flag}`, `          ${spec.help}${def}`);
  }
  lines.push("      --version              Show application version.", "");
  return lines.join("\n");
}
