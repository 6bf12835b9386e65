-- complete: $1 ids, $2 statuses, $3 errors (JSON string literals or null), $4 now, $5 channel,
-- $6 fence: a manager id (only jobs picked and held by it are finished) or null (any caller).
-- Jobs that leave are deleted without a separate row lock first (the DELETE re-checks its WHERE
-- on a row a concurrent statement changed); jobs completed as 'failed' stay as dead letters and
-- are locked first, so their log row names the manager that held them. The state row (the log
-- numbering, held until commit) is taken last: its WHERE reads the other writes' counts, which
-- makes them run before it.
WITH input AS (
  SELECT t.id, t.status, t.error, t.ord
    FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS t(id, status, error, ord)
), firsts AS (
  SELECT DISTINCT ON (i.id) i.* FROM input i ORDER BY i.id, i.ord
), failing AS (
  SELECT j.id, f.status AS new_status, f.error, f.ord, j.entrypoint, j.priority, j.queue_manager_id
    FROM firsts f JOIN :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j ON j.id = f.id
   WHERE f.status = 'failed' AND j.status IN ('queued', 'picked')
     AND ($6::text IS NULL OR (j.status = 'picked' AND j.queue_manager_id = $6::text))
     FOR UPDATE OF j
), del AS (
  DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j USING firsts f
   WHERE j.id = f.id AND f.status <> 'failed' AND j.status IN ('queued', 'picked')
     AND ($6::text IS NULL OR (j.status = 'picked' AND j.queue_manager_id = $6::text))
  RETURNING j.id, f.status AS new_status, f.error, f.ord, j.entrypoint, j.priority, j.queue_manager_id
), upd AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
     SET status = 'failed', last_error = d.error, queue_manager_id = NULL, updated = $4::bigint
    FROM failing d
   WHERE j.id = d.id
  RETURNING j.id
), done AS (
  SELECT x.*, row_number() OVER (ORDER BY x.ord) AS rn
    FROM (SELECT * FROM del UNION ALL SELECT * FROM failing) x
), fin AS (
  -- One `finished` row for the jobs this statement finished (migration 5).
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished (lo, hi, ids, status)
  SELECT min(d.id), max(d.id), array_agg(d.id ORDER BY d.rn), CASE WHEN min(d.new_status COLLATE "C") = max(d.new_status COLLATE "C") THEN ARRAY[min(d.new_status)]
              ELSE array_agg(d.new_status ORDER BY d.rn) END
    FROM done d WHERE d.new_status <> 'failed'
  HAVING count(*) > 0
  RETURNING lo
), stats AS (
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics AS s (entrypoint, status, priority, second, count)
  SELECT d.entrypoint, d.new_status, d.priority, floor($4::bigint / 1000.0)::bigint * 1000, count(*)
    FROM done d
   GROUP BY d.entrypoint, d.new_status, d.priority
  ON CONFLICT (entrypoint, status, priority, second) DO UPDATE SET count = s.count + EXCLUDED.count
  RETURNING 1
), st AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s
     SET last_seq = s.last_seq + (SELECT count(*) FROM done)
   WHERE EXISTS (SELECT 1 FROM done)
     AND (SELECT count(*) FROM del) + (SELECT count(*) FROM upd) + (SELECT count(*) FROM fin)
         + (SELECT count(*) FROM stats) >= 0
  RETURNING s.last_seq - (SELECT count(*) FROM done) AS base_seq
), lg AS (
  -- One log row for the statement's events (migration 5).
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, at, kind, job_id, entrypoint, priority, status, queue_manager_id, error)
  SELECT st.base_seq + count(*), $4::bigint, CASE WHEN min(CASE d.new_status WHEN 'canceled' THEN 'cancelled' WHEN 'failed' THEN 'failed' ELSE 'completed' END COLLATE "C") = max(CASE d.new_status WHEN 'canceled' THEN 'cancelled' WHEN 'failed' THEN 'failed' ELSE 'completed' END COLLATE "C") THEN ARRAY[min(CASE d.new_status WHEN 'canceled' THEN 'cancelled' WHEN 'failed' THEN 'failed' ELSE 'completed' END)]
              ELSE array_agg(CASE d.new_status WHEN 'canceled' THEN 'cancelled' WHEN 'failed' THEN 'failed' ELSE 'completed' END ORDER BY d.rn) END,
         array_agg(d.id ORDER BY d.rn),
         CASE WHEN min(d.entrypoint COLLATE "C") = max(d.entrypoint COLLATE "C") THEN ARRAY[min(d.entrypoint)]
              ELSE array_agg(d.entrypoint ORDER BY d.rn) END,
         CASE WHEN min(d.priority) = max(d.priority) THEN ARRAY[min(d.priority)]
              ELSE array_agg(d.priority ORDER BY d.rn) END,
         CASE WHEN min(d.new_status COLLATE "C") = max(d.new_status COLLATE "C") THEN ARRAY[min(d.new_status)]
              ELSE array_agg(d.new_status ORDER BY d.rn) END,
         CASE WHEN count(d.queue_manager_id) = 0 THEN NULL
              WHEN count(d.queue_manager_id) = count(*) AND min(d.queue_manager_id COLLATE "C") = max(d.queue_manager_id COLLATE "C") THEN ARRAY[min(d.queue_manager_id)]
              ELSE array_agg(d.queue_manager_id ORDER BY d.rn) END,
         CASE WHEN count(d.error) = 0 THEN NULL
              WHEN count(d.error) = count(*) AND min(d.error COLLATE "C") = max(d.error COLLATE "C") THEN ARRAY[min(d.error)]
              ELSE array_agg(d.error ORDER BY d.rn) END
    FROM done d, st
   GROUP BY st.base_seq
)
SELECT i.ord, d.id IS NOT NULL AND st.base_seq IS NOT NULL AS ok,
       -- The NOTIFY carries '<first seq>:<last seq>:' and the new log rows when they fit (8000
       -- bytes), so listeners need not read them; else 'k' and the JSON list of their kinds.
       (SELECT count(pg_notify($5::text, (st.base_seq + 1) || ':' || (st.base_seq + c.n) || ':' || coalesce(
                 (SELECT x.p FROM (SELECT json_agg(json_build_array(st.base_seq + d.rn,
                    CASE d.new_status WHEN 'canceled' THEN 'cancelled' WHEN 'failed' THEN 'failed' ELSE 'completed' END,
                    d.id, d.entrypoint, d.priority, d.new_status, $4::bigint, d.queue_manager_id, d.error)
                    ORDER BY d.rn)::text AS p FROM done d WHERE c.n <= 60) x
                   WHERE octet_length(x.p) < 7900),
                 'k' || (SELECT json_agg(DISTINCT CASE d.new_status WHEN 'canceled' THEN 'cancelled' WHEN 'failed' THEN 'failed' ELSE 'completed' END)
                           FROM done d)::text)))
          FROM st, (SELECT count(*) AS n FROM done) c) AS notified
  FROM input i
  LEFT JOIN done d ON d.ord = i.ord
  LEFT JOIN st ON true
 ORDER BY i.ord;
