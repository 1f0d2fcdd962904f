/**
 * The views operators query (docs/database.md), as each schema version
 * since 6 defines them: the same columns and answers over that version's
 * tables. Changed only by adding a version.
 * @module
 */

/** Every view, dropped and created again by a migration that changes tables. */
export const VIEWS = [
  "current_samples",
  "push_log",
  "sample_history",
  "group_status",
  "stale_groups",
  "group_sizes",
] as const;

/** `push_log`: the same in schemas 6 and 7. */
const PUSH_LOG_VIEW = `
  CREATE VIEW push_log AS
    SELECT p.id, strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS at, p.method,
           COALESCE(g.key, p.path) AS group_key, p.status, p.error, p.series,
           p.body_bytes, p.remote_addr, p.user_agent
    FROM pushes p LEFT JOIN groups g ON g.id = p.group_id;
`;

/** `group_status`, `stale_groups`, `group_sizes`: the same in schemas 6 and 7. */
const GROUP_VIEWS = `
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
 * The views over schema 6: the same columns and answers as before. The
 * history of one series is found from its group (by key), its series row
 * (series_group), the group's pushes (pushes_group_time), their families
 * (families_push) and the samples' key, so `WHERE metric = ? AND
 * group_key = ?` reads only that series' rows. CROSS JOIN fixes that order:
 * without statistics the planner would read every sample of each family
 * before it meets the series (docs/performance.md shows the plan).
 */
export const VIEWS_6 = `
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

${PUSH_LOG_VIEW}
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

${GROUP_VIEWS}`;

/**
 * The views over schema 7: those of schema 6, with a family's type from
 * its `family_meta` row and a sample's extras found by its series.
 */
export const VIEWS_7 = `
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

${PUSH_LOG_VIEW}
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

${GROUP_VIEWS}`;
