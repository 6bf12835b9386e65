-- The last committed log seq (subscribe without `after` starts there).
SELECT s.last_seq FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s;
