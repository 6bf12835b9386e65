-- requeue: $1 ids, $2 now, $3 channel. Failed jobs back to queued; if a dedupe key would be
-- held twice nothing changes and the conflicting keys come back (DUPLICATE_JOB).
WITH input AS (
  SELECT t.id, t.ord FROM unnest($1::bigint[]) WITH ORDINALITY AS t(id, ord)
), firsts AS (
  SELECT DISTINCT ON (i.id) i.* FROM input i ORDER BY i.id, i.ord
), target AS (
  SELECT j.id, f.ord, j.entrypoint, j.priority, j.dedupe_key
    FROM firsts f JOIN :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j ON j.id = f.id
   WHERE j.status = 'failed'
     FOR UPDATE OF j
), conflicts AS (
  SELECT t.dedupe_key, min(t.ord) AS ord FROM target t
   WHERE t.dedupe_key IS NOT NULL AND (
         EXISTS (SELECT 1 FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs h
                  WHERE h.dedupe_key = t.dedupe_key AND h.status IN ('queued', 'picked'))
      OR EXISTS (SELECT 1 FROM target t2 WHERE t2.dedupe_key = t.dedupe_key AND t2.id <> t.id))
   GROUP BY t.dedupe_key
), done AS (
  SELECT t.*, row_number() OVER (ORDER BY t.ord) AS rn FROM target t
   WHERE NOT EXISTS (SELECT 1 FROM conflicts)
), st AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s
     SET last_seq = s.last_seq + (SELECT count(*) FROM done)
   WHERE EXISTS (SELECT 1 FROM done)
  RETURNING s.last_seq - (SELECT count(*) FROM done) AS base_seq
), upd AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
     SET status = 'queued', attempts = 0, execute_after = $2::bigint, updated = $2::bigint, queue_manager_id = NULL
    FROM done d, st
   WHERE j.id = d.id
), lg AS (
  -- One log row for the statement's events (migration 5).
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, at, kind, job_id, entrypoint, priority, status, queue_manager_id, error)
  SELECT st.base_seq + count(*), $2::bigint, '{requeued}', array_agg(d.id ORDER BY d.rn),
         CASE WHEN min(d.entrypoint COLLATE "C") = max(d.entrypoint COLLATE "C") THEN ARRAY[min(d.entrypoint)]
              ELSE array_agg(d.entrypoint ORDER BY d.rn) END,
         CASE WHEN min(d.priority) = max(d.priority) THEN ARRAY[min(d.priority)]
              ELSE array_agg(d.priority ORDER BY d.rn) END,
         '{queued}',
         NULL,
         NULL
    FROM done d, st
   GROUP BY st.base_seq
)
SELECT i.ord, d.id IS NOT NULL AND st.base_seq IS NOT NULL AS ok,
       (SELECT json_agg(c.dedupe_key ORDER BY c.ord) FROM conflicts c)::text AS conflicts,
       (SELECT count(pg_notify($3::text, '')) FROM st) AS notified
  FROM input i
  LEFT JOIN done d ON d.ord = i.ord
  LEFT JOIN st ON true
 ORDER BY i.ord;
