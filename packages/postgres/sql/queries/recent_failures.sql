-- status (CLI): the newest failed attempts and dead letters from the log; $1 limit.
SELECT e.seq, e.kind, e.job_id, e.entrypoint, e.status, e.at, e.error
  FROM (SELECT l.seq - cardinality(l.job_id) + o.o AS seq,
               CASE WHEN cardinality(l.kind) = 1 THEN l.kind[1] ELSE l.kind[o.o] END AS kind,
               l.job_id[o.o] AS job_id,
               CASE WHEN cardinality(l.entrypoint) = 1 THEN l.entrypoint[1] ELSE l.entrypoint[o.o] END AS entrypoint,
               CASE WHEN cardinality(l.status) = 1 THEN l.status[1] ELSE l.status[o.o] END AS status,
               l.at,
               CASE WHEN cardinality(l.error) = 1 THEN l.error[1] ELSE l.error[o.o] END AS error
          FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l
         CROSS JOIN LATERAL generate_series(1, cardinality(l.job_id)) AS o(o)
         WHERE l.kind && ARRAY['failed', 'retried'] OR l.status && ARRAY['exception']) e
 WHERE e.kind IN ('failed', 'retried') OR e.status = 'exception'
 ORDER BY e.seq DESC
 LIMIT $1::bigint;
