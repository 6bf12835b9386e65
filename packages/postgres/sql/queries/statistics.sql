-- statistics: $1 since, $2 limit.
SELECT s.entrypoint, s.status, s.priority, s.second, s.count
  FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics s
 WHERE s.second >= $1::bigint
 ORDER BY s.second DESC, s.entrypoint COLLATE "C", s.status COLLATE "C", s.priority DESC
 LIMIT $2::bigint;
