-- compact: $1 now, $2 maxRecords (null = unlimited), $3 maxAge (null = unlimited). Drops log
-- rows beyond the retention and statistics buckets older than maxAge.
WITH cut AS (
  SELECT coalesce((SELECT l2.seq FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l2 ORDER BY l2.seq DESC OFFSET $2::bigint LIMIT 1), 0) AS seq
), dropped AS (
  DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l USING cut
   WHERE ($3::bigint IS NOT NULL AND l.at < $1::bigint - $3::bigint)
      OR ($2::bigint IS NOT NULL AND l.seq <= cut.seq)
  RETURNING 1
), stats AS (
  DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics s
   WHERE $3::bigint IS NOT NULL AND s.second < $1::bigint - $3::bigint
)
SELECT count(*) AS removed FROM dropped;
