-- status (CLI): the newest failed attempts and dead letters from the log; $1 limit.
SELECT l.seq, l.kind, l.job_id, l.entrypoint, l.status, l.at, l.error
  FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l
 WHERE l.kind IN ('failed', 'retried') OR l.status = 'exception'
 ORDER BY l.seq DESC
 LIMIT $1::bigint;
