/**
 * The views over schema 9 (docs/database.md): the same columns and answers
 * as schema 8's, over `series_keys`, `metric_names` and `requests`. Changed
 * only by adding a version.
 * @module
 */

/**
 * A series' metric (`n` its `metric_names` row, `se` its `series_keys`
 * row): the name and the suffix its code stands for.
 */
const METRIC = `n.name || CASE se.suffix WHEN 0 THEN '' WHEN 1 THEN '_sum'
  WHEN 2 THEN '_count' WHEN 3 THEN '_bucket' ELSE se.suffix END`;

/** A series' labels (`g` its group): char(1) stands for the group's. */
const LABELS =
  `replace(se.labels, char(1), substr(g.labels, 2, length(g.labels) - 2))`;

/** A sample's ordinal (`x` its `sample_extras` row, if any). */
const ORDINAL = `COALESCE(x.series, se.series)`;

/**
 * The views, and `series`, which shows the series as schema 8's table held
 * them. `sample_history` keeps schema 8's plan: the group by key, its series
 * (series_group) and their names, the group's pushes (pushes_group_time),
 * their families (families_push) and the samples' key, fixed by CROSS JOIN
 * (docs/performance.md shows the plan).
 */
export const VIEWS_9 = `
  CREATE VIEW series AS
    SELECT se.id, se.group_id, n.name AS family,
           CASE se.suffix WHEN 0 THEN '' WHEN 1 THEN '_sum' WHEN 2 THEN '_count'
             WHEN 3 THEN '_bucket' ELSE se.suffix END AS suffix,
           ${LABELS} AS labels
    FROM series_keys se
    JOIN metric_names n ON n.id = se.name_id
    JOIN groups g ON g.id = se.group_id;

  CREATE VIEW current_samples AS
    SELECT g.key AS group_key, n.name AS family, m.type, ${METRIC} AS metric,
           ${LABELS} AS labels, COALESCE(x.value_text, s.value) AS value,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at
    FROM families f
    JOIN samples s ON s.family_id = f.id
    JOIN series_keys se ON se.id = s.series_id
    JOIN metric_names n ON n.id = se.name_id
    JOIN groups g ON g.id = f.group_id
    JOIN pushes p ON p.id = f.push_id
    JOIN family_meta m ON m.id = f.meta_id
    LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id
    WHERE f.current = 1;

  CREATE VIEW push_log AS
    SELECT p.id, strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS at, p.method,
           COALESCE(g.key, r.path) AS group_key, p.status, p.error, p.series,
           p.body_bytes, r.remote_addr, r.user_agent
    FROM pushes p LEFT JOIN groups g ON g.id = p.group_id
    LEFT JOIN requests r ON r.id = p.request_id;

  CREATE VIEW sample_history AS
    SELECT ${METRIC} AS metric, ${LABELS} AS labels,
           COALESCE(x.value_text, s.value) AS value,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at, p.time,
           g.key AS group_key, f.current
    FROM groups g
    CROSS JOIN series_keys se ON se.group_id = g.id
    CROSS JOIN metric_names n ON n.id = se.name_id
    CROSS JOIN pushes p ON p.group_id = se.group_id
    JOIN families f ON f.push_id = p.id AND f.name_id = se.name_id AND f.group_id = se.group_id
    JOIN samples s ON s.family_id = f.id AND s.series_id = se.id
    LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id;

  CREATE VIEW group_status AS
    SELECT g.key AS group_key, g.job,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_time, 0), 'unixepoch') AS last_push,
           strftime('%Y-%m-%dT%H:%M:%fZ', NULLIF(g.push_failure_time, 0), 'unixepoch') AS last_failure,
           g.push_failure_time > g.push_time AS failing,
           (SELECT count(DISTINCT ${ORDINAL} || '/' || f.id) FROM families f
             JOIN samples s ON s.family_id = f.id
             JOIN series_keys se ON se.id = s.series_id
             LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id
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
           count(DISTINCT f.id || '/' || ${ORDINAL}) AS series, count(s.family_id) AS samples
    FROM groups g JOIN families f ON f.group_id = g.id AND f.current = 1
    LEFT JOIN samples s ON s.family_id = f.id
    LEFT JOIN series_keys se ON se.id = s.series_id
    LEFT JOIN sample_extras x ON x.family_id = s.family_id AND x.series_id = s.series_id
    WHERE g.deleted_at IS NULL GROUP BY g.id;

  CREATE VIEW aggregate_contributions AS
    SELECT p.id AS push_id,
           strftime('%Y-%m-%dT%H:%M:%fZ', p.time, 'unixepoch') AS pushed_at, p.time,
           g.key AS group_key, ${METRIC} AS metric, ${LABELS} AS labels,
           json_extract(d.value, '$[1]') AS value, json_extract(d.value, '$[2]') AS native,
           p.method, r.remote_addr, r.user_agent
    FROM contributions c
    JOIN families f ON f.id = c.family_id
    JOIN pushes p ON p.id = f.push_id
    LEFT JOIN requests r ON r.id = p.request_id
    JOIN groups g ON g.id = f.group_id
    JOIN json_each(c.deltas) d
    JOIN series_keys se ON se.id = json_extract(d.value, '$[0]')
    JOIN metric_names n ON n.id = se.name_id;
`;
