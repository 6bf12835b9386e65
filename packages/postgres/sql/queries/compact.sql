-- compact: $1 now, $2 maxRecords (null = unlimited), $3 maxAge (null = unlimited). Drops log
-- rows beyond the retention, statistics buckets older than maxAge, and the final statuses of
-- jobs older than every retained row's job and every held job (the memory stores' horizon):
-- without that, `finished` grew by one row per job forever (issue #11). jobStatus then answers
-- null for those ids.
-- One compaction per store at a time: several processes' managers (and `tideq compact`) compact
-- the same tables, and two overlapping DELETEs could deadlock; the loser skips (removed 0).
WITH lock AS (
  SELECT pg_try_advisory_xact_lock(':TIDEQ_SCHEMA.:TIDEQ_PREFIXlog'::regclass::oid::bigint) AS got
), cut AS (
  SELECT coalesce((SELECT l2.seq FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l2 ORDER BY l2.seq DESC OFFSET $2::bigint LIMIT 1), 0) AS seq
), dropped AS (
  DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l USING cut, lock
   WHERE lock.got
     AND (($3::bigint IS NOT NULL AND l.at < $1::bigint - $3::bigint)
      OR ($2::bigint IS NOT NULL AND l.seq <= cut.seq))
  RETURNING 1
), stats AS (
  DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics s USING lock
   WHERE lock.got AND $3::bigint IS NOT NULL AND s.second < $1::bigint - $3::bigint
), history AS (
  -- Every sub-statement sees the same snapshot: the retained rows are those `dropped` keeps.
  DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished f
   WHERE (SELECT count(*) FROM dropped) > 0
     AND f.id < least(
           (SELECT min(l.job_id) FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l, cut
             WHERE NOT (($3::bigint IS NOT NULL AND l.at < $1::bigint - $3::bigint)
                     OR ($2::bigint IS NOT NULL AND l.seq <= cut.seq))),
           (SELECT min(j.id) FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j),
           (SELECT st.last_job_id + 1 FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate st))
)
SELECT count(*) AS removed FROM dropped;
