-- heartbeat: $1 ids, $2 now. No log row; returns the ids refreshed.
UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
   SET heartbeat = $2::bigint, updated = $2::bigint
 WHERE j.id = ANY ($1::bigint[]) AND j.status = 'picked'
RETURNING j.id;
