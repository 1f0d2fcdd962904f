/**
 * Schema 6: a series' name and labels in a `series` row of their own, and
 * `samples` rows of a few bytes (see compactSamples).
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { VIEWS, VIEWS_6 } from "./schema_views.ts";

/**
 * 6: a kept sample is a few bytes (docs/database.md). What repeats from
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
export function compactSamples(
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
