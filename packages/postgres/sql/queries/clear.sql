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
  -- One log row for the statement's events (migration 5).
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, at, kind, job_id, entrypoint, priority, status, queue_manager_id, error)
  SELECT st.base_seq + count(*), $2::bigint, '{completed}', array_agg(d.id ORDER BY d.rn),
         CASE WHEN min(d.entrypoint COLLATE "C") = max(d.entrypoint COLLATE "C") THEN ARRAY[min(d.entrypoint)]
              ELSE array_agg(d.entrypoint ORDER BY d.rn) END,
         CASE WHEN min(d.priority) = max(d.priority) THEN ARRAY[min(d.priority)]
              ELSE array_agg(d.priority ORDER BY d.rn) END,
         '{deleted}',
         CASE WHEN count(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END) = 0 THEN NULL
              WHEN count(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END) = count(*) AND min(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END COLLATE "C") = max(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END COLLATE "C") THEN ARRAY[min(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END)]
              ELSE array_agg(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END ORDER BY d.rn) END,
         NULL
    FROM done d, st
   GROUP BY st.base_seq
), fin AS (
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished (lo, hi, ids, status)
  SELECT min(d.id), max(d.id), array_agg(d.id ORDER BY d.rn), '{deleted}'
    FROM done d, st
  HAVING count(*) > 0
), stats AS (
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics AS s (entrypoint, status, priority, second, count)
  SELECT d.entrypoint, 'deleted', d.priority, floor($2::bigint / 1000.0)::bigint * 1000, count(*)
    FROM done d, st
   GROUP BY d.entrypoint, d.priority
  ON CONFLICT (entrypoint, status, priority, second) DO UPDATE SET count = s.count + EXCLUDED.count
)
SELECT (SELECT count(*) FROM done) AS cleared,
       (SELECT count(pg_notify($3::text, '')) FROM st) AS notified;
