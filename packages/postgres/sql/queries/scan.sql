-- scan: $1 staleAfter, $2 now, $3 maxRecords (null = unlimited), $4 maxAge (null = unlimited).
-- Orphans: held jobs whose fields contradict their status, or ids past the allocated range.
SELECT
  (SELECT coalesce(json_agg(j.id ORDER BY j.id), '[]') FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
    WHERE j.status = 'picked' AND j.heartbeat < $2::bigint - $1::bigint)::text AS stale,
  (SELECT coalesce(json_agg(j.id ORDER BY j.id), '[]') FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
    WHERE (j.status = 'picked' AND j.queue_manager_id IS NULL)
       OR (j.status <> 'picked' AND j.queue_manager_id IS NOT NULL)
       OR j.id > (SELECT s.last_job_id FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s))::text AS orphans,
  (SELECT count(*) FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l
    WHERE ($4::bigint IS NOT NULL AND l.at < $2::bigint - $4::bigint)
       OR ($3::bigint IS NOT NULL AND l.seq <= coalesce(
             (SELECT l2.seq FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l2 ORDER BY l2.seq DESC OFFSET $3::bigint LIMIT 1), 0))
  ) AS beyond;
