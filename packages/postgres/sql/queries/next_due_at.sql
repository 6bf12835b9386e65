-- nextDueAt: $1 entrypoints. Earliest executeAfter of their queued jobs.
SELECT min(j.execute_after) AS at
  FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
 WHERE j.status = 'queued' AND j.entrypoint = ANY ($1::text[]);
