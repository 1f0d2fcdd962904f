/**
 * The store's SQL: the statements prepared once per connection, the
 * multi-row INSERTs prepared on first use per row count, and the shapes of
 * the rows they read (docs/database.md).
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { MetricType } from "../exposition/model.ts";
import { BUSY_TIMEOUT_MS } from "./open_database.ts";
import type { SampleRow } from "../push/sample_rows.ts";

export interface GroupRow {
  id: number;
  labels: string;
  push_time: number;
  push_failure_time: number;
  ttl: number | null;
  created_at: number;
  /** 1: an aggregating group (schema 8). */
  aggregating: number | null;
}
export interface FamilyRow {
  id: number;
  group_id: number;
  name: string;
  type: MetricType;
  help: string | null;
  unit: string | null;
  time: number;
  /** `families.rendered` as its UTF-8 bytes (cast to BLOB). */
  rendered: Uint8Array | null;
}

/** Rows per multi-row INSERT into `samples` (3 parameters each). */
export const SAMPLES_PER_INSERT = 200;

/** Rows per multi-row INSERT into `families` (6 parameters each). */
export const FAMILIES_PER_INSERT = 50;

export interface SampleDbRow {
  family_id: number;
  series: number;
  name: string;
  labels: string;
  value: number | null;
  value_text: string | null;
  native: string | null;
  exemplar: string | null;
  created: number | null;
}

export function sampleRow(s: SampleDbRow): SampleRow {
  return {
    series: s.series,
    name: s.name,
    labels: s.labels,
    value: s.value,
    valueText: s.value_text,
    native: s.native,
    exemplar: s.exemplar,
    created: s.created,
  };
}

/**
 * A connection with the statements the write helpers use on it: the
 * store's own, or the one a large push is written on (Store.#commitAside).
 * The INSERTs of n rows are prepared on first use, per connection.
 */
export interface Writer {
  readonly db: DatabaseSync;
  readonly stmt: Statements;
  /** Index n: the INSERT of n `samples` rows ({@link sampleInsert}). */
  readonly sampleInserts: (StatementSync | undefined)[];
  /** Index n: the INSERT of n `sample_extras` rows. */
  readonly extrasInserts: (StatementSync | undefined)[];
  /** Index n: the INSERT of n family rows ({@link familyInsert}). */
  readonly familyInserts: (StatementSync | undefined)[];
  /** Index n: the INSERT of what of n `family_meta` rows is missing. */
  readonly metaInserts: (StatementSync | undefined)[];
  /** Index n: the INSERT of what of n `metric_names` rows is missing. */
  readonly nameInserts: (StatementSync | undefined)[];
  /** Index n: the INSERT of n `rendered` rows. */
  readonly renderedInserts: (StatementSync | undefined)[];
  /** Index n: the INSERT of n `series` rows. */
  readonly seriesInserts: (StatementSync | undefined)[];
}

export function newWriter(
  db: DatabaseSync,
  stmt: Statements,
): Writer {
  return {
    db,
    stmt,
    sampleInserts: [],
    extrasInserts: [],
    familyInserts: [],
    metaInserts: [],
    nameInserts: [],
    renderedInserts: [],
    seriesInserts: [],
  };
}

/**
 * The prepared INSERT of `n` family rows, prepared on first use: group,
 * push, name, which finds the `metric_names` row, then type, help and
 * unit, which find the `family_meta` row (the missing ones of both were
 * written first: {@link nameInsert}, {@link metaInsert}).
 */
export function familyInsert(w: Writer, n: number): StatementSync {
  let statement = w.familyInserts[n];
  if (statement === undefined) {
    const values = Array.from(
      { length: n },
      () =>
        `(?,?,(SELECT id FROM metric_names WHERE name = ?),
          (SELECT id FROM family_meta WHERE type = ? AND help IS ? AND unit IS ?))`,
    ).join(",");
    statement = w.db.prepare(
      `INSERT INTO families (group_id, push_id, name_id, meta_id) VALUES ${values}`,
    );
    w.familyInserts[n] = statement;
  }
  return statement;
}

/** The prepared INSERT of those of `n` names `metric_names` lacks. */
export function nameInsert(w: Writer, n: number): StatementSync {
  let statement = w.nameInserts[n];
  if (statement === undefined) {
    const values = Array.from({ length: n }, () => "(?)").join(",");
    statement = w.db.prepare(
      `INSERT OR IGNORE INTO metric_names (name) VALUES ${values}`,
    );
    w.nameInserts[n] = statement;
  }
  return statement;
}

/**
 * The prepared INSERT of those of `n` (type, help, unit) triples that
 * `family_meta` lacks, once each, prepared on first use.
 */
export function metaInsert(w: Writer, n: number): StatementSync {
  let statement = w.metaInserts[n];
  if (statement === undefined) {
    const values = Array.from({ length: n }, () => "(?,?,?)").join(",");
    statement = w.db.prepare(
      `INSERT INTO family_meta (type, help, unit)
         SELECT DISTINCT v.column1, v.column2, v.column3 FROM (VALUES ${values}) v
         WHERE NOT EXISTS (SELECT 1 FROM family_meta m
           WHERE m.type = v.column1 AND m.help IS v.column2 AND m.unit IS v.column3)`,
    );
    w.metaInserts[n] = statement;
  }
  return statement;
}

/** The prepared INSERT of `n` `rendered` rows, prepared on first use. */
export function renderedInsert(w: Writer, n: number): StatementSync {
  let statement = w.renderedInserts[n];
  if (statement === undefined) {
    // CAST: `rendered` may come as its UTF-8 bytes (PreparedFamily), and
    // is stored as TEXT either way, but for a deflated one (`pz1`,
    // push/rendered_blob.ts), which is bytes and stays a BLOB.
    const values = Array.from({ length: n }, (_, i) => {
      const at = `?${2 * i + 2}`;
      return `(?${
        2 * i + 1
      },iif(substr(CAST(${at} AS BLOB), 1, 3) = x'707a31', ${at}, CAST(${at} AS TEXT)))`;
    }).join(",");
    statement = w.db.prepare(
      `INSERT INTO rendered (family_id, rendered) VALUES ${values}`,
    );
    w.renderedInserts[n] = statement;
  }
  return statement;
}

/**
 * The prepared INSERT of `n` `series_keys` rows, prepared on first use:
 * per row its group, `metric_names` id, suffix code, ordinal and labels,
 * the group's as char(1) (docs/database.md; row_writers.ts puts it there:
 * `replace()` in the INSERT, and numbered parameters, cost a new series
 * more than the rest of its row).
 */
export function seriesInsert(w: Writer, n: number): StatementSync {
  let statement = w.seriesInserts[n];
  if (statement === undefined) {
    const values = Array.from({ length: n }, () => "(?,?,?,?,?)").join(",");
    statement = w.db.prepare(
      `INSERT INTO series_keys (group_id, name_id, suffix, series, labels) VALUES ${values}`,
    );
    w.seriesInserts[n] = statement;
  }
  return statement;
}

/** The prepared INSERT of `n` `samples` rows, prepared on first use. */
export function sampleInsert(w: Writer, n: number): StatementSync {
  let statement = w.sampleInserts[n];
  if (statement === undefined) {
    const values = Array.from({ length: n }, () => "(?,?,?)").join(",");
    statement = w.db.prepare(
      `INSERT INTO samples (family_id, series_id, value) VALUES ${values}`,
    );
    w.sampleInserts[n] = statement;
  }
  return statement;
}

/** The prepared INSERT of `n` `sample_extras` rows, prepared on first use. */
export function extrasInsert(w: Writer, n: number): StatementSync {
  let statement = w.extrasInserts[n];
  if (statement === undefined) {
    const values = Array.from({ length: n }, () => "(?,?,?,?,?,?)").join(",");
    statement = w.db.prepare(
      `INSERT INTO sample_extras (family_id, series_id, value_text, native, exemplar, created)
         VALUES ${values}`,
    );
    w.extrasInserts[n] = statement;
  }
  return statement;
}

/**
 * A sample's series (`s` its `samples` row): its `series_keys` row `se`,
 * metric name `n` and group `g`, for {@link METRIC} and {@link LABELS}.
 */
const SERIES_JOINS = `JOIN series_keys se ON se.id = s.series_id
  JOIN metric_names n ON n.id = se.name_id JOIN groups g ON g.id = se.group_id`;

/** The suffix a `series_keys.suffix` code stands for (schema 9). */
const SUFFIX =
  `CASE se.suffix WHEN 0 THEN '' WHEN 1 THEN '_sum' WHEN 2 THEN '_count'
  WHEN 3 THEN '_bucket' ELSE se.suffix END`;

/** A series' metric: name and suffix. */
const METRIC = `n.name || ${SUFFIX}`;

/** A series' labels: char(1) stands for the group's (schema 9). */
const LABELS =
  `replace(se.labels, char(1), substr(g.labels, 2, length(g.labels) - 2))`;

/** A sample's ordinal: its own where `sample_extras` has one (schema 9). */
const ORDINAL = "COALESCE(x.series, se.series)";

/** The current families after a `families.id`, for Store.#assemble. */
export const LOAD_FAMILIES =
  `SELECT f.id, f.group_id, n.name, m.type, m.help, m.unit, p.time,
    CAST(r.rendered AS BLOB) AS rendered
  FROM families f JOIN pushes p ON p.id = f.push_id
  JOIN metric_names n ON n.id = f.name_id
  JOIN family_meta m ON m.id = f.meta_id
  JOIN groups g ON g.id = f.group_id AND g.deleted_at IS NULL
  LEFT JOIN rendered r ON r.family_id = f.id
  WHERE f.current = 1 AND f.id > ?`;

/**
 * The families rows that retention removes next: replaced before the
 * cutoff, oldest first, at most a batch. Every statement of a batch picks
 * the same rows: ties are broken by id, the index's own order.
 */
export const PRUNED_FAMILIES =
  `SELECT id, group_id, name_id, replaced_by FROM families
  WHERE current = 0 AND replaced_at < ? ORDER BY replaced_at, id LIMIT ?`;

/**
 * The pushes retention removes next: before the cutoff, oldest first, at
 * most a batch (ties broken by id, so that every statement of a batch picks
 * the same rows), but those a family refers to and a live group's last
 * one.
 */
const PRUNED_PUSHES = `SELECT p.id FROM pushes p WHERE p.time < ?
  AND NOT EXISTS (SELECT 1 FROM families f WHERE f.push_id = p.id)
  AND (p.group_id IS NULL
    OR EXISTS (SELECT 1 FROM pushes q WHERE q.group_id = p.group_id
      AND q.time >= p.time AND q.id > p.id)
    OR EXISTS (SELECT 1 FROM groups g WHERE g.id = p.group_id
      AND g.deleted_at IS NOT NULL))
  ORDER BY p.time, p.id LIMIT ?`;

/**
 * Without history, a group's pushes before a push that no family refers
 * to any more, at most a batch.
 */
const EARLIER_PUSHES = `SELECT p.id FROM pushes p
  WHERE p.group_id = ? AND p.id < ?
  AND NOT EXISTS (SELECT 1 FROM families f WHERE f.push_id = p.id)
  ORDER BY p.id LIMIT ?`;

/** The statements {@link prepareStatements} prepares on a connection. */
export type Statements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    // Prepared once: exec() would compile them on every batch.
    begin: p("BEGIN IMMEDIATE"),
    waitForLock: p(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`),
    dontWaitForLock: p("PRAGMA busy_timeout = 0"),
    commit: p("COMMIT"),
    savepoint: p("SAVEPOINT push"),
    release: p("RELEASE push"),
    // A push's request strings are a `requests` row, once per distinct
    // combination (docs/database.md).
    insertRequest: p(
      `INSERT INTO requests (path, content_type, remote_addr, user_agent)
         SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM requests WHERE path = ?1
           AND content_type IS ?2 AND remote_addr IS ?3 AND user_agent IS ?4)`,
    ),
    insertPush: p(
      `INSERT INTO pushes (time, method, group_id, status, error, body_bytes, series,
         request_id) VALUES (?,?,?,?,?,?,?,(SELECT id FROM requests WHERE path = ?
           AND content_type IS ? AND remote_addr IS ? AND user_agent IS ?))`,
    ),
    findGroup: p("SELECT id FROM groups WHERE key = ?"),
    insertGroup: p(
      `INSERT INTO groups (key, labels, job, created_at, push_time, push_failure_time)
       VALUES (?,?,?,?,?,?)`,
    ),
    reviveGroup: p(
      `UPDATE groups SET deleted_at = NULL, push_time = ?, push_failure_time = ?, created_at = ?,
         ttl = NULL, aggregating = NULL WHERE id = ?`,
    ),
    setPushTime: p("UPDATE groups SET push_time = ? WHERE id = ?"),
    setFailureTime: p("UPDATE groups SET push_failure_time = ? WHERE id = ?"),
    deleteGroup: p("UPDATE groups SET deleted_at = ? WHERE id = ?"),
    dropRenderedAll: p(
      `DELETE FROM rendered WHERE family_id IN
         (SELECT id FROM families WHERE group_id = ? AND current = 1)`,
    ),
    dropRenderedOne: p(
      `DELETE FROM rendered WHERE family_id IN
         (SELECT id FROM families WHERE group_id = ? AND current = 1
           AND name_id = (SELECT id FROM metric_names WHERE name = ?))`,
    ),
    supersedeAll: p(
      "UPDATE families SET current = 0, replaced_by = ?, replaced_at = ? WHERE group_id = ? AND current = 1",
    ),
    supersedeOne: p(
      "UPDATE families SET current = 0, replaced_by = ?, replaced_at = ? WHERE group_id = ? AND current = 1 AND name_id = (SELECT id FROM metric_names WHERE name = ?)",
    ),
    // Without history a replaced version's series go with it: the next
    // version made its own (Store.#previousSeries).
    dropCurrentSeries: p(
      `DELETE FROM series_keys WHERE id IN (SELECT s.series_id FROM families f
         JOIN samples s ON s.family_id = f.id WHERE f.group_id = ? AND f.current = 1)`,
    ),
    dropCurrentSeriesOne: p(
      `DELETE FROM series_keys WHERE id IN (SELECT s.series_id FROM families f
         JOIN samples s ON s.family_id = f.id
         WHERE f.group_id = ? AND f.current = 1
         AND f.name_id = (SELECT id FROM metric_names WHERE name = ?))`,
    ),
    dropCurrentSamples: p(
      `DELETE FROM samples WHERE family_id IN
         (SELECT id FROM families WHERE group_id = ? AND current = 1)`,
    ),
    dropCurrentExtras: p(
      `DELETE FROM sample_extras WHERE family_id IN
         (SELECT id FROM families WHERE group_id = ? AND current = 1)`,
    ),
    dropCurrentExtrasOne: p(
      `DELETE FROM sample_extras WHERE family_id IN
         (SELECT id FROM families WHERE group_id = ? AND current = 1
           AND name_id = (SELECT id FROM metric_names WHERE name = ?))`,
    ),
    dropCurrentFamilies: p(
      "DELETE FROM families WHERE group_id = ? AND current = 1",
    ),
    dropCurrentSamplesOne: p(
      `DELETE FROM samples WHERE family_id IN
         (SELECT id FROM families WHERE group_id = ? AND current = 1
           AND name_id = (SELECT id FROM metric_names WHERE name = ?))`,
    ),
    dropCurrentFamiliesOne: p(
      "DELETE FROM families WHERE group_id = ? AND current = 1 AND name_id = (SELECT id FROM metric_names WHERE name = ?)",
    ),
    dropEarlierPushes: p(`DELETE FROM pushes WHERE id IN (${EARLIER_PUSHES})`),
    // The `requests` rows of the pushes a statement is about to remove,
    // and the removal of those no other push refers to: the push log's
    // request strings go with it.
    earlierPushRequests: arrays(p(
      `SELECT DISTINCT request_id FROM pushes WHERE id IN (${EARLIER_PUSHES})`,
    )),
    // The pushes retention removes next, with their requests rows: read
    // once, removed by id (prunePushesById).
    prunedPushes: arrays(p(
      `SELECT id, request_id FROM pushes WHERE id IN (${PRUNED_PUSHES})`,
    )),
    prunePushesById: p(
      "DELETE FROM pushes WHERE id IN (SELECT value FROM json_each(?))",
    ),
    dropRequests: p(
      `DELETE FROM requests WHERE id IN (SELECT value FROM json_each(?))
         AND NOT EXISTS (SELECT 1 FROM pushes p WHERE p.request_id = requests.id)`,
    ),
    setTtl: p("UPDATE groups SET ttl = ? WHERE id = ?"),
    // A series' rows are in consecutive versions of its family (schema 6):
    // its last one went when the version that replaced it lacks it.
    pruneSeries: p(
      `DELETE FROM series_keys WHERE id IN (SELECT s.series_id
         FROM (${PRUNED_FAMILIES}) f JOIN samples s ON s.family_id = f.id
         WHERE NOT EXISTS (SELECT 1 FROM families n JOIN samples t
           ON t.family_id = n.id AND t.series_id = s.series_id
           WHERE n.push_id = f.replaced_by AND n.group_id = f.group_id
             AND n.name_id = f.name_id))`,
    ),
    pruneSamples: p(
      `DELETE FROM samples WHERE family_id IN (SELECT id FROM (${PRUNED_FAMILIES}))`,
    ),
    pruneExtras: p(
      `DELETE FROM sample_extras WHERE family_id IN (SELECT id FROM (${PRUNED_FAMILIES}))`,
    ),
    // An aggregating group's contributions and residues go with the
    // family versions they belong to.
    pruneContributions: p(
      `DELETE FROM contributions WHERE family_id IN (SELECT id FROM (${PRUNED_FAMILIES}))`,
    ),
    pruneResidues: p(
      `DELETE FROM sum_residues WHERE family_id IN (SELECT id FROM (${PRUNED_FAMILIES}))`,
    ),
    pruneFamilies: p(
      `DELETE FROM families WHERE id IN (SELECT id FROM (${PRUNED_FAMILIES}))`,
    ),
    // A live group keeps its last push-log row, whatever its age
    // (docs/database.md, History and retention): the answer to "when did it
    // last try?".
    pruneGroups: p(
      `DELETE FROM groups WHERE id IN (SELECT g.id FROM groups g WHERE g.deleted_at < ?
         AND NOT EXISTS (SELECT 1 FROM pushes p WHERE p.group_id = g.id)
         AND NOT EXISTS (SELECT 1 FROM families f WHERE f.group_id = g.id) LIMIT ?)`,
    ),
    setRendered: p(
      "INSERT OR REPLACE INTO rendered (rendered, family_id) VALUES (?, ?)",
    ),
    // What a series' labels hold as char(1) (seriesInsert): the group's
    // labels as `groups.labels` writes them, between its braces.
    groupLabelsText: p(
      "SELECT substr(labels, 2, length(labels) - 2) AS text FROM groups WHERE id = ?",
    ),
    nameId: p("SELECT id FROM metric_names WHERE name = ?"),
    loadGroups: p(
      "SELECT id, labels, push_time, push_failure_time, ttl, created_at, aggregating FROM groups WHERE deleted_at IS NULL ORDER BY id",
    ),
    loadFamiliesSlice: p(`${LOAD_FAMILIES} ORDER BY f.id LIMIT ?`),
    pageCount: p("PRAGMA page_count"),
    freelistCount: p("PRAGMA freelist_count"),
    pageSize: p("PRAGMA page_size"),
    // In key order, which is the family's order (Store.#seriesIds).
    familySamples: p(
      `SELECT s.family_id, ${ORDINAL} AS series, ${METRIC} AS name, ${LABELS} AS labels,
         s.value, x.value_text, x.native, x.exemplar, x.created
       FROM samples s ${SERIES_JOINS}
       LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id
       WHERE s.family_id = ? ORDER BY s.series_id`,
    ),
    // Each row's series id, suffix, labels and the series row's ordinal.
    familySeries: arrays(p(
      `SELECT s.series_id, ${SUFFIX}, ${LABELS}, se.series FROM samples s ${SERIES_JOINS}
         WHERE s.family_id = ?`,
    )),
    familySamplesAfter: p(
      `SELECT s.series_id AS id, s.family_id, ${ORDINAL} AS series, ${METRIC} AS name,
         ${LABELS} AS labels, s.value, x.value_text, x.native, x.exemplar, x.created
       FROM samples s ${SERIES_JOINS}
       LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id
       WHERE s.family_id = ? AND s.series_id > ? ORDER BY s.series_id LIMIT ?`,
    ),
    // Every row of several small families (a JSON array of families.id) in
    // one query: /api/v1/metrics of many small groups (family_pages.ts).
    // As arrays, in the order of FamilySampleArray (family_pages.ts).
    familiesSamples: arrays(p(
      `SELECT s.series_id, s.family_id, ${ORDINAL}, ${METRIC},
         ${LABELS}, s.value, x.value_text, x.native, x.exemplar, x.created
       FROM json_each(?) f CROSS JOIN samples s ON s.family_id = f.value
       ${SERIES_JOINS}
       LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id
       ORDER BY s.family_id, s.series_id`,
    )),
  };
}

/** Rows as arrays: no object per row where many rows are read per push. */
export function arrays(statement: StatementSync): StatementSync {
  // Deno implements it; its node:sqlite types do not declare it yet.
  (statement as StatementSync & {
    setReturnArrays(enabled: boolean): void;
  }).setReturnArrays(true);
  return statement;
}

/** Rows per multi-row INSERT into `series_keys` (5 parameters each). */
export const SERIES_PER_INSERT = 200;
