/**
 * node:util's `parseArgs`, for what the server's flags use of it: options
 * of type string, strict, no positional arguments. Its errors say what
 * node:util's say, word for word, so that parse_error.ts words them alike.
 * Not node:util itself: importing it would load Deno's Node layer at start,
 * about 6 MiB and 15 ms of CPU (docs/performance.md, "Fixed costs"). Pure.
 * @module
 */

export interface StringOption {
  readonly type: "string";
  readonly multiple?: boolean;
}

export interface ParseArgsConfig {
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, StringOption>>;
  readonly strict: true;
  readonly allowPositionals: false;
}

/** An error of parseArgs, with node:util's code and message. */
export class ParseArgsError extends Error {
  override name = "TypeError";
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * The values of `--name=value` and `--name value`, by name (every value
 * of a `multiple` option, the last of another). Throws ParseArgsError for
 * an unknown option, a missing or dash-led value, or a positional argument.
 */
export function parseArgs(
  config: ParseArgsConfig,
): { values: Record<string, string | string[] | undefined> } {
  const { args, options } = config;
  const values: Record<string, string | string[] | undefined> = {};
  const store = (name: string, value: string) => {
    const option = options[name] as StringOption;
    if (option.multiple) {
      const list = values[name];
      if (Array.isArray(list)) list.push(value);
      else values[name] = [value];
    } else {
      values[name] = value;
    }
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      const next = args[i + 1];
      if (next !== undefined) throw unexpected(next);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") throw unexpected(arg);
    if (!arg.startsWith("--")) {
      throw unknown(`-${arg.charAt(1)}`);
    }
    const equals = arg.indexOf("=");
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    if (!Object.hasOwn(options, name)) {
      throw unknown(name === "" ? arg : `--${name}`);
    }
    if (equals !== -1) {
      store(name, arg.slice(equals + 1));
      continue;
    }
    const value = args[i + 1];
    if (value === undefined) {
      throw new ParseArgsError(
        "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        `Option '--${name} <value>' argument missing`,
      );
    }
    if (value.length > 1 && value.startsWith("-")) {
      throw new ParseArgsError(
        "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        `Option '--${name}' argument is ambiguous.\nDid you forget to specify the option argument for '--${name}'?\nTo specify an option argument starting with a dash use '--${name}=-XYZ'.`,
      );
    }
    store(name, value);
    i++;
  }
  return { values };
}

function unknown(option: string): ParseArgsError {
  return new ParseArgsError(
    "ERR_PARSE_ARGS_UNKNOWN_OPTION",
    `Unknown option '${option}'`,
  );
}

function unexpected(arg: string): ParseArgsError {
  return new ParseArgsError(
    "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
    `Unexpected argument '${arg}'. This command does not take positional arguments`,
  );
}
