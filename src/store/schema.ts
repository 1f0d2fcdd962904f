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

  -- Views for people (README "Querying the history").
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
  -- reads one row per family instead of every sample (issue 7). A JSON array:
  -- a format tag, then per series its key and its text lines as a scrape
  -- shows them. NULL once the family is superseded, and for rows written
  -- before v3 (start-up then renders them from samples and fills it in).
  ALTER TABLE families ADD COLUMN rendered TEXT;
  `,
  `
  -- 4: no index on families(name). Nothing looks families up by name alone
  -- (a group's history goes through pushes(group_id, time) and
  -- families(push_id)), and keeping it cost every push about a tenth of its
  -- time (issue 7).
  DROP INDEX IF EXISTS families_name;
  `,
  rekeyGroups,
  compactSamples,
  narrowRows,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * 5: `groups.key` quotes a label name that is not a legacy name (README "The
 * database"), so that no two label sets share a key. Recomputed from
 * `labels` for every row, deleted groups too (a push revives them by key).
 * Legacy-named groups come out unchanged. Two passes: UNIQUE is checked row
 * by row, and a new key could equal another row's old one until that row
 * is rewritten too. Label sets that once shared a key shared its row, so no
 * two rows can end with the same key.
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

/**
 * 6: a kept sample is a few bytes (README "The database"). What repeats from
 * push to push — the metric name and labels of a series — moves from every
 * `samples` row to one `series` row, which a series keeps for as long as it
 * stays in consecutive versions of its family (a series that leaves and
 * comes back starts a new row: retention can then tell when a row's last
 * sample went, from the version that replaced it, without an index on
 * samples' series). `samples` becomes a WITHOUT ROWID table keyed by
 * (family_id, series_id, seq): appended in key order by every push, found
 * by family and by series, and no separate index. The start-up cache
 * `families.rendered` moves to `rendered`, one row per current family, so
 * that replaced families rows do not shrink in place and leave their pages
 * mostly empty. The views are the same queries over the new tables, with
 * the same columns and answers.
 */
function compactSamples(
  db: DatabaseSync,
  progress: (message: string) => void,
): void {
  for (const view of VIEWS) db.exec(`DROP VIEW IF EXISTS ${view}`);
  db.exec(
    SCHEMA_6_TABLES.replace("CREATE TABLE samples", "CREATE TABLE samples_v6"),
  );
  db.exec(
    `INSERT INTO rendered (family_id, rendered)
       SELECT id, rendered FROM families WHERE rendered IS NOT NULL`,
  );
  db.exec("ALTER TABLE families DROP COLUMN rendered");
  const total = Number(
    (db.prepare("SELECT count(*) AS n FROM samples").get() as { n: number }).n,
  );
  const families = db.prepare(
    "SELECT id, group_id, name, push_id, replaced_by FROM families ORDER BY group_id, name, id",
  );
  const oldSamples = db.prepare(
    `SELECT series, name, labels, value, value_text, native, exemplar, created
     FROM samples WHERE family_id = ? ORDER BY id`,
  );
  const insertSeries = db.prepare(
    "INSERT INTO series (group_id, family, suffix, labels) VALUES (?, ?, ?, ?)",
  );
  const insertSample = db.prepare(
    `INSERT INTO samples_v6 (family_id, series_id, seq, series, value) VALUES (?,?,?,?,?)`,
  );
  const insertExtras = db.prepare(
    `INSERT INTO sample_extras (family_id, seq, value_text, native, exemplar, created)
     VALUES (?,?,?,?,?,?)`,
  );
  /** The previous version of the family being walked, and its series. */
  let previous:
    | {
      group: number;
      name: string;
      replacedBy: number | null;
      ids: Map<string, number>;
    }
    | undefined;
  let done = 0;
  let reported = 0;
  for (const f of families.iterate() as Iterable<Record<string, unknown>>) {
    const id = Number(f.id);
    const group = Number(f.group_id);
    const name = String(f.name);
    const reuse = previous !== undefined && previous.group === group &&
      previous.name === name && previous.replacedBy === Number(f.push_id);
    const before = reuse && previous ? previous.ids : new Map<string, number>();
    const ids = new Map<string, number>();
    const rows: {
      seriesId: number;
      seq: number;
      row: Record<string, unknown>;
    }[] = [];
    let seq = 0;
    let last = 0;
    for (const s of oldSamples.all(id)) {
      const metric = String(s.name);
      if (!metric.startsWith(name)) {
        throw new Error(
          `samples row of family ${id} is named ${
            JSON.stringify(metric)
          }, not after its family ${JSON.stringify(name)}`,
        );
      }
      const suffix = metric.slice(name.length);
      const labels = String(s.labels);
      const key = `${suffix}\u0000${labels}`;
      // As the store assigns them (Store.#seriesIds): rising along the
      // family, the previous version's where that keeps them rising.
      let seriesId = before.get(key);
      if (seriesId === undefined || seriesId <= last) {
        seriesId = Number(
          insertSeries.run(group, name, suffix, labels).lastInsertRowid,
        );
      }
      last = seriesId;
      ids.set(key, seriesId);
      rows.push({ seriesId, seq: seq++, row: s });
    }
    for (const { seriesId, seq, row } of rows) {
      insertSample.run(
        id,
        seriesId,
        seq,
        row.series as number,
        row.value as number | null,
      );
      if (
        row.value_text !== null || row.native !== null ||
        row.exemplar !== null || row.created !== null
      ) {
        insertExtras.run(
          id,
          seq,
          row.value_text as string | null,
          row.native as string | null,
          row.exemplar as string | null,
          row.created as number | null,
        );
      }
    }
    previous = {
      group,
      name,
      replacedBy: f.replaced_by === null ? null : Number(f.replaced_by),
      ids,
    };
    done += rows.length;
    if (done - reported >= 250_000) {
      reported = done;
      progress(`schema 6: ${done} of ${total} samples rewritten`);
    }
  }
  db.exec("DROP TABLE samples");
  db.exec("ALTER TABLE samples_v6 RENAME TO samples");
  db.exec(VIEWS_6);
}

/**
 * 7: what every push repeated moves out of its rows (docs/database.md):
 * a family version's type, help and unit, the same push after push, are a
 * `family_meta` row it refers to; a sample has no place column (its series
 * id rises along the family, so it is the order) and its extras are found
 * by series. The views are the same queries over the new columns, with the
 * same columns and answers.
 */
function narrowRows(db: DatabaseSync): void {
  for (const view of VIEWS) db.exec(`DROP VIEW IF EXISTS ${view}`);
  db.exec(NARROW_ROWS);
  db.exec(VIEWS_7);
}

/** Every view, dropped and created again by a migration that changes tables. */
const VIEWS = [
  "current_samples",
  "push_log",
  "sample_history",
  "group_status",
  "stale_groups",
  "group_sizes",
] as const;

const SCHEMA_6_TABLES = `
  -- One row per series of a family of a group, in the form a sample line
  -- has it: the metric is family || suffix (x, x_sum, x_count, x_bucket),
  -- labels the JSON object with grouping labels applied and le or quantile.
  CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES groups(id),
    family TEXT NOT NULL,              -- families.name
    suffix TEXT NOT NULL,              -- '', '_sum', '_count' or '_bucket'
    labels TEXT NOT NULL
  );
  CREATE INDEX series_group ON series(group_id);

  -- One row per kept sample: its family row, its series, its place in the
  -- family (seq, the order a scrape shows) and its value.
  CREATE TABLE samples (
    family_id INTEGER NOT NULL REFERENCES families(id),
    series_id INTEGER NOT NULL REFERENCES series(id),
    seq INTEGER NOT NULL,              -- 0, 1, ...: the line's place in its family
    series INTEGER NOT NULL,           -- ordinal of the series (metric) in its family
    value REAL,                        -- NULL only for NaN
    PRIMARY KEY (family_id, series_id, seq)
  ) WITHOUT ROWID;

  -- What few samples carry besides a value, one row for each of those
  -- only (a NULL column still costs every row a byte).
  CREATE TABLE sample_extras (
    family_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,              -- samples.seq of the sample
    value_text TEXT,                   -- 'NaN' or '-0' where REAL cannot keep the value exactly
    native TEXT,                       -- JSON: native histogram fields, on the _count row
    exemplar TEXT,                     -- JSON: exemplar of a counter or bucket
    created REAL,                      -- created timestamp, Unix seconds
    PRIMARY KEY (family_id, seq)
  ) WITHOUT ROWID;

  -- What the in-memory view keeps of each current family (see v3), one row
  -- per current family, removed when the family is replaced.
  CREATE TABLE rendered (
    family_id INTEGER PRIMARY KEY REFERENCES families(id),
    rendered TEXT NOT NULL
  );
`;

/**
 * The views over schema 6: the same columns and answers as before. The
 * history of one series is found from its group (by key), its series row
 * (series_group), the group's pushes (pushes_group_time), their families
 * (families_push) and the samples' key, so `WHERE metric = ? AND
 * group_key = ?` reads only that series' rows. CROSS JOIN fixes that order:
 * without statistics the planner would read every sample of each family
 * before it meets the series (docs/performance.md shows the plan).
 */
const VIEWS_6 = `
  CREATE VIEW current_samples AS
    SELECT g.key AS group_key, f.name AS family, f.type, se.family || se.suffix AS metric,
           se.labels, COALESCE(x.value_text, s.value) AS value,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at
    FROM families f
    JOIN samples s ON s.family_id = f.id
    JOIN series se ON se.id = s.series_id
    JOIN groups g ON g.id = f.group_id
    JOIN pushes p ON p.id = f.push_id
    LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.seq = s.seq
    WHERE f.current = 1;

  CREATE VIEW push_log AS
    SELECT p.id, strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS at, p.method,
           COALESCE(g.key, p.path) AS group_key, p.status, p.error, p.series,
           p.body_bytes, p.remote_addr, p.user_agent
    FROM pushes p LEFT JOIN groups g ON g.id = p.group_id;

  CREATE VIEW sample_history AS
    SELECT se.family || se.suffix AS metric, se.labels, COALESCE(x.value_text, s.value) AS value,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at, p.time,
           g.key AS group_key, f.current
    FROM groups g
    CROSS JOIN series se ON se.group_id = g.id
    CROSS JOIN pushes p ON p.group_id = se.group_id
    JOIN families f ON f.push_id = p.id AND f.name = se.family AND f.group_id = se.group_id
    JOIN samples s ON s.family_id = f.id AND s.series_id = se.id
    LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.seq = s.seq;

  CREATE VIEW group_status AS
    SELECT g.key AS group_key, g.job,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_time, 0), 'unixepoch') AS last_push,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_failure_time, 0), 'unixepoch') AS last_failure,
           g.push_failure_time > g.push_time AS failing,
           (SELECT count(DISTINCT s.series || '/' || f.id) FROM families f JOIN samples s ON s.family_id = f.id
             WHERE f.group_id = g.id AND f.current = 1) AS series,
           g.ttl
    FROM groups g WHERE g.deleted_at IS NULL;

  CREATE VIEW stale_groups AS
    SELECT g.key AS group_key,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_time, 0), 'unixepoch') AS last_push,
           CAST(strftime('%s', 'now') AS REAL) - MAX(g.push_time, g.created_at) AS idle_seconds
    FROM groups g WHERE g.deleted_at IS NULL;

  CREATE VIEW group_sizes AS
    SELECT g.key AS group_key, count(DISTINCT f.id) AS families,
           count(DISTINCT f.id || '/' || s.series) AS series, count(s.family_id) AS samples
    FROM groups g JOIN families f ON f.group_id = g.id AND f.current = 1
    LEFT JOIN samples s ON s.family_id = f.id
    WHERE g.deleted_at IS NULL GROUP BY g.id;
`;

/**
 * The views over schema 7: those of schema 6, with a family's type from
 * its `family_meta` row and a sample's extras found by its series.
 */
const VIEWS_7 = `
  CREATE VIEW current_samples AS
    SELECT g.key AS group_key, f.name AS family, m.type, se.family || se.suffix AS metric,
           se.labels, COALESCE(x.value_text, s.value) AS value,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at
    FROM families f
    JOIN samples s ON s.family_id = f.id
    JOIN series se ON se.id = s.series_id
    JOIN groups g ON g.id = f.group_id
    JOIN pushes p ON p.id = f.push_id
    JOIN family_meta m ON m.id = f.meta_id
    LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id
    WHERE f.current = 1;

  CREATE VIEW push_log AS
    SELECT p.id, strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS at, p.method,
           COALESCE(g.key, p.path) AS group_key, p.status, p.error, p.series,
           p.body_bytes, p.remote_addr, p.user_agent
    FROM pushes p LEFT JOIN groups g ON g.id = p.group_id;

  CREATE VIEW sample_history AS
    SELECT se.family || se.suffix AS metric, se.labels, COALESCE(x.value_text, s.value) AS value,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at, p.time,
           g.key AS group_key, f.current
    FROM groups g
    CROSS JOIN series se ON se.group_id = g.id
    CROSS JOIN pushes p ON p.group_id = se.group_id
    JOIN families f ON f.push_id = p.id AND f.name = se.family AND f.group_id = se.group_id
    JOIN samples s ON s.family_id = f.id AND s.series_id = se.id
    LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id;

  CREATE VIEW group_status AS
    SELECT g.key AS group_key, g.job,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_time, 0), 'unixepoch') AS last_push,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_failure_time, 0), 'unixepoch') AS last_failure,
           g.push_failure_time > g.push_time AS failing,
           (SELECT count(DISTINCT s.series || '/' || f.id) FROM families f JOIN samples s ON s.family_id = f.id
             WHERE f.group_id = g.id AND f.current = 1) AS series,
           g.ttl
    FROM groups g WHERE g.deleted_at IS NULL;

  CREATE VIEW stale_groups AS
    SELECT g.key AS group_key,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_time, 0), 'unixepoch') AS last_push,
           CAST(strftime('%s', 'now') AS REAL) - MAX(g.push_time, g.created_at) AS idle_seconds
    FROM groups g WHERE g.deleted_at IS NULL;

  CREATE VIEW group_sizes AS
    SELECT g.key AS group_key, count(DISTINCT f.id) AS families,
           count(DISTINCT f.id || '/' || s.series) AS series, count(s.family_id) AS samples
    FROM groups g JOIN families f ON f.group_id = g.id AND f.current = 1
    LEFT JOIN samples s ON s.family_id = f.id
    WHERE g.deleted_at IS NULL GROUP BY g.id;
`;

/** Schema 7's tables, filled from schema 6's (see narrowRows). */
const NARROW_ROWS = `
  CREATE TABLE family_meta (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,                -- counter gauge summary untyped histogram gaugehistogram
    help TEXT,                         -- NULL when unset
    unit TEXT
  );
  CREATE INDEX family_meta_key ON family_meta(type, help, unit);
  INSERT INTO family_meta (type, help, unit)
    SELECT DISTINCT type, help, unit FROM families ORDER BY type, help, unit;

  CREATE TABLE families_v7 (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES groups(id),
    push_id INTEGER NOT NULL REFERENCES pushes(id),
    name TEXT NOT NULL,
    meta_id INTEGER NOT NULL REFERENCES family_meta(id),
    current INTEGER NOT NULL DEFAULT 1,
    replaced_by INTEGER REFERENCES pushes(id), -- the push that superseded it
    replaced_at REAL                   -- Unix seconds when current became 0
  );
  INSERT INTO families_v7 (id, group_id, push_id, name, meta_id, current, replaced_by,
      replaced_at)
    SELECT f.id, f.group_id, f.push_id, f.name, m.id, f.current, f.replaced_by, f.replaced_at
    FROM families f JOIN family_meta m
      ON m.type = f.type AND m.help IS f.help AND m.unit IS f.unit
    ORDER BY f.id;

  CREATE TABLE samples_v7 (
    family_id INTEGER NOT NULL REFERENCES families(id),
    series_id INTEGER NOT NULL REFERENCES series(id),
    series INTEGER NOT NULL,           -- ordinal of the series (metric) in its family
    value REAL,                        -- NULL only for NaN
    PRIMARY KEY (family_id, series_id)
  ) WITHOUT ROWID;
  INSERT INTO samples_v7 (family_id, series_id, series, value)
    SELECT family_id, series_id, series, value FROM samples ORDER BY family_id, series_id;

  CREATE TABLE sample_extras_v7 (
    family_id INTEGER NOT NULL,
    series_id INTEGER NOT NULL,        -- samples.series_id of the sample
    value_text TEXT,                   -- 'NaN' or '-0' where REAL cannot keep the value exactly
    native TEXT,                       -- JSON: native histogram fields, on the _count row
    exemplar TEXT,                     -- JSON: exemplar of a counter or bucket
    created REAL,                      -- created timestamp, Unix seconds
    PRIMARY KEY (family_id, series_id)
  ) WITHOUT ROWID;
  INSERT INTO sample_extras_v7 (family_id, series_id, value_text, native, exemplar, created)
    SELECT x.family_id, s.series_id, x.value_text, x.native, x.exemplar, x.created
    FROM sample_extras x JOIN samples s ON s.family_id = x.family_id AND s.seq = x.seq
    ORDER BY x.family_id, s.series_id;

  DROP TABLE sample_extras;
  DROP TABLE samples;
  DROP TABLE families;
  ALTER TABLE families_v7 RENAME TO families;
  ALTER TABLE samples_v7 RENAME TO samples;
  ALTER TABLE sample_extras_v7 RENAME TO sample_extras;
  CREATE INDEX families_current ON families(group_id, name) WHERE current = 1;
  CREATE INDEX families_push ON families(push_id);
  CREATE INDEX families_replaced ON families(replaced_at) WHERE current = 0;
`;
