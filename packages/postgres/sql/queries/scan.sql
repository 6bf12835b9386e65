-- scan: $1 staleAfter, $2 now, $3 maxRecords (null = unlimited), $4 maxAge (null = unlimited).
-- Orphans: held jobs whose fields contradict their status, or ids past the allocated range.
SELECT
  (SELECT coalesce(json_agg(j.id ORDER BY j.id), '[]') FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
    WHERE j.status = 'picked' AND j.heartbeat < $2::bigint - $1::bigint)::text AS stale,
  (SELECT coalesce(json_agg(j.id ORDER BY j.id), '[]') FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
    WHERE (j.status = 'picked' AND j.queue_manager_id IS NULL)
       OR (j.status <> 'picked' AND j.queue_manager_id IS NOT NULL)
       OR j.id > (SELECT s.last_job_id FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s))::text AS orphans,
  -- Events beyond the retention (a log row holds one statement's events, migration 5).
  (SELECT coalesce(sum(CASE WHEN $4::bigint IS NOT NULL AND l.at < $2::bigint - $4::bigint THEN cardinality(l.job_id)
                            ELSE greatest(0, least(cardinality(l.job_id), c.seq - (l.seq - cardinality(l.job_id)))) END), 0)
     FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l,
          (SELECT coalesce((SELECT b.seq - ($3::bigint - (b.acc - b.n))
                              FROM (SELECT l2.seq, cardinality(l2.job_id)::bigint AS n,
                                           sum(cardinality(l2.job_id)) OVER (ORDER BY l2.seq DESC) AS acc
                                      FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l2 ORDER BY l2.seq DESC) b
                             WHERE b.acc > $3::bigint
                             LIMIT 1), 0) AS seq) c
    WHERE ($4::bigint IS NOT NULL AND l.at < $2::bigint - $4::bigint) OR l.seq - cardinality(l.job_id) < c.seq
  ) AS beyond;
