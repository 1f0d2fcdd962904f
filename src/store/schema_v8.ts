/**
 * Schema 8: aggregating groups (README "Aggregating groups";
 * docs/database.md, Aggregating groups). Adds a column and two tables,
 * rewrites nothing: the migration is instant on any file.
 * @module
 */

/**
 * 8: a group's kind; every contribution's values as pushed; what an exact
 * sum keeps beyond its value; the `aggregate_contributions` view.
 */
export const AGGREGATING_GROUPS = `
  -- 1: the group adds what is pushed to it (/aggregate/metrics/job/...);
  -- NULL: a replacing group, as every group before schema 8.
  ALTER TABLE groups ADD COLUMN aggregating INTEGER;

  -- One row per sample row of a contribution to an aggregating group, the
  -- value as pushed (the delta). family_id is the family version that
  -- contribution wrote (its push_id is the contribution's pushes row),
  -- series_id the series it was added to; keyed as samples are.
  CREATE TABLE contributions (
    family_id INTEGER NOT NULL REFERENCES families(id),
    series_id INTEGER NOT NULL REFERENCES series(id),
    value REAL,                        -- NULL only for NaN
    value_text TEXT,                   -- 'NaN' or '-0' where REAL cannot keep the value exactly
    native TEXT,                       -- JSON: the native histogram pushed, on the _count row
    PRIMARY KEY (family_id, series_id)
  ) WITHOUT ROWID;

  -- The exact running sum of a sample of an aggregating group, where its
  -- value (samples.value, the sum correctly rounded) does not hold it: the
  -- non-overlapping partials whose exact sum it is, as a JSON array.
  CREATE TABLE sum_residues (
    family_id INTEGER NOT NULL REFERENCES families(id),
    series_id INTEGER NOT NULL REFERENCES series(id),
    partials TEXT NOT NULL,
    PRIMARY KEY (family_id, series_id)
  ) WITHOUT ROWID;

  -- Every contribution's values, with who pushed them and when.
  CREATE VIEW aggregate_contributions AS
    SELECT p.id AS push_id,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at, p.time,
           g.key AS group_key, se.family || se.suffix AS metric, se.labels,
           COALESCE(c.value_text, c.value) AS value, c.native, p.method,
           p.remote_addr, p.user_agent
    FROM contributions c
    JOIN families f ON f.id = c.family_id
    JOIN pushes p ON p.id = f.push_id
    JOIN groups g ON g.id = f.group_id
    JOIN series se ON se.id = c.series_id;
`;
