-- log: $1 after seq, $2 limit.
SELECT l.* FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l
 WHERE l.seq > $1::bigint
 ORDER BY l.seq
 LIMIT $2::bigint;
