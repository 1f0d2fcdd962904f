/**
 * `pushvault import --from <url>`: copies every group of a running
 * Pushgateway (its `/api/v1/metrics`) into the database, keeping push times,
 * in one transaction. `--dry-run` prints what it would import. A database a
 * running Pushvault holds is refused (store/writer_lock.ts): the server
 * would not see the rows, and its own pushes could conflict with them.
 * @module
 */

import { parseArgs } from "node:util";
import { makeGroupingKey } from "../push/grouping_key.ts";
import { sanitizePush } from "../push/validate.ts";
import { Store } from "../store/store.ts";
import { WriterLock } from "../store/writer_lock.ts";
import type { ImportCommand } from "../store/store.ts";
import { describe, ImportError, parseMetricsApi } from "./import_json.ts";
import { FlagError } from "./flags.ts";
import { errorMessage } from "../error_message.ts";
import { parseErrorMessage } from "./parse_error.ts";

export interface ImportOptions {
  readonly from: string;
  readonly dbPath: string;
  readonly dryRun: boolean;
  readonly print: (line: string) => void;
  readonly now: () => number;
}

const IMPORT_EXAMPLES: Readonly<Record<string, string>> = {
  from: "http://pushgateway:9091",
  "persistence.file": "imported.db",
};

/** `pushvault import --help`. */
export const IMPORT_HELP =
  `usage: pushvault import --from=<url> [--persistence.file=<file>] [--dry-run]

Copies every group of a running Pushgateway (its /api/v1/metrics), with its
push times, into a Pushvault database, in one transaction. A group that
conflicts with what the database holds rolls it back and is named. The
database must not be in use by a running Pushvault: import into a new file,
then put it in place (docs/operations.md, "Moving from a Pushgateway").

Flags:
  -h, --help                 Show this help.
      --from=URL             The Pushgateway, e.g. --from=http://pushgateway:9091 (required).
      --persistence.file=FILE
                             The database to import into (default: "pushvault.db").
      --dry-run              List the groups it would import; write nothing.
`;

export function parseImportFlags(
  args: readonly string[],
): Omit<ImportOptions, "print" | "now"> {
  let values;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        from: { type: "string" },
        "persistence.file": { type: "string", default: "pushvault.db" },
        "dry-run": { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new FlagError(
      `import: ${
        parseErrorMessage(error, {
          command: "pushvault import",
          example: (flag) => IMPORT_EXAMPLES[flag],
        })
      }`,
    );
  }
  if (!values.from) {
    throw new FlagError(
      "import: --from is required, e.g. --from=http://pushgateway:9091",
    );
  }
  return {
    from: values.from,
    dbPath: values["persistence.file"],
    dryRun: values["dry-run"],
  };
}

/** Runs the import; returns the number of groups imported (or that would be). */
export async function runImport(options: ImportOptions): Promise<number> {
  // Refused before anything is fetched; the store takes the lock for real.
  if (!options.dryRun) WriterLock.check(options.dbPath);
  const base = options.from.replace(/\/+$/, "");
  const url = `${base}/api/v1/metrics`;
  let body: unknown;
  try {
    const response = await fetch(url, {
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new ImportError(`GET ${url} answered ${response.status}`);
    }
    body = await response.json();
  } catch (error) {
    if (error instanceof ImportError) throw error;
    throw new ImportError(
      `cannot read ${url}: ${errorMessage(error)}`,
    );
  }
  const groups = parseMetricsApi(body);
  const commands: ImportCommand[] = groups.map((g) => {
    const key = makeGroupingKey(g.labels);
    const families = g.families.map((f) => f.family);
    const sanitized = sanitizePush(families, key);
    return {
      key,
      pushTime: g.pushTime,
      failureTime: g.failureTime,
      families: sanitized.families,
      problems: sanitized.problems,
      seriesCount: sanitized.seriesCount,
    };
  });
  for (const g of groups) {
    const series = g.families.reduce((n, f) => n + f.family.metrics.length, 0);
    options.print(
      `${options.dryRun ? "would import" : "importing"} ${
        describe(g.labels)
      }: ${count(g.families.length, "family", "families")}, ${series} series`,
    );
    for (const w of g.warnings) options.print(`  warning: ${w}`);
  }
  if (options.dryRun) return groups.length;
  using store = new Store({ path: options.dbPath });
  store.importGroups(commands, {
    path: url,
    contentType: "application/json",
    bodyBytes: 0,
    remoteAddr: null,
    userAgent: "pushvault-import",
  });
  options.print(
    `imported ${
      count(groups.length, "group", "groups")
    } into ${options.dbPath}`,
  );
  return groups.length;
}

/** `1 family`, `2 families`. */
function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
