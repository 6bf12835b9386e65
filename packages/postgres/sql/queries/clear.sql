-- clear: $1 entrypoints (null = all), $2 now, $3 channel. Every held job leaves as deleted, in id order.
WITH target AS (
  SELECT j.id, j.entrypoint, j.priority, j.status, j.queue_manager_id
    FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
   WHERE $1::text[] IS NULL OR j.entrypoint = ANY ($1::text[])
     FOR UPDATE OF j
), done AS (
  SELECT t.*, row_number() OVER (ORDER BY t.id) AS rn FROM target t
), st AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s
     SET last_seq = s.last_seq + (SELECT count(*) FROM done)
   WHERE EXISTS (SELECT 1 FROM done)
  RETURNING s.last_seq - (SELECT count(*) FROM done) AS base_seq
), del AS (
  DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j USING done d, st WHERE j.id = d.id
), lg AS (
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, kind, job_id, entrypoint, priority, status, at, queue_manager_id, error)
  SELECT st.base_seq + d.rn, 'completed', d.id, d.entrypoint, d.priority, 'deleted', $2::bigint,
         CASE WHEN d.status = 'picked' THEN d.queue_manager_id END, NULL
    FROM done d, st
), fin AS (
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished (id, status)
  SELECT d.id, 'deleted' FROM done d, st
  ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status
), stats AS (
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics AS s (entrypoint, status, priority, second, count)
  SELECT d.entrypoint, 'deleted', d.priority, floor($2::bigint / 1000.0)::bigint * 1000, count(*)
    FROM done d, st
   GROUP BY d.entrypoint, d.priority
  ON CONFLICT (entrypoint, status, priority, second) DO UPDATE SET count = s.count + EXCLUDED.count
)
SELECT (SELECT count(*) FROM done) AS cleared,
       (SELECT count(pg_notify($3::text, '')) FROM st) AS notified;
