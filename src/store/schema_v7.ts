/**
 * Schema 7: what every push repeated out of its rows (see narrowRows).
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { runSteps } from "./migration_steps.ts";
import { VIEWS, VIEWS_7 } from "./schema_views.ts";

/**
 * 7: what every push repeated moves out of its rows (docs/database.md):
 * a family version's type, help and unit, the same push after push, are a
 * `family_meta` row it refers to; a sample has no place column (its series
 * id rises along the family, so it is the order) and its extras are found
 * by series. The views are the same queries over the new columns, with the
 * same columns and answers.
 */
export function narrowRows(
  db: DatabaseSync,
  progress: (message: string) => void,
): void {
  for (const view of VIEWS) db.exec(`DROP VIEW IF EXISTS ${view}`);
  runSteps(db, 7, NARROW_ROWS, progress);
  db.exec(VIEWS_7);
}

/**
 * Schema 7's tables, filled from schema 6's (see narrowRows), in steps cut
 * at `-- step --` lines (migration_steps.ts).
 */
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

  -- step --
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

  -- step --
  CREATE TABLE samples_v7 (
    family_id INTEGER NOT NULL REFERENCES families(id),
    series_id INTEGER NOT NULL REFERENCES series(id),
    series INTEGER NOT NULL,           -- ordinal of the series (metric) in its family
    value REAL,                        -- NULL only for NaN
    PRIMARY KEY (family_id, series_id)
  ) WITHOUT ROWID;
  INSERT INTO samples_v7 (family_id, series_id, series, value)
    SELECT family_id, series_id, series, value FROM samples ORDER BY family_id, series_id;

  -- step --
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

  -- step --
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
