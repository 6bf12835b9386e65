-- upsertSchedules: $1 names, $2 entrypoints, $3 expressions, $4 timezones, $5 nextRunAt.
-- Keeps lastRunAt and any claim of an existing schedule.
INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules AS s (name, entrypoint, expression, timezone, next_run_at)
SELECT t.name, t.e, t.x, t.tz, t.nr
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS t(name, e, x, tz, nr)
ON CONFLICT (name) DO UPDATE
   SET entrypoint = EXCLUDED.entrypoint, expression = EXCLUDED.expression,
       timezone = EXCLUDED.timezone, next_run_at = EXCLUDED.next_run_at;
