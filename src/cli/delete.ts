/**
 * `pushvault delete --url <pushvault> --match '{job="x"}' [--older-than 7d]
 * [--dry-run]`: calls the bulk-delete admin endpoint of a running Pushvault
 * and prints the grouping keys it deleted (or would delete). The flags are
 * checked here, before the server is called, and every message speaks of
 * them, not of the endpoint's query parameters.
 * @module
 */

import { parseArgs } from "node:util";
import { FlagError } from "./flags.ts";
import { parseDuration } from "../duration.ts";
import { errorMessage } from "../error_message.ts";
import { MatcherError, parseSelector } from "../push/matchers.ts";
import { parseErrorMessage } from "./parse_error.ts";

const DELETE_EXAMPLES: Readonly<Record<string, string>> = {
  url: "http://127.0.0.1:9091",
  match: "'{job=\"batch\"}'",
  "older-than": "7d",
  "pushed-before": "2026-11-25T10:00:00Z",
};

/** `pushvault delete --help`. */
export const DELETE_HELP =
  `usage: pushvault delete [--url=<url>] --match=<selector>|--older-than=<duration>|--pushed-before=<time> [--dry-run]

Deletes groups of a running Pushvault, in one transaction, through its
bulk-delete endpoint (start it with --web.enable-admin-api), and prints
their grouping keys. At least one of --match, --older-than, --pushed-before
is required; a group must satisfy all the conditions given.

Flags:
  -h, --help                 Show this help.
      --url=URL              The Pushvault (default: "http://127.0.0.1:9091").
      --match=SELECTOR       Groups whose grouping labels match, e.g. --match='{job="batch",instance=~"ci-.*"}'.
                             Repeatable: any of them.
      --older-than=DURATION  Groups not pushed for this long, e.g. --older-than=7d.
      --pushed-before=TIME   Groups not pushed since, RFC 3339 (2026-11-25T10:00:00Z) or Unix seconds.
      --dry-run              List the groups it would delete; delete nothing.
`;

/** The endpoint's parameters → the flags, in what the server answers. */
const FLAG_FOR_PARAMETER = [
  [/match\[\]/g, "--match"],
  [/older_than/g, "--older-than"],
  [/pushed_before/g, "--pushed-before"],
  [/dry_run/g, "--dry-run"],
] as const;

export interface DeleteOptions {
  readonly url: string;
  readonly match: readonly string[];
  readonly olderThan: string | undefined;
  readonly pushedBefore: string | undefined;
  readonly dryRun: boolean;
}

export function parseDeleteFlags(args: readonly string[]): DeleteOptions {
  let values;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        url: { type: "string", default: "http://127.0.0.1:9091" },
        match: { type: "string", multiple: true, default: [] },
        "older-than": { type: "string" },
        "pushed-before": { type: "string" },
        "dry-run": { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new FlagError(
      `delete: ${
        parseErrorMessage(error, {
          command: "pushvault delete",
          example: (flag) => DELETE_EXAMPLES[flag],
        })
      }`,
    );
  }
  checkDeleteFlags(values);
  return {
    url: values.url,
    match: values.match,
    olderThan: values["older-than"],
    pushedBefore: values["pushed-before"],
    dryRun: values["dry-run"],
  };
}

/** What the server would refuse, refused before it is called. */
function checkDeleteFlags(values: {
  readonly url: string;
  readonly match: readonly string[];
  readonly "older-than"?: string | undefined;
  readonly "pushed-before"?: string | undefined;
}): void {
  const olderThan = values["older-than"];
  const pushedBefore = values["pushed-before"];
  if (
    values.match.length === 0 && olderThan === undefined &&
    pushedBefore === undefined
  ) {
    throw new FlagError(
      `delete: give at least one --match, --older-than or --pushed-before, e.g. --match='{job="batch"}' or --older-than=7d. ` +
        `To delete every group, wipe the store: curl -X PUT ${
          values.url.replace(/\/+$/, "")
        }/api/v1/admin/wipe`,
    );
  }
  for (const match of values.match) {
    try {
      parseSelector(match);
    } catch (error) {
      if (!(error instanceof MatcherError)) throw error;
      throw new FlagError(
        `delete: invalid value ${
          JSON.stringify(match)
        } for flag --match: ${error.message}`,
      );
    }
  }
  if (olderThan !== undefined && parseDuration(olderThan) === undefined) {
    throw new FlagError(
      `delete: invalid value ${
        JSON.stringify(olderThan)
      } for flag --older-than: expected a duration like 30m, 12h or 7d`,
    );
  }
  if (
    pushedBefore !== undefined &&
    !/^\d+(\.\d+)?$/.test(pushedBefore) &&
    !(/^\d{4}-\d{2}-\d{2}T/.test(pushedBefore) &&
      !Number.isNaN(Date.parse(pushedBefore)))
  ) {
    throw new FlagError(
      `delete: invalid value ${
        JSON.stringify(pushedBefore)
      } for flag --pushed-before: expected RFC 3339 (2026-11-25T10:00:00Z) or Unix seconds`,
    );
  }
}

/** The server's words for its query parameters, put as the flags. */
function inFlagTerms(text: string): string {
  let out = text;
  for (const [parameter, flag] of FLAG_FOR_PARAMETER) {
    out = out.replace(parameter, flag);
  }
  return out;
}

/** Returns the exit code: 0 done, 1 refused or unreachable. */
export async function runDelete(
  options: DeleteOptions,
  print: (line: string) => void,
): Promise<number> {
  const params = new URLSearchParams();
  for (const m of options.match) params.append("match[]", m);
  if (options.olderThan !== undefined) {
    params.set("older_than", options.olderThan);
  }
  if (options.pushedBefore !== undefined) {
    params.set("pushed_before", options.pushedBefore);
  }
  if (options.dryRun) params.set("dry_run", "true");
  const url = `${
    options.url.replace(/\/+$/, "")
  }/api/v1/admin/delete?${params}`;
  let response: Response;
  try {
    response = await fetch(url, { method: "POST" });
  } catch (error) {
    print(
      `cannot reach ${options.url}: ${errorMessage(error)}`,
    );
    return 1;
  }
  const text = await response.text();
  if (response.status === 404) {
    print(
      `${options.url} has no bulk-delete endpoint: start Pushvault with --web.enable-admin-api`,
    );
    return 1;
  }
  let body: {
    status?: string;
    error?: string;
    data?: { deleted?: { key: string }[] };
  };
  try {
    body = JSON.parse(text);
  } catch {
    print(`unexpected answer ${response.status}: ${text.trim()}`);
    return 1;
  }
  if (response.status !== 200 || body.status !== "success") {
    print(`refused: ${inFlagTerms(body.error ?? text.trim())}`);
    return 1;
  }
  const deleted = body.data?.deleted ?? [];
  for (const d of deleted) {
    print(`${options.dryRun ? "would delete" : "deleted"} ${d.key}`);
  }
  print(
    `${deleted.length} group(s) ${
      options.dryRun ? "would be deleted" : "deleted"
    }`,
  );
  return 0;
}
