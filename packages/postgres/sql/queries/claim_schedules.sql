-- claimDueSchedules: $1 claimer, $2 staleAfter, $3 limit, $4 now. One claimer per due tick:
-- rows are locked SKIP LOCKED and re-checked, so a concurrent claimer skips them.
WITH due AS (
  SELECT s.name FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules s
   WHERE s.next_run_at <= $4::bigint
     AND (s.claimed_by IS NULL OR s.claimed_at < $4::bigint - $2::bigint)
   ORDER BY s.next_run_at, s.name COLLATE "C"
   LIMIT $3::bigint
     FOR UPDATE SKIP LOCKED
)
UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules s
   SET claimed_by = $1::text, claimed_at = $4::bigint
  FROM due
 WHERE s.name = due.name
RETURNING s.*;
