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
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, kind, job_id, entrypoint, priority, status, at, queue_manager_id, error)
  SELECT st.base_seq + d.rn, 'retried', d.id, d.entrypoint, d.priority, 'queued', $4::bigint, d.queue_manager_id, d.error
    FROM done d, st
)
SELECT i.ord, d.id IS NOT NULL AND st.base_seq IS NOT NULL AS ok,
       (SELECT count(pg_notify($5::text, '')) FROM st) AS notified
  FROM input i
  LEFT JOIN done d ON d.ord = i.ord
  LEFT JOIN st ON true
 ORDER BY i.ord;
