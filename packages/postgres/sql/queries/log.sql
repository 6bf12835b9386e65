-- log: $1 after seq, $2 limit. A log row holds one statement's events (migration 5): expanded
-- here, from the first event after $1. Each row holds at least one event, so $2 rows suffice.
SELECT l.seq - cardinality(l.job_id) + o.o AS seq,
       CASE WHEN cardinality(l.kind) = 1 THEN l.kind[1] ELSE l.kind[o.o] END AS kind,
       l.job_id[o.o] AS job_id,
       CASE WHEN cardinality(l.entrypoint) = 1 THEN l.entrypoint[1] ELSE l.entrypoint[o.o] END AS entrypoint,
       CASE WHEN cardinality(l.priority) = 1 THEN l.priority[1] ELSE l.priority[o.o] END AS priority,
       CASE WHEN cardinality(l.status) = 1 THEN l.status[1] ELSE l.status[o.o] END AS status,
       l.at,
       CASE WHEN cardinality(l.queue_manager_id) = 1 THEN l.queue_manager_id[1] ELSE l.queue_manager_id[o.o] END AS queue_manager_id,
       CASE WHEN cardinality(l.error) = 1 THEN l.error[1] ELSE l.error[o.o] END AS error
  FROM (SELECT * FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l1
         WHERE l1.seq > $1::bigint
         ORDER BY l1.seq
         LIMIT $2::bigint) l
 CROSS JOIN LATERAL generate_series(
         greatest(1, $1::bigint - (l.seq - cardinality(l.job_id)) + 1)::integer, cardinality(l.job_id)) AS o(o)
 ORDER BY 1
 LIMIT $2::bigint;
