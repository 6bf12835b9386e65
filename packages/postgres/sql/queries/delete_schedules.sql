-- deleteSchedules: $1 names; returns the names deleted.
DELETE FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules s WHERE s.name = ANY ($1::text[]) RETURNING s.name;
