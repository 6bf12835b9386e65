-- dequeue: one statement; the step itself is the `dequeue` function (migration 000003).
SELECT * FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXdequeue(
  $1::bigint, $2::integer, $3::text, $4::bigint, $5::text[], $6::bigint[],
  $7::double precision[], $8::bigint[], $9::bigint[], $10::text
);
