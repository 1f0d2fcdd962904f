/**
 * Entry point: parse flags, start(), stop cleanly on SIGTERM/SIGINT. Exit
 * codes: 0 after a clean stop, 1 when start-up fails (the message names the
 * flag or file), 2 for a bad command line.
 * @module
 */

import { FlagError, helpText, parseFlags } from "./cli/flags.ts";
import type { Config } from "./cli/flags.ts";
import { wantsHelp } from "./cli/parse_error.ts";
import { createLogger } from "./log.ts";
import { start } from "./start.ts";
import { BUILD_DATE, REVISION, VERSION } from "./version.ts";
import { isPushWorker } from "./push/push_worker.ts";
import { isPasswordWorker } from "./http/password_worker.ts";
import { errorMessage } from "./error_message.ts";
import { isAbsolutePath, resolvePath } from "./posix_path.ts";

const encoder = new TextEncoder();
const print = (text: string) => Deno.stdout.writeSync(encoder.encode(text));
const printError = (text: string) =>
  Deno.stderr.writeSync(encoder.encode(text));

export async function main(args: readonly string[]): Promise<number> {
  if (args[0] === "import" || args[0] === "delete") {
    return await subcommand(args[0], args.slice(1));
  }
  let command;
  try {
    command = parseFlags(args);
  } catch (error) {
    if (error instanceof FlagError) {
      printError(`pushvault: error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (command.type === "help") {
    print(helpText());
    return 0;
  }
  if (command.type === "version") {
    print(
      `pushvault, version ${VERSION} (revision: ${REVISION})\n  build date: ${BUILD_DATE}\n  deno version: ${Deno.version.deno}\n`,
    );
    return 0;
  }
  const { flagValues } = command;
  const config = withAbsoluteDatabasePath(command.config);
  const logger = createLogger(config.log);
  // Listened for from the first log line on: a SIGTERM while the database
  // opens or the listener binds (a service stopped right after it started)
  // stops the gateway cleanly once it is up, instead of killing the process.
  let gateway: Awaited<ReturnType<typeof start>> | undefined;
  let stopRequested = false;
  const stop = () => {
    if (gateway !== undefined) {
      void gateway.shutdown();
    } else if (!stopRequested) {
      stopRequested = true;
      logger.info("stopping once started");
    }
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  try {
    logger.info("starting pushvault", { version: VERSION, revision: REVISION });
    if (flagValues["persistence.interval"] !== "5m0s") {
      logger.info(
        "--persistence.interval has no effect: every push is committed to the database before it is answered",
      );
    }
    try {
      gateway = await start(config, { logger, flagValues });
    } catch (error) {
      logger.error("cannot start", {
        err: errorMessage(error),
      });
      return 1;
    }
    if (stopRequested) void gateway.shutdown();
    await gateway.finished;
    return 0;
  } finally {
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
  }
}

/**
 * A relative --persistence.file is taken from the directory the command
 * ran in, and the log names the absolute path that was opened.
 */
function withAbsoluteDatabasePath(config: Config): Config {
  const file = config.persistence.file;
  if (file === "" || file === ":memory:" || isAbsolutePath(file)) return config;
  return {
    ...config,
    persistence: { ...config.persistence, file: resolvePath(file) },
  };
}

async function subcommand(
  name: "import" | "delete",
  args: readonly string[],
): Promise<number> {
  const line = (text: string) => print(`${text}\n`);
  // Loaded here, not at start: the server needs neither, and both parse
  // their flags with node:util, which loads Deno's Node layer
  // (docs/performance.md, "Fixed costs").
  const command = name === "delete"
    ? await import("./cli/delete.ts")
    : await import("./cli/import.ts");
  if (wantsHelp(args)) {
    print("DELETE_HELP" in command ? command.DELETE_HELP : command.IMPORT_HELP);
    return 0;
  }
  try {
    if ("runDelete" in command) {
      return await command.runDelete(command.parseDeleteFlags(args), line);
    }
    await command.runImport({
      ...command.parseImportFlags(args),
      print: line,
      now: Date.now,
    });
    return 0;
  } catch (error) {
    if (error instanceof FlagError) {
      printError(`pushvault: error: ${error.message}\n`);
      return 2;
    }
    printError(
      `pushvault ${name}: ${errorMessage(error)}\n`,
    );
    return 1;
  }
}

// The workers run this program too (push/push_worker.ts,
// http/password_worker.ts), not as main.
if (import.meta.main && !isPushWorker() && !isPasswordWorker()) {
  Deno.exit(await main(Deno.args));
}
