-- jobStatus: $1 ids. Held jobs from jobs, jobs that left from finished (one row per statement
-- that finished some, found by its [lo, hi] range); null when never assigned or compacted away.
SELECT u.ord, coalesce(j.status, (
         SELECT CASE WHEN cardinality(f.status) = 1 THEN f.status[1] ELSE f.status[array_position(f.ids, u.id)] END
           FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished f
          WHERE int8range(f.lo, f.hi, '[]') @> u.id AND u.id = ANY (f.ids)
          LIMIT 1)) AS status
  FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, ord)
  LEFT JOIN :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j ON j.id = u.id
 ORDER BY u.ord;
