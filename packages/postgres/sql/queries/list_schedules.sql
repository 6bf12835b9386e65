-- listSchedules (the caller sorts by UTF-16 order).
SELECT s.* FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules s ORDER BY s.name COLLATE "C";
