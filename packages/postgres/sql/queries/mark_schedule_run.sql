-- markScheduleRun: $1 names, $2 claimers, $3 nextRunAt, $4 now. Per schedule, the first run
-- whose claimer still holds the claim applies; returns its position.
WITH input AS (
  SELECT u.name, u.claimer, u.nr, u.ord
    FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS u(name, claimer, nr, ord)
), hit AS (
  SELECT DISTINCT ON (s.name) s.name, i.claimer, i.nr, i.ord
    FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules s
    JOIN input i ON i.name = s.name AND i.claimer = s.claimed_by
   ORDER BY s.name, i.ord
)
UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules s
   SET last_run_at = $4::bigint, next_run_at = hit.nr, claimed_by = NULL, claimed_at = NULL
  FROM hit
 WHERE s.name = hit.name AND s.claimed_by = hit.claimer -- re-checked on the row's latest version
RETURNING hit.ord;
