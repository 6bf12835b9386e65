-- recover: $1 staleAfter (ms), $2 now, $3 channel. Stale picked jobs of any entrypoint back to
-- queued (attempts kept), in id order; returns their ids.
WITH target AS (
  SELECT j.id, j.entrypoint, j.priority
    FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
   WHERE j.status = 'picked' AND j.heartbeat < $2::bigint - $1::bigint
     FOR UPDATE OF j SKIP LOCKED
), done AS (
  SELECT t.*, row_number() OVER (ORDER BY t.id) AS rn FROM target t
), st AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s
     SET last_seq = s.last_seq + (SELECT count(*) FROM done)
   WHERE EXISTS (SELECT 1 FROM done)
  RETURNING s.last_seq - (SELECT count(*) FROM done) AS base_seq
), upd AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
     SET status = 'queued', queue_manager_id = NULL, updated = $2::bigint
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
SELECT d.id, (SELECT count(pg_notify($3::text, '')) FROM st) AS notified
  FROM done d, st
 ORDER BY d.id;
