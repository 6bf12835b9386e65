-- enqueue: $1 entrypoints, $2 payload lengths in bytes (null = no payload), $3 priorities,
-- $4 executeAfter (null = now), $5 dedupe keys (JSON string literals or null), $6 headers (JSON
-- text or null), $7 now, $8 skip conflicts, $9 notify channel, $10 the payloads' bytes back to back
-- (one binary bytea: no per-payload text encoding). One row per input position, in input order.
WITH input AS (
  SELECT t.ord, t.e, t.pl, t.pr, t.ea, t.dk, t.h,
         sum(coalesce(t.pl, 0)) OVER (ORDER BY t.ord) - coalesce(t.pl, 0) AS po
    FROM unnest($1::text[], $2::integer[], $3::integer[], $4::bigint[], $5::text[], $6::text[])
         WITH ORDINALITY AS t(e, pl, pr, ea, dk, h, ord)
), marked AS (
  SELECT i.*,
         i.dk IS NOT NULL AND (
           EXISTS (SELECT 1 FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
                    WHERE j.dedupe_key = i.dk AND j.status IN ('queued', 'picked'))
           OR row_number() OVER (PARTITION BY i.dk ORDER BY i.ord) > 1
         ) AS conflict
    FROM input i
), go AS (
  -- 'raise': any conflict stores nothing
  SELECT $8::boolean OR NOT EXISTS (SELECT 1 FROM marked WHERE conflict) AS ok
), keep AS (
  SELECT m.*, row_number() OVER (ORDER BY m.ord) AS rn
    FROM marked m, go
   WHERE go.ok AND NOT m.conflict
), n AS (
  SELECT count(*) AS n FROM keep
), st AS (
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate
     SET last_job_id = last_job_id + n.n, last_seq = last_seq + n.n
    FROM n
   WHERE n.n > 0
  RETURNING last_job_id - n.n AS base_id, last_seq - n.n AS base_seq
), ins AS (
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs
         (id, entrypoint, payload, priority, execute_after, dedupe_key, headers, status, attempts,
          heartbeat, created, updated, queue_manager_id, last_error)
  SELECT st.base_id + k.rn, k.e, CASE WHEN k.pl IS NULL THEN NULL ELSE substring($10::bytea FROM (k.po + 1)::integer FOR k.pl) END, k.pr, coalesce(k.ea, $7::bigint), k.dk, k.h, 'queued', 0,
         $7::bigint, $7::bigint, $7::bigint, NULL, NULL
    FROM keep k, st
  RETURNING id
), lg AS (
  -- One log row for the statement's events (migration 5).
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, at, kind, job_id, entrypoint, priority, status, queue_manager_id, error)
  SELECT st.base_seq + count(*), $7::bigint, '{enqueued}', array_agg(st.base_id + k.rn ORDER BY k.rn),
         CASE WHEN min(k.e COLLATE "C") = max(k.e COLLATE "C") THEN ARRAY[min(k.e)]
              ELSE array_agg(k.e ORDER BY k.rn) END,
         CASE WHEN min(k.pr) = max(k.pr) THEN ARRAY[min(k.pr)]
              ELSE array_agg(k.pr ORDER BY k.rn) END,
         '{queued}', NULL, NULL
    FROM keep k, st
   GROUP BY st.base_seq
)
SELECT m.ord, st.base_id + k.rn AS id, m.conflict, m.dk,
       -- The NOTIFY carries '<first seq>:<last seq>:' and the new log rows when they fit (8000
       -- bytes), so listeners need not read them; else 'k["enqueued"]', their kind.
       (SELECT count(pg_notify($9::text, (st.base_seq + 1) || ':' || (st.base_seq + n.n) || ':' || coalesce(
                 (SELECT x.p FROM (SELECT json_agg(json_build_array(st.base_seq + k.rn, 'enqueued', st.base_id + k.rn, k.e, k.pr,
                                     'queued', $7::bigint, NULL, NULL) ORDER BY k.rn)::text AS p
                                     FROM keep k WHERE n.n <= 60) x
                   WHERE octet_length(x.p) < 7900),
                 'k["enqueued"]')))
          FROM st, n) AS notified
  FROM marked m
  LEFT JOIN keep k ON k.ord = m.ord
  LEFT JOIN st ON true
 ORDER BY m.ord;
