-- dequeue as one server-side step, called by one statement (queries/dequeue.sql), so it works
-- over one-shot HTTP queries. It is a function rather than a bare CTE statement because the
-- gates are sequential (tokens and concurrency slots are spent candidate by candidate, maxOwned
-- stops the walk) and because it must read the picked counts AFTER taking the state row lock:
-- a single READ COMMITTED statement keeps the snapshot it started with, while each statement
-- of a volatile function takes a fresh one. Candidates are still taken with FOR UPDATE SKIP
-- LOCKED, per entrypoint along the dequeue index.
CREATE FUNCTION :TIDEQ_SCHEMA.:TIDEQ_PREFIXdequeue(
  p_now bigint,
  p_batch integer,
  p_manager text,
  p_max_owned bigint,
  p_eps text[],
  p_conc bigint[],
  p_rps double precision[],
  p_retry bigint[],
  p_max_attempts bigint[],
  p_channel text
) RETURNS SETOF :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs
LANGUAGE plpgsql VOLATILE AS $dequeue$
DECLARE
  v_seq bigint;
  v_first_seq bigint;
  v_n bigint;
  v_second bigint := floor(p_now / 1000.0)::bigint * 1000;
  v_owned bigint;
  v_tokens double precision[];
  v_picked bigint[];
  v_ids bigint[] := '{}';
  v_reach_priority integer;
  v_reach_id bigint;
  v_stale boolean;
  v_adds boolean;
  i integer;
  c record;
BEGIN
  -- Serialize with every other log writer (held until commit: seq order = commit order).
  SELECT s.last_seq INTO v_seq FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s FOR UPDATE;
  v_first_seq := v_seq;

  -- 1. Token buckets: refill (IEEE double, the exact form of the reference), create missing ones full.
  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXbuckets b
     SET tokens = least(greatest(1::double precision, t.rps / 10),
                        b.tokens + greatest(0, p_now - b.updated_at)::double precision * t.rps / 1000),
         updated_at = p_now
    FROM unnest(p_eps, p_rps) AS t(e, rps)
   WHERE t.rps > 0 AND b.entrypoint = t.e;
  INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXbuckets (entrypoint, tokens, updated_at)
  SELECT t.e, greatest(1::double precision, t.rps / 10), p_now
    FROM unnest(p_eps, p_rps) AS t(e, rps)
   WHERE t.rps > 0
  ON CONFLICT (entrypoint) DO NOTHING;
  SELECT array_agg(b.tokens ORDER BY t.idx) INTO v_tokens
    FROM unnest(p_eps) WITH ORDINALITY AS t(e, idx)
    LEFT JOIN :TIDEQ_SCHEMA.:TIDEQ_PREFIXbuckets b ON b.entrypoint = t.e;

  -- 2. Stale picked jobs that used up their attempts become dead letters, in id order.
  WITH lim AS (
    SELECT t.e, t.rt, t.ma FROM unnest(p_eps, p_retry, p_max_attempts) AS t(e, rt, ma)
     WHERE t.rt > 0 AND t.ma > 0
  ), dead AS (
    SELECT j.id, lim.rt
      FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j JOIN lim ON j.entrypoint = lim.e
     WHERE j.status = 'picked' AND j.heartbeat < p_now - lim.rt AND j.attempts >= lim.ma
       FOR UPDATE OF j SKIP LOCKED
  ), upd AS (
    UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
       SET status = 'failed', queue_manager_id = NULL, updated = p_now,
           last_error = to_json('worker lost: no heartbeat for ' || dead.rt || ' ms after ' || j.attempts || ' attempts')::text
      FROM dead
     WHERE j.id = dead.id
    RETURNING j.id, j.entrypoint, j.priority, j.last_error
  ), num AS (
    SELECT upd.*, row_number() OVER (ORDER BY upd.id) AS rn FROM upd
  ), lg AS (
    INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, kind, job_id, entrypoint, priority, status, at, queue_manager_id, error)
    SELECT v_seq + num.rn, 'failed', num.id, num.entrypoint, num.priority, 'failed', p_now, NULL, num.last_error FROM num
  ), st AS (
    INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics AS s (entrypoint, status, priority, second, count)
    SELECT upd.entrypoint, 'failed', upd.priority, v_second, count(*) FROM upd GROUP BY upd.entrypoint, upd.priority
    ON CONFLICT (entrypoint, status, priority, second) DO UPDATE SET count = s.count + EXCLUDED.count
  )
  SELECT count(*) INTO v_n FROM num;
  v_seq := v_seq + v_n;

  -- 3. Gate state after step 2: the caller's picked jobs, and each limited entrypoint's.
  SELECT count(*) INTO v_owned FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
   WHERE j.status = 'picked' AND j.queue_manager_id = p_manager;
  SELECT array_agg(x.n ORDER BY t.idx) INTO v_picked
    FROM unnest(p_eps, p_conc) WITH ORDINALITY AS t(e, lim, idx)
    CROSS JOIN LATERAL (
      SELECT count(*) AS n FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
       WHERE t.lim > 0 AND j.entrypoint = t.e AND j.status = 'picked'
    ) x;

  -- Walk the candidates in pick order. Per entrypoint, the picks are a prefix of its queued
  -- and of its stale candidates, so the first p_batch of each list suffice.
  FOR c IN
    SELECT q.id, q.priority, q.status, q.queue_manager_id, t.idx::integer AS idx
      FROM unnest(p_eps) WITH ORDINALITY AS t(e, idx)
     CROSS JOIN LATERAL (
       SELECT j.id, j.priority, j.status, j.queue_manager_id FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
        WHERE j.entrypoint = t.e AND j.status = 'queued' AND j.execute_after <= p_now
        ORDER BY j.priority DESC, j.id
        LIMIT p_batch
          FOR UPDATE SKIP LOCKED
     ) q
    UNION ALL
    SELECT s.id, s.priority, s.status, s.queue_manager_id, t.idx::integer AS idx
      FROM unnest(p_eps, p_retry) WITH ORDINALITY AS t(e, rt, idx)
     CROSS JOIN LATERAL (
       SELECT j.id, j.priority, j.status, j.queue_manager_id FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
        WHERE t.rt > 0 AND j.entrypoint = t.e AND j.status = 'picked' AND j.heartbeat < p_now - t.rt
        ORDER BY j.priority DESC, j.id
        LIMIT p_batch
          FOR UPDATE SKIP LOCKED
     ) s
    ORDER BY 2 DESC, 1
  LOOP
    v_stale := c.status = 'picked';
    v_adds := NOT (v_stale AND c.queue_manager_id = p_manager);
    IF v_owned >= p_max_owned THEN
      -- maxOwned: the first candidate that would add to the caller's jobs stops the walk. Only
      -- the caller's own stale jobs pass; one is still blocked by an unfetched candidate that
      -- would add and lies between the point the limit was reached and it.
      EXIT WHEN v_adds;
      EXIT WHEN EXISTS (
        SELECT 1 FROM unnest(p_eps, p_retry) AS t(e, rt)
          JOIN :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j ON j.entrypoint = t.e
         WHERE ((j.status = 'queued' AND j.execute_after <= p_now)
             OR (t.rt > 0 AND j.status = 'picked' AND j.heartbeat < p_now - t.rt
                 AND j.queue_manager_id IS DISTINCT FROM p_manager))
           AND (j.priority > c.priority OR (j.priority = c.priority AND j.id < c.id))
           AND (v_reach_id IS NULL OR j.priority < v_reach_priority
                OR (j.priority = v_reach_priority AND j.id > v_reach_id))
      );
    END IF;
    i := c.idx;
    -- rate: an empty bucket skips the candidate
    CONTINUE WHEN p_rps[i] > 0 AND v_tokens[i] < 1;
    -- concurrency: a fresh pick needs a free slot; a stale re-pick moves a counted one
    CONTINUE WHEN NOT v_stale AND p_conc[i] > 0 AND v_picked[i] >= p_conc[i];
    v_ids := v_ids || c.id;
    IF v_adds THEN
      v_owned := v_owned + 1;
      IF v_owned >= p_max_owned AND v_reach_id IS NULL THEN
        v_reach_priority := c.priority;
        v_reach_id := c.id;
      END IF;
    END IF;
    IF p_rps[i] > 0 THEN
      v_tokens[i] := v_tokens[i] - 1;
    END IF;
    IF NOT v_stale THEN
      v_picked[i] := v_picked[i] + 1;
    END IF;
    EXIT WHEN cardinality(v_ids) >= p_batch;
  END LOOP;

  IF cardinality(v_ids) > 0 THEN
    UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXbuckets b SET tokens = v_tokens[t.idx]
      FROM unnest(p_eps, p_rps) WITH ORDINALITY AS t(e, rps, idx)
     WHERE t.rps > 0 AND b.entrypoint = t.e;
    RETURN QUERY
    WITH picked AS (
      UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
         SET status = 'picked', attempts = j.attempts + 1, heartbeat = p_now, updated = p_now,
             queue_manager_id = p_manager
        FROM unnest(v_ids) WITH ORDINALITY AS u(id, ord)
       WHERE j.id = u.id
      RETURNING j.*, u.ord
    ), lg AS (
      INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, kind, job_id, entrypoint, priority, status, at, queue_manager_id, error)
      SELECT v_seq + p.ord, 'picked', p.id, p.entrypoint, p.priority, 'picked', p_now, p_manager, NULL FROM picked p
    )
    SELECT p.id, p.entrypoint, p.payload, p.priority, p.execute_after, p.dedupe_key, p.headers, p.status,
           p.attempts, p.heartbeat, p.created, p.updated, p.queue_manager_id, p.last_error
      FROM picked p ORDER BY p.ord;
    v_seq := v_seq + cardinality(v_ids);
  END IF;

  IF v_seq > v_first_seq THEN
    UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate SET last_seq = v_seq;
    PERFORM pg_notify(p_channel, '');
  END IF;
  RETURN;
END
$dequeue$;
