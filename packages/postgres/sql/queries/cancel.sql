-- cancel: $1 ids, $2 now, $3 channel. Queued, picked and failed jobs leave as canceled.
WITH input AS (
  SELECT t.id, t.ord FROM unnest($1::bigint[]) WITH ORDINALITY AS t(id, ord)
), firsts AS (
  SELECT DISTINCT ON (i.id) i.* FROM input i ORDER BY i.id, i.ord
), target AS (
  SELECT j.id, f.ord, j.entrypoint, j.priority, j.status, j.queue_manager_id
    FROM firsts f JOIN :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j ON j.id = f.id
     FOR UPDATE OF j
), done AS (
  SELECT t.*, row_number() OVER (ORDER BY t.ord) AS rn FROM target t
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
  SELECT st.base_seq + count(*), $2::bigint, '{cancelled}', array_agg(d.id ORDER BY d.rn),
         CASE WHEN min(d.entrypoint COLLATE "C") = max(d.entrypoint COLLATE "C") THEN ARRAY[min(d.entrypoint)]
              ELSE array_agg(d.entrypoint ORDER BY d.rn) END,
         CASE WHEN min(d.priority) = max(d.priority) THEN ARRAY[min(d.priority)]
              ELSE array_agg(d.priority ORDER BY d.rn) END,
         '{canceled}',
         CASE WHEN count(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END) = 0 THEN NULL
              WHEN count(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END) = count(*) AND min(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END COLLATE "C") = max(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END COLLATE "C") THEN ARRAY[min(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END)]
              ELSE array_agg(CASE WHEN d.status = 'picked' THEN d.queue_manager_id END ORDER BY d.rn) END,
         NULL
    FROM done d, st
   GROUP BY st.base_seq
), fin AS (
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished (lo, hi, ids, status)
  SELECT min(d.id), max(d.id), array_agg(d.id ORDER BY d.rn), '{canceled}'
    FROM done d, st
  HAVING count(*) > 0
), stats AS (
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics AS s (entrypoint, status, priority, second, count)
  SELECT d.entrypoint, 'canceled', d.priority, floor($2::bigint / 1000.0)::bigint * 1000, count(*)
    FROM done d, st
   GROUP BY d.entrypoint, d.priority
  ON CONFLICT (entrypoint, status, priority, second) DO UPDATE SET count = s.count + EXCLUDED.count
)
SELECT i.ord, d.id IS NOT NULL AND st.base_seq IS NOT NULL AS ok,
       (SELECT count(pg_notify($3::text, '')) FROM st) AS notified
  FROM input i
  LEFT JOIN done d ON d.ord = i.ord
  LEFT JOIN st ON true
 ORDER BY i.ord;
