-- markScheduleRun: $1 names, $2 claimers, $3 nextRunAt, $4 now. Only where the claim is still
-- held by that claimer; returns the names updated.
UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules s
   SET last_run_at = $4::bigint, next_run_at = t.nr, claimed_by = NULL, claimed_at = NULL
  FROM (SELECT DISTINCT ON (u.name) u.* FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS u(name, claimer, nr, ord) ORDER BY u.name, u.ord) t
 WHERE s.name = t.name AND s.claimed_by = t.claimer
RETURNING s.name;
