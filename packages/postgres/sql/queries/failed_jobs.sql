-- failedJobs: $1 after id, $2 limit.
SELECT j.* FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
 WHERE j.status = 'failed' AND j.id > $1::bigint
 ORDER BY j.id
 LIMIT $2::bigint;
