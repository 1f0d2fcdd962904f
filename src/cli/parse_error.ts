/**
 * node:util `parseArgs` errors in our words: its messages
 * (`Option '--x <value>' argument missing`, `Unknown option '--x'. To specify
 * a positional argument …`) speak of its own API, not of the command line
 * the person typed. Pure; returns the message for the caller's FlagError.
 * @module
 */

import { errorMessage } from "../error_message.ts";

export interface ParseErrorContext {
  /** `pushvault`, `pushvault import`, `pushvault delete`: for "try … --help". */
  readonly command: string;
  /** A value that fits `flag` (without its dashes), for "e.g. --flag=…". */
  readonly example: (flag: string) => string | undefined;
}

/** Whether the arguments ask for help (kingpin answers it anywhere). */
export function wantsHelp(args: readonly string[]): boolean {
  return args.some((arg) =>
    arg === "-h" || arg === "--help" || arg === "--help-long"
  );
}

/** What `error` (thrown by parseArgs) means, naming the flag. */
export function parseErrorMessage(
  error: unknown,
  context: ParseErrorContext,
): string {
  const text = errorMessage(error);
  const help = `try ${context.command} --help`;
  const needsValue = (flag: string) => {
    const example = context.example(flag);
    return `flag --${flag} needs a value${
      example === undefined ? "" : `, e.g. --${flag}=${example}`
    }`;
  };
  // `--flag` last, or followed by another flag.
  const missing = /^Option '--([^ ']+) <value>' argument missing/.exec(text) ??
    /^Option '--([^ ']+)' argument is ambiguous/.exec(text);
  if (missing) return needsValue(missing[1] as string);
  const unknown = /^Unknown option '([^']+)'/.exec(text);
  if (unknown) return `unknown flag ${unknown[1]}, ${help}`;
  const positional = /^Unexpected argument '([^']*)'/.exec(text);
  if (positional) {
    return `unexpected argument ${JSON.stringify(positional[1])}, ${help}`;
  }
  const noValue = /^Option '--([^ ']+)' does not take an argument/.exec(text);
  if (noValue) {
    return `flag --${noValue[1]} takes no value, ${help}`;
  }
  return `${text}, ${help}`;
}
