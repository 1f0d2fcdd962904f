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

  -- One row per family version a contribution to an aggregating group
  -- wrote (its push_id is the contribution's pushes row): the pushed sample
  -- rows' values as pushed (the deltas), as a JSON array of
  -- [series_id, value] pairs, [series_id, value, native] for a native
  -- histogram's _count row; a value is a number, or the string 'NaN',
  -- '+Inf', '-Inf' or '-0'. One row, not one per sample: a contribution's
  -- cost is its sums' rows and little more.
  CREATE TABLE contributions (
    family_id INTEGER PRIMARY KEY REFERENCES families(id),
    deltas TEXT NOT NULL
  );

  -- The exact running sum of a sample of an aggregating group, where its
  -- value (samples.value, the sum correctly rounded) does not hold it: the
  -- non-overlapping partials whose exact sum it is, as a JSON array.
  CREATE TABLE sum_residues (
    family_id INTEGER NOT NULL REFERENCES families(id),
    series_id INTEGER NOT NULL REFERENCES series(id),
    partials TEXT NOT NULL,
    PRIMARY KEY (family_id, series_id)
  ) WITHOUT ROWID;

  -- Every contribution's values, one row per sample, with who pushed them
  -- and when.
  CREATE VIEW aggregate_contributions AS
    SELECT p.id AS push_id,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at, p.time,
           g.key AS group_key, se.family || se.suffix AS metric, se.labels,
           json_extract(d.value, '$[1]') AS value, json_extract(d.value, '$[2]') AS native,
           p.method, p.remote_addr, p.user_agent
    FROM contributions c
    JOIN families f ON f.id = c.family_id
    JOIN pushes p ON p.id = f.push_id
    JOIN groups g ON g.id = f.group_id
    JOIN json_each(c.deltas) d
    JOIN series se ON se.id = json_extract(d.value, '$[0]');
`;
