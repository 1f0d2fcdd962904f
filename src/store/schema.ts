/**
 * The database schema: the documented contract operators query with the
 * `sqlite3` shell (docs/database.md). Forward-only migrations keyed by
 * `PRAGMA user_version`, each run in its own transaction.
 *
 * Must stay readable by sqlite3 3.40: no STRICT-only types, no jsonb, no
 * features newer than 3.40. Changed only by adding a migration.
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { makeGroupingKey } from "../push/grouping_key.ts";
import { compactSamples } from "./schema_v6.ts";
import { narrowRows } from "./schema_v7.ts";
import { AGGREGATING_GROUPS } from "./schema_v8.ts";
import { compactSeries } from "./schema_v9.ts";

/** Written into `PRAGMA application_id` so we never mistake another file. */
export const APPLICATION_ID = 0x50564c54; // "PVLT"

/**
 * SQL, or a function for a change SQL cannot compute; either runs inside the
 * migration's transaction. `progress` hears a line to log now and then
 * during a long one.
 */
export type Migration =
  | string
  | ((db: DatabaseSync, progress: (message: string) => void) => void);

/** Migration n brings user_version from n to n + 1. */
export const MIGRATIONS: readonly Migration[] = [
  `
  -- One row per grouping key ever seen. Deleted groups keep their row (and
  -- history) with deleted_at set until retention removes them.
  CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,          -- canonical: {instance="db1",job="backup"}
    labels TEXT NOT NULL,              -- JSON object of the grouping labels
    job TEXT NOT NULL,
    created_at REAL NOT NULL,          -- Unix seconds when the group (re)appeared
    push_time REAL NOT NULL DEFAULT 0, -- push_time_seconds: last successful change
    push_failure_time REAL NOT NULL DEFAULT 0, -- push_failure_time_seconds
    deleted_at REAL                    -- NULL while the group exists
  );
  CREATE INDEX groups_job ON groups(job);

  -- One row per request that tried to change the store, accepted or not.
  CREATE TABLE pushes (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,                -- Unix seconds, when the request arrived
    method TEXT NOT NULL,              -- PUT, POST, DELETE, WIPE
    group_id INTEGER REFERENCES groups(id), -- NULL when the URL named no valid group
    path TEXT NOT NULL,                -- request path as received
    status INTEGER NOT NULL,           -- HTTP status answered
    error TEXT,                        -- NULL on success
    content_type TEXT,
    body_bytes INTEGER NOT NULL DEFAULT 0,
    series INTEGER NOT NULL DEFAULT 0, -- series carried by the body
    remote_addr TEXT,
    user_agent TEXT
  );
  CREATE INDEX pushes_group_time ON pushes(group_id, time);
  CREATE INDEX pushes_time ON pushes(time);

  -- One row per family a push wrote. current = 1 for the version a scrape
  -- shows; replaced versions stay (current = 0) as history.
  CREATE TABLE families (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES groups(id),
    push_id INTEGER NOT NULL REFERENCES pushes(id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,                -- counter gauge summary untyped histogram gaugehistogram
    help TEXT,                         -- NULL when unset
    unit TEXT,
    current INTEGER NOT NULL DEFAULT 1,
    replaced_by INTEGER REFERENCES pushes(id) -- the push that superseded it
  );
  CREATE INDEX families_current ON families(group_id, name) WHERE current = 1;
  CREATE INDEX families_push ON families(push_id);
  CREATE INDEX families_name ON families(name);

  -- One row per sample line as the text format shows it: x, x_sum, x_count,
  -- x_bucket{le=...}, x{quantile=...}.
  CREATE TABLE samples (
    id INTEGER PRIMARY KEY,
    family_id INTEGER NOT NULL REFERENCES families(id),
    series INTEGER NOT NULL,           -- ordinal of the series in its family
    name TEXT NOT NULL,                -- metric name with suffix
    labels TEXT NOT NULL,              -- JSON object, grouping labels applied, le/quantile included
    value REAL,                        -- NULL only for NaN
    value_text TEXT,                   -- 'NaN' or '-0' where REAL cannot keep the value exactly
    native TEXT,                       -- JSON: native histogram fields, on the _count row
    exemplar TEXT,                     -- JSON: exemplar of a counter or bucket
    created REAL                       -- created timestamp, Unix seconds
  );
  CREATE INDEX samples_family ON samples(family_id);

  -- Views for people (docs/database.md, Views and queries).
  CREATE VIEW current_samples AS
    SELECT g.key AS group_key, f.name AS family, f.type, s.name AS metric,
           s.labels, COALESCE(s.value_text, s.value) AS value,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at
    FROM samples s
    JOIN families f ON f.id = s.family_id AND f.current = 1
    JOIN groups g ON g.id = f.group_id
    JOIN pushes p ON p.id = f.push_id;

  CREATE VIEW push_log AS
    SELECT p.id, strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS at, p.method,
           COALESCE(g.key, p.path) AS group_key, p.status, p.error, p.series,
           p.body_bytes, p.remote_addr, p.user_agent
    FROM pushes p LEFT JOIN groups g ON g.id = p.group_id;

  CREATE VIEW sample_history AS
    SELECT s.name AS metric, s.labels, COALESCE(s.value_text, s.value) AS value,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at, p.time,
           g.key AS group_key, f.current
    FROM samples s
    JOIN families f ON f.id = s.family_id
    JOIN pushes p ON p.id = f.push_id
    JOIN groups g ON g.id = f.group_id;
  `,
  `
  -- 2: per-group TTL (Pushvault-TTL header), when a family stopped being
  -- current (for retention), and views for the common questions.
  ALTER TABLE groups ADD COLUMN ttl REAL;        -- seconds; NULL = the --group.ttl default
  ALTER TABLE families ADD COLUMN replaced_at REAL; -- Unix seconds when current became 0
  UPDATE families SET replaced_at = (SELECT time FROM pushes WHERE id = families.replaced_by)
    WHERE current = 0;
  CREATE INDEX families_replaced ON families(replaced_at) WHERE current = 0;

  -- Every live group with its state, one row each.
  CREATE VIEW group_status AS
    SELECT g.key AS group_key, g.job,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_time, 0), 'unixepoch') AS last_push,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_failure_time, 0), 'unixepoch') AS last_failure,
           g.push_failure_time > g.push_time AS failing,
           (SELECT count(DISTINCT s.series || '/' || f.id) FROM families f JOIN samples s ON s.family_id = f.id
             WHERE f.group_id = g.id AND f.current = 1) AS series,
           g.ttl
    FROM groups g WHERE g.deleted_at IS NULL;

  -- Live groups by how long ago they last pushed successfully.
  CREATE VIEW stale_groups AS
    SELECT g.key AS group_key,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_time, 0), 'unixepoch') AS last_push,
           CAST(strftime('%s', 'now') AS REAL) - MAX(g.push_time, g.created_at) AS idle_seconds
    FROM groups g WHERE g.deleted_at IS NULL;

  -- Live groups by number of series (a histogram or summary is one series).
  CREATE VIEW group_sizes AS
    SELECT g.key AS group_key, count(DISTINCT f.id) AS families,
           count(DISTINCT f.id || '/' || s.series) AS series, count(s.id) AS samples
    FROM groups g JOIN families f ON f.group_id = g.id AND f.current = 1
    LEFT JOIN samples s ON s.family_id = f.id
    WHERE g.deleted_at IS NULL GROUP BY g.id;
  `,
  `
  -- 3: what the in-memory view keeps of each current family, so that start-up
  -- reads one row per family instead of every sample. A JSON array:
  -- a format tag, then per series its key and its text lines as a scrape
  -- shows them. NULL once the family is superseded, and for rows written
  -- before v3 (start-up then renders them from samples and fills it in).
  ALTER TABLE families ADD COLUMN rendered TEXT;
  `,
  `
  -- 4: no index on families(name). Nothing looks families up by name alone
  -- (a group's history goes through pushes(group_id, time) and
  -- families(push_id)), and keeping it cost every push about a tenth of its
  -- time.
  DROP INDEX IF EXISTS families_name;
  `,
  rekeyGroups,
  compactSamples,
  narrowRows,
  AGGREGATING_GROUPS,
  compactSeries,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * 5: `groups.key` quotes a label name that is not a legacy name
 * (docs/database.md, Grouping keys and schema versions), so that no two label
 * sets share a key. Recomputed from `labels` for every row, deleted groups too
 * (a push revives them by key). Legacy-named groups come out unchanged. Two
 * passes: UNIQUE is checked row by row, and a new key could equal another row's
 * old one until that row is rewritten too. Label sets that once shared a key
 * shared its row, so no two rows can end with the same key.
 */
function rekeyGroups(db: DatabaseSync): void {
  const changed: { id: number; key: string }[] = [];
  for (const row of db.prepare("SELECT id, key, labels FROM groups").all()) {
    const labels = JSON.parse(String(row.labels)) as Record<string, string>;
    const key = makeGroupingKey(new Map(Object.entries(labels))).id;
    if (key !== row.key) changed.push({ id: Number(row.id), key });
  }
  const setKey = db.prepare("UPDATE groups SET key = ? WHERE id = ?");
  // Canonical keys begin with "{": "#<id>" meets none of them.
  for (const { id } of changed) setKey.run(`#${id}`, id);
  for (const { id, key } of changed) setKey.run(key, id);
}
