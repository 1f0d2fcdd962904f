/**
 * The push history: the `pushes` rows with their group, newest first
 * (docs/database.md, History and retention).
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

export interface HistoryQuery {
  /** Canonical grouping key, e.g. `{instance="db1",job="backup"}`. */
  readonly groupKey?: string;
  /** Unix seconds, inclusive. */
  readonly since?: number;
  readonly until?: number;
  readonly outcome?: "accepted" | "refused";
  /** At most this many rows (default 100, at most 10,000). */
  readonly limit?: number;
}

/** One `pushes` row with its group. */
export interface HistoryEntry {
  readonly id: number;
  readonly time: number;
  readonly method: string;
  readonly groupKey: string | null;
  readonly groupLabels: Record<string, string> | null;
  readonly path: string;
  readonly status: number;
  readonly error: string | null;
  readonly contentType: string | null;
  readonly bodyBytes: number;
  readonly series: number;
  readonly remoteAddr: string | null;
  readonly userAgent: string | null;
}

interface HistoryDbRow {
  id: number;
  time: number;
  method: string;
  group_key: string | null;
  group_labels: string | null;
  path: string;
  status: number;
  error: string | null;
  content_type: string | null;
  body_bytes: number;
  series: number;
  remote_addr: string | null;
  user_agent: string | null;
}

/** The `pushes` rows that match `query`, newest first, with their group. */
export function queryHistory(
  db: DatabaseSync,
  query: HistoryQuery,
): HistoryEntry[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (query.groupKey !== undefined) {
    where.push("g.key = ?");
    args.push(query.groupKey);
  }
  if (query.since !== undefined) {
    where.push("p.time >= ?");
    args.push(query.since);
  }
  if (query.until !== undefined) {
    where.push("p.time <= ?");
    args.push(query.until);
  }
  if (query.outcome === "accepted") where.push("p.status < 300");
  if (query.outcome === "refused") where.push("p.status >= 300");
  const sql =
    `SELECT p.id, p.time, p.method, g.key AS group_key, g.labels AS group_labels,
      r.path, p.status, p.error, r.content_type, p.body_bytes, p.series, r.remote_addr,
      r.user_agent
    FROM pushes p LEFT JOIN groups g ON g.id = p.group_id
    LEFT JOIN requests r ON r.id = p.request_id
    ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY p.time DESC, p.id DESC LIMIT ?`;
  args.push(Math.max(1, Math.min(query.limit ?? 100, 10_000)));
  const rows = db.prepare(sql).all(
    ...args,
  ) as unknown as HistoryDbRow[];
  return rows.map((r) => ({
    id: r.id,
    time: r.time,
    method: r.method,
    groupKey: r.group_key,
    groupLabels: r.group_labels === null
      ? null
      : JSON.parse(r.group_labels) as Record<string, string>,
    path: r.path,
    status: r.status,
    error: r.error,
    contentType: r.content_type,
    bodyBytes: r.body_bytes,
    series: r.series,
    remoteAddr: r.remote_addr,
    userAgent: r.user_agent,
  }));
}
