-- jobStatus: $1 ids. Held jobs from jobs, jobs that left from finished; null when never assigned.
SELECT u.ord, coalesce(j.status, f.status) AS status
  FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, ord)
  LEFT JOIN :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j ON j.id = u.id
  LEFT JOIN :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished f ON f.id = u.id
 ORDER BY u.ord;
