-- uninstall: drop every tideq object of this schema/prefix, then the schema if nothing else is in it.
DO $uninstall$
BEGIN
  DROP FUNCTION IF EXISTS :TIDEQ_SCHEMA.:TIDEQ_PREFIXdequeue(bigint, integer, text, bigint, text[], bigint[], double precision[], bigint[], bigint[], text);
  DROP TABLE IF EXISTS :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs, :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished,
    :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog, :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics, :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules,
    :TIDEQ_SCHEMA.:TIDEQ_PREFIXbuckets, :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate, :TIDEQ_SCHEMA.:TIDEQ_PREFIXmigrations;
  IF ':TIDEQ_SCHEMA' <> '"public"' THEN
    BEGIN
      DROP SCHEMA IF EXISTS :TIDEQ_SCHEMA;
    EXCEPTION WHEN dependent_objects_still_exist THEN
      NULL; -- other tables live there: keep it
    END;
  END IF;
END
$uninstall$;
