-- heartbeat: $1 ids, $2 now, $3 fence: a manager id (only jobs held by it) or null (any caller).
-- No log row; returns the ids refreshed.
UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
   SET heartbeat = $2::bigint, updated = $2::bigint
 WHERE j.id = ANY ($1::bigint[]) AND j.status = 'picked'
   AND ($3::text IS NULL OR j.queue_manager_id = $3::text)
RETURNING j.id;
