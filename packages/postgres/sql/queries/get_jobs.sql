-- getJobs: $1 ids. The held jobs among them (the caller aligns by id).
SELECT j.* FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j WHERE j.id = ANY ($1::bigint[]);
