-- compact: $1 now, $2 maxRecords (null = unlimited), $3 maxAge (null = unlimited). Drops log
-- events beyond the retention (whole rows, and the older events of a row that straddles the
-- maxRecords boundary: a log row holds one statement's events, migration 5), statistics buckets
-- older than maxAge, and the final statuses of jobs older than every retained event's job and
-- every held job (the memory stores' horizon): without that, `finished` grew forever (issue
-- #11). jobStatus then answers null for those ids.
-- One compaction per store at a time: several processes' managers (and `tideq compact`) compact
-- the same tables, and two overlapping DELETEs could deadlock; the loser skips (removed 0).
-- The lock is taken while the statement runs, after its snapshot: a compaction whose snapshot
-- predates another's commit can still get the lock once that one has committed. Its deletes then
-- skip the rows already gone, and the `cardinality = h.n` checks (re-evaluated on the newest
-- version of a row) stop it from trimming again a row the other one trimmed: without them it cut
-- the kept events of that row (seen in CI: 4 processes, 2,000 events, all but none kept).
WITH lock AS (
  SELECT pg_try_advisory_xact_lock(':TIDEQ_SCHEMA.:TIDEQ_PREFIXlog'::regclass::oid::bigint) AS got
), cut AS (
  -- Events with seq <= cut.seq are beyond maxRecords (the newest $2 events are kept).
  SELECT coalesce((SELECT b.seq - ($2::bigint - (b.acc - b.n))
                     FROM (SELECT l.seq, cardinality(l.job_id)::bigint AS n,
                                  sum(cardinality(l.job_id)) OVER (ORDER BY l.seq DESC) AS acc
                             FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l ORDER BY l.seq DESC) b
                    WHERE b.acc > $2::bigint
                    LIMIT 1), 0) AS seq
), hit AS (
  -- Rows that lose events; fi: the index of their first kept event (n + 1: the row goes).
  SELECT x.seq, x.n, x.fi FROM (
    SELECT l.seq, cardinality(l.job_id) AS n,
           CASE WHEN $3::bigint IS NOT NULL AND l.at < $1::bigint - $3::bigint THEN cardinality(l.job_id) + 1
                ELSE greatest(1, least(cardinality(l.job_id) + 1, cut.seq - (l.seq - cardinality(l.job_id)) + 1)) END AS fi
      FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l, cut
     WHERE ($3::bigint IS NOT NULL AND l.at < $1::bigint - $3::bigint)
        OR l.seq <= coalesce((SELECT min(l2.seq) FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l2 WHERE l2.seq > cut.seq), cut.seq)
  ) x
   WHERE x.fi > 1
), drop_rows AS (
  DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l USING hit h, lock
   WHERE lock.got AND l.seq = h.seq AND h.fi > h.n AND cardinality(l.job_id) = h.n
  RETURNING h.n AS removed
), trim_rows AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l
     SET kind = CASE WHEN cardinality(l.kind) = 1 THEN l.kind ELSE l.kind[h.fi:] END,
         job_id = l.job_id[h.fi:],
         entrypoint = CASE WHEN cardinality(l.entrypoint) = 1 THEN l.entrypoint ELSE l.entrypoint[h.fi:] END,
         priority = CASE WHEN cardinality(l.priority) = 1 THEN l.priority ELSE l.priority[h.fi:] END,
         status = CASE WHEN cardinality(l.status) = 1 THEN l.status ELSE l.status[h.fi:] END,
         queue_manager_id = CASE WHEN cardinality(l.queue_manager_id) = 1 THEN l.queue_manager_id
                                 ELSE l.queue_manager_id[h.fi:] END,
         error = CASE WHEN cardinality(l.error) = 1 THEN l.error ELSE l.error[h.fi:] END
    FROM hit h, lock
   WHERE lock.got AND l.seq = h.seq AND h.fi <= h.n AND cardinality(l.job_id) = h.n
  RETURNING h.fi - 1 AS removed
), removed AS (
  SELECT coalesce(sum(r.removed), 0) AS n
    FROM (SELECT d.removed FROM drop_rows d UNION ALL SELECT t.removed FROM trim_rows t) r
), stats AS (
  DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics s USING lock
   WHERE lock.got AND $3::bigint IS NOT NULL AND s.second < $1::bigint - $3::bigint
), horizon AS (
  -- Every sub-statement sees the same snapshot: the retained events are those `hit` keeps.
  SELECT least(
           (SELECT min(x.id) FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l
              LEFT JOIN hit h ON h.seq = l.seq
             CROSS JOIN LATERAL unnest(l.job_id[coalesce(h.fi, 1):]) AS x(id)),
           (SELECT min(j.id) FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j),
           (SELECT st.last_job_id + 1 FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate st)) AS id
   WHERE (SELECT r.n FROM removed r) > 0
), history AS (
  DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished f USING horizon
   WHERE f.hi < horizon.id
), history_trim AS (
  -- A statement's row that straddles the horizon keeps only its ids at or above it.
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished f
     SET (lo, ids, status) = (
           SELECT min(x.id), array_agg(x.id ORDER BY x.o),
                  CASE WHEN cardinality(f.status) = 1 THEN f.status ELSE array_agg(f.status[x.o] ORDER BY x.o) END
             FROM unnest(f.ids) WITH ORDINALITY AS x(id, o)
            WHERE x.id >= horizon.id)
    FROM horizon
   WHERE f.lo < horizon.id AND f.hi >= horizon.id
)
SELECT r.n AS removed FROM removed r;
