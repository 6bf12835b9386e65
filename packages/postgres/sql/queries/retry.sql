-- retry: $1 ids, $2 executeAfter, $3 errors (JSON string literals or null), $4 now, $5 channel,
-- $6 fence: a manager id (only jobs held by it) or null (any caller).
WITH input AS (
  SELECT t.id, t.ea, t.error, t.ord
    FROM unnest($1::bigint[], $2::bigint[], $3::text[]) WITH ORDINALITY AS t(id, ea, error, ord)
), firsts AS (
  SELECT DISTINCT ON (i.id) i.* FROM input i ORDER BY i.id, i.ord
), target AS (
  SELECT j.id, f.ea, f.error, f.ord, j.entrypoint, j.priority, j.queue_manager_id
    FROM firsts f JOIN :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j ON j.id = f.id
   WHERE j.status = 'picked' AND ($6::text IS NULL OR j.queue_manager_id = $6::text)
     FOR UPDATE OF j
), done AS (
  SELECT t.*, row_number() OVER (ORDER BY t.ord) AS rn FROM target t
), st AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s
     SET last_seq = s.last_seq + (SELECT count(*) FROM done)
   WHERE EXISTS (SELECT 1 FROM done)
  RETURNING s.last_seq - (SELECT count(*) FROM done) AS base_seq
), upd AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
     SET status = 'queued', execute_after = d.ea, last_error = d.error, queue_manager_id = NULL,
         updated = $4::bigint
    FROM done d, st
   WHERE j.id = d.id
), lg AS (
  -- One log row for the statement's events (migration 5).
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, at, kind, job_id, entrypoint, priority, status, queue_manager_id, error)
  SELECT st.base_seq + count(*), $4::bigint, '{retried}', array_agg(d.id ORDER BY d.rn),
         CASE WHEN min(d.entrypoint COLLATE "C") = max(d.entrypoint COLLATE "C") THEN ARRAY[min(d.entrypoint)]
              ELSE array_agg(d.entrypoint ORDER BY d.rn) END,
         CASE WHEN min(d.priority) = max(d.priority) THEN ARRAY[min(d.priority)]
              ELSE array_agg(d.priority ORDER BY d.rn) END,
         '{queued}',
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
       (SELECT count(pg_notify($5::text, '')) FROM st) AS notified
  FROM input i
  LEFT JOIN done d ON d.ord = i.ord
  LEFT JOIN st ON true
 ORDER BY i.ord;
