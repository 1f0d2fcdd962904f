/**
 * Schema 9: fewer bytes per kept sample (see compactSeries).
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { runSteps } from "./migration_steps.ts";
import { VIEWS } from "./schema_views.ts";
import { VIEWS_9 } from "./schema_views_v9.ts";

/**
 * 9: what a series and a push repeated moves out of their rows
 * (docs/database.md, The cost of a kept sample). A series row refers to its
 * metric name (`metric_names`) and codes its suffix as a number; its labels
 * keep the group's labels as one character (U+0001, which a JSON text never
 * holds raw) and it holds the ordinal of its metric, which `samples` rows
 * no longer repeat; a family version refers to its name there too. A push
 * refers to its request's path, content type, remote address and user
 * agent (`requests`, one row per distinct combination). The `series` view shows the series as schema 8's table did;
 * the other views are the same queries over the new tables, with the same
 * columns and answers.
 */
export function compactSeries(
  db: DatabaseSync,
  progress: (message: string) => void,
): void {
  for (const view of [...VIEWS, "aggregate_contributions"]) {
    db.exec(`DROP VIEW IF EXISTS ${view}`);
  }
  runSteps(db, 9, COMPACT_SERIES, progress);
  db.exec(VIEWS_9);
}

/**
 * Schema 9's tables, filled from schema 8's (see compactSeries), in steps
 * cut at `-- step --` lines (migration_steps.ts). A sample's ordinal goes to
 * its series row: the ordinal its latest sample has (bare `series` with
 * `max`: from that row). A sample whose ordinal differs (its series
 * row was kept while a series before it left) keeps its own in
 * `sample_extras.series`. Suffixes other than the four a push writes stay
 * as text.
 */
const COMPACT_SERIES = `
  CREATE TABLE metric_names (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
  );
  INSERT INTO metric_names (name)
    SELECT family FROM series UNION SELECT name FROM families ORDER BY 1;

  -- step --
  CREATE TABLE families_v9 (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES groups(id),
    push_id INTEGER NOT NULL REFERENCES pushes(id),
    name_id INTEGER NOT NULL REFERENCES metric_names(id),
    meta_id INTEGER NOT NULL REFERENCES family_meta(id),
    current INTEGER NOT NULL DEFAULT 1,
    replaced_by INTEGER REFERENCES pushes(id), -- the push that superseded it
    replaced_at REAL                   -- Unix seconds when current became 0
  );
  INSERT INTO families_v9 (id, group_id, push_id, name_id, meta_id, current, replaced_by,
      replaced_at)
    SELECT f.id, f.group_id, f.push_id, n.id, f.meta_id, f.current, f.replaced_by, f.replaced_at
    FROM families f JOIN metric_names n ON n.name = f.name
    ORDER BY f.id;

  -- step --
  CREATE TABLE series_keys (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES groups(id),
    name_id INTEGER NOT NULL REFERENCES metric_names(id),
    suffix INTEGER NOT NULL,           -- 0 '', 1 '_sum', 2 '_count', 3 '_bucket'
    series INTEGER NOT NULL,           -- ordinal of the series (metric) in its family
    labels TEXT NOT NULL               -- JSON; the group's labels are char(1)
  );
  INSERT INTO series_keys (id, group_id, name_id, suffix, series, labels)
    SELECT se.id, se.group_id, n.id,
      CASE se.suffix WHEN '' THEN 0 WHEN '_sum' THEN 1 WHEN '_count' THEN 2
        WHEN '_bucket' THEN 3 ELSE se.suffix END,
      COALESCE(o.series, 0),
      COALESCE(replace(se.labels, substr(g.labels, 2, length(g.labels) - 2), char(1)),
        se.labels)
    FROM series se JOIN metric_names n ON n.name = se.family
    LEFT JOIN groups g ON g.id = se.group_id
    LEFT JOIN (SELECT series_id, max(family_id), series FROM samples GROUP BY series_id) o
      ON o.series_id = se.id
    ORDER BY se.id;

  -- step --
  CREATE TABLE sample_extras_v9 (
    family_id INTEGER NOT NULL,
    series_id INTEGER NOT NULL,        -- samples.series_id of the sample
    value_text TEXT,                   -- 'NaN' or '-0' where REAL cannot keep the value exactly
    native TEXT,                       -- JSON: native histogram fields, on the _count row
    exemplar TEXT,                     -- JSON: exemplar of a counter or bucket
    created REAL,                      -- created timestamp, Unix seconds
    series INTEGER,                    -- its ordinal where it is not its series row's
    PRIMARY KEY (family_id, series_id)
  ) WITHOUT ROWID;
  INSERT INTO sample_extras_v9 (family_id, series_id, value_text, native, exemplar, created,
      series)
    SELECT s.family_id, s.series_id, x.value_text, x.native, x.exemplar, x.created,
      iif(s.series = k.series, NULL, s.series)
    FROM samples s JOIN series_keys k ON k.id = s.series_id
    LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id
    WHERE x.family_id IS NOT NULL OR s.series != k.series
    ORDER BY s.family_id, s.series_id;

  -- step --
  CREATE TABLE samples_v9 (
    family_id INTEGER NOT NULL REFERENCES families(id),
    series_id INTEGER NOT NULL REFERENCES series_keys(id),
    value REAL,                        -- NULL only for NaN
    PRIMARY KEY (family_id, series_id)
  ) WITHOUT ROWID;
  INSERT INTO samples_v9 (family_id, series_id, value)
    SELECT family_id, series_id, value FROM samples ORDER BY family_id, series_id;

  -- step --
  CREATE TABLE requests (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,                -- request path as received
    content_type TEXT,
    remote_addr TEXT,
    user_agent TEXT
  );
  CREATE INDEX requests_key ON requests(path, content_type, remote_addr, user_agent);
  INSERT INTO requests (path, content_type, remote_addr, user_agent)
    SELECT DISTINCT path, content_type, remote_addr, user_agent FROM pushes
    ORDER BY path, content_type, remote_addr, user_agent;
  CREATE TABLE pushes_v9 (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,                -- Unix seconds, when the request arrived
    method TEXT NOT NULL,              -- PUT, POST, DELETE, WIPE, ...
    group_id INTEGER REFERENCES groups(id), -- NULL when the URL named no valid group
    status INTEGER NOT NULL,           -- HTTP status answered
    error TEXT,                        -- NULL on success
    body_bytes INTEGER NOT NULL DEFAULT 0,
    series INTEGER NOT NULL DEFAULT 0, -- series carried by the body
    request_id INTEGER NOT NULL REFERENCES requests(id) -- path, content type, client
  );
  INSERT INTO pushes_v9 (id, time, method, group_id, status, error, body_bytes, series,
      request_id)
    SELECT p.id, p.time, p.method, p.group_id, p.status, p.error, p.body_bytes, p.series, r.id
    FROM pushes p JOIN requests r ON r.path = p.path AND r.content_type IS p.content_type
      AND r.remote_addr IS p.remote_addr AND r.user_agent IS p.user_agent
    ORDER BY p.id;

  -- step --
  DROP TABLE series;
  DROP TABLE samples;
  DROP TABLE sample_extras;
  DROP TABLE pushes;
  DROP TABLE families;
  ALTER TABLE families_v9 RENAME TO families;
  ALTER TABLE samples_v9 RENAME TO samples;
  ALTER TABLE sample_extras_v9 RENAME TO sample_extras;
  ALTER TABLE pushes_v9 RENAME TO pushes;
  CREATE INDEX series_group ON series_keys(group_id);
  CREATE INDEX pushes_group_time ON pushes(group_id, time);
  CREATE INDEX pushes_time ON pushes(time);
  CREATE INDEX pushes_request ON pushes(request_id);
  CREATE INDEX families_current ON families(group_id, name_id) WHERE current = 1;
  CREATE INDEX families_push ON families(push_id);
  CREATE INDEX families_replaced ON families(replaced_at) WHERE current = 0;
`;
