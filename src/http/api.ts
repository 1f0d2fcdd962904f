/**
 * The JSON API under `/api/v1/` (docs/compatibility.md, JSON API): `status`
 * and `metrics` in the Pushgateway's exact shapes, serialised like Go's
 * encoding/json (go_json.ts); the metrics body is made in api_metrics.ts.
 * @module
 */

import type { LitestreamSync } from "../store/litestream.ts";
import type { Store } from "../store/store.ts";
import {
  BRANCH,
  BUILD_DATE,
  BUILD_USER,
  REVISION,
  VERSION,
} from "../version.ts";
import { type GroupScope, inScope } from "../push/group_scope.ts";
import { goJson, type Json, rfc3339Nano, struct } from "./go_json.ts";
import { metricsStream } from "./api_metrics.ts";

export const API_HEADERS = {
  "Access-Control-Allow-Headers": "Accept, Authorization, Content-Type, Origin",
  "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Expose-Headers": "Date",
  "Cache-Control": "no-cache, no-store, must-revalidate",
} as const;

export function jsonResponse(body: Json): Response {
  return new Response(goJson(body), {
    headers: { ...API_HEADERS, "Content-Type": "application/json" },
  });
}

/**
 * `GET /api/v1/metrics` of the store's current groups, streamed; with a
 * scope limited by selectors, of the groups in it.
 */
export function metricsResponse(store: Store, scope?: GroupScope): Response {
  const view = store.view;
  const groups = [...view.groups()].filter((g) => inScope(g.key.labels, scope));
  const body = metricsStream(groups, {
    families: (group) =>
      view.group(group.id) === group ? [...group.families.values()] : undefined,
    readRows: store.familyRowsAfter.bind(store),
    readSmall: store.familiesRows.bind(store),
  });
  return new Response(body, {
    headers: { ...API_HEADERS, "Content-Type": "application/json" },
  });
}

export interface StatusInfo {
  readonly flags: Readonly<Record<string, string>>;
  /** Unix seconds. */
  readonly startTime: number;
  /**
   * Set only while Litestream replicates the database, so that the
   * Pushgateway's shape is unchanged otherwise (docs/operations.md, "Beyond one machine").
   */
  readonly replication?: LitestreamSync;
}

export function statusBody(info: StatusInfo): Json {
  return struct({
    status: "success",
    data: struct({
      build_information: {
        branch: BRANCH,
        buildDate: BUILD_DATE,
        buildUser: BUILD_USER,
        goVersion: `deno${Deno.version.deno}`,
        revision: REVISION,
        version: VERSION,
      },
      flags: { ...info.flags },
      start_time: rfc3339Nano(info.startTime),
      replication: info.replication && struct({
        replicated_by: "litestream",
        generation: info.replication.generation ?? undefined,
        last_sync_time: info.replication.lastSyncMs === null
          ? undefined
          : rfc3339Nano(info.replication.lastSyncMs / 1000),
      }),
    }),
  });
}
