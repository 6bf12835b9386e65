-- The applied migration versions.
SELECT m.version FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXmigrations m ORDER BY m.version;
