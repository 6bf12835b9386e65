-- tideq schema version 4: the NOTIFY of a dequeue always says which kinds its log rows hold.
-- Version 3 sent '<first>:<last>:' with an empty rest when the rows did not fit (more than 60),
-- so every subscriber (every QueueManager) read the log for rows it then dropped: at batch 500
-- that was 8 rows read per job. Now the rest is 'k["picked"]' (the kinds) when the rows do not
-- fit; the enqueue and complete statements do the same. Everything else is version 3's function.
CREATE OR REPLACE FUNCTION :TIDEQ_SCHEMA.:TIDEQ_PREFIXdequeue(
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
  v_gated boolean := 0 < ANY (p_rps) OR 0 < ANY (p_conc);
  v_seq bigint;
  v_first_seq bigint;
  v_n bigint;
  v_second bigint := floor(p_now / 1000.0)::bigint * 1000;
  v_owned bigint;
  v_tokens double precision[];
  v_picked bigint[];
  v_dead bigint[] := '{}';
  v_ids bigint[] := '{}';
  v_reach_priority integer;
  v_reach_id bigint;
  v_stale boolean;
  v_adds boolean;
  i integer;
  c record;
BEGIN
  -- Nothing to do: no bucket to refill (rate limits), no due queued job, no stale picked job.
  -- Return before taking any lock, so idle managers woken together do not queue up.
  IF NOT (0 < ANY (p_rps)) AND NOT EXISTS (
    SELECT 1 FROM unnest(p_eps, p_retry) AS t(e, rt)
     WHERE EXISTS (SELECT 1 FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
                    WHERE j.entrypoint = t.e AND j.status = 'queued' AND j.execute_after <= p_now)
        OR (t.rt > 0 AND EXISTS (SELECT 1 FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
                    WHERE j.entrypoint = t.e AND j.status = 'picked' AND j.heartbeat < p_now - t.rt))
  ) THEN
    RETURN;
  END IF;

  -- Concurrent dequeues of ONE manager take turns (maxOwned counts its picks, committed ones
  -- included: the statements below see them). Other managers are not held up.
  PERFORM pg_advisory_xact_lock(hashtextextended(':TIDEQ_SCHEMA.:TIDEQ_PREFIXdequeue/' || p_manager, 0));

  IF v_gated THEN
    -- Serialize with every other log writer (held until commit: seq order = commit order).
    SELECT s.last_seq INTO v_seq FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s FOR UPDATE;
  END IF;

  -- 1. Token buckets: refill (IEEE double, the exact form of the reference), create missing ones full.
  IF 0 < ANY (p_rps) THEN
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
  END IF;

  -- 2. Stale picked jobs that used up their attempts: locked now, failed below (their events
  -- come first); they count as gone for the gates and are never candidates.
  IF 0 < ANY (p_retry) AND 0 < ANY (p_max_attempts) THEN
    SELECT coalesce(array_agg(d.id), '{}') INTO v_dead FROM (
      SELECT j.id
        FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
        JOIN unnest(p_eps, p_retry, p_max_attempts) AS t(e, rt, ma) ON j.entrypoint = t.e
       WHERE t.rt > 0 AND t.ma > 0
         AND j.status = 'picked' AND j.heartbeat < p_now - t.rt AND j.attempts >= t.ma
         FOR UPDATE OF j SKIP LOCKED
    ) d;
  END IF;

  -- 3. Gate state: the caller's picked jobs, and each limited entrypoint's.
  SELECT count(*) INTO v_owned FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
   WHERE j.status = 'picked' AND j.queue_manager_id = p_manager AND NOT (j.id = ANY (v_dead));
  IF 0 < ANY (p_conc) THEN
    SELECT array_agg(x.n ORDER BY t.idx) INTO v_picked
      FROM unnest(p_eps, p_conc) WITH ORDINALITY AS t(e, lim, idx)
      CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
         WHERE t.lim > 0 AND j.entrypoint = t.e AND j.status = 'picked' AND NOT (j.id = ANY (v_dead))
      ) x;
  ELSE
    v_picked := array_fill(0::bigint, ARRAY[cardinality(p_eps)]);
  END IF;

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
          AND NOT (j.id = ANY (v_dead))
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
                 AND j.queue_manager_id IS DISTINCT FROM p_manager AND NOT (j.id = ANY (v_dead))))
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

  IF cardinality(v_dead) = 0 AND cardinality(v_ids) = 0 THEN
    RETURN; -- nothing written (buckets, if any, were refilled under the lock)
  END IF;

  IF cardinality(v_ids) > 0 THEN
    -- The picks are written before the state row is locked (their rows are ours already, by
    -- FOR UPDATE SKIP LOCKED), so the section that serializes log writers is only the log rows.
    IF 0 < ANY (p_rps) THEN
      UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXbuckets b SET tokens = v_tokens[t.idx]
        FROM unnest(p_eps, p_rps) WITH ORDINALITY AS t(e, rps, idx)
       WHERE t.rps > 0 AND b.entrypoint = t.e;
    END IF;
    UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
       SET status = 'picked', attempts = j.attempts + 1, heartbeat = p_now, updated = p_now,
           queue_manager_id = p_manager
     WHERE j.id = ANY (v_ids);
  END IF;

  IF NOT v_gated THEN
    -- Only now: number the log rows (the lock is held until commit).
    SELECT s.last_seq INTO v_seq FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate s FOR UPDATE;
  END IF;
  v_first_seq := v_seq;

  IF cardinality(v_dead) > 0 THEN
    WITH upd AS (
      UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
         SET status = 'failed', queue_manager_id = NULL, updated = p_now,
             last_error = to_json('worker lost: no heartbeat for ' || t.rt || ' ms after ' || j.attempts || ' attempts')::text
        FROM unnest(p_eps, p_retry) AS t(e, rt)
       WHERE j.id = ANY (v_dead) AND j.entrypoint = t.e
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
  END IF;

  IF cardinality(v_ids) > 0 THEN
    RETURN QUERY
    WITH ordered AS (
      SELECT j.*, u.ord FROM unnest(v_ids) WITH ORDINALITY AS u(id, ord)
        JOIN :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j ON j.id = u.id
    ), lg AS (
      INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, kind, job_id, entrypoint, priority, status, at, queue_manager_id, error)
      SELECT v_seq + o.ord, 'picked', o.id, o.entrypoint, o.priority, 'picked', p_now, p_manager, NULL FROM ordered o
    )
    SELECT o.id, o.entrypoint, o.payload, o.priority, o.execute_after, o.dedupe_key, o.headers, o.status,
           o.attempts, o.heartbeat, o.created, o.updated, o.queue_manager_id, o.last_error
      FROM ordered o ORDER BY o.ord;
    v_seq := v_seq + cardinality(v_ids);
  END IF;

  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate SET last_seq = v_seq;
  -- The NOTIFY carries '<first seq>:<last seq>:' and then the new log rows as JSON when they fit
  -- (8000 bytes), else 'k' and the JSON list of their kinds: a subscriber that wants none of them
  -- skips the rows without reading the log (version 3 sent '' and every subscriber read them).
  PERFORM pg_notify(p_channel, (v_first_seq + 1) || ':' || v_seq || ':' || coalesce(
     (SELECT x.p FROM (SELECT json_agg(json_build_array(l.seq, l.kind, l.job_id, l.entrypoint, l.priority, l.status, l.at,
                                            l.queue_manager_id, l.error) ORDER BY l.seq)::text AS p
             FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l
            WHERE l.seq > v_first_seq AND l.seq <= v_seq
              AND v_seq - v_first_seq <= 60) x
       WHERE octet_length(x.p) < 7900),
     'k' || CASE WHEN cardinality(v_dead) = 0 THEN '["picked"]'
                 WHEN cardinality(v_ids) = 0 THEN '["failed"]' ELSE '["failed","picked"]' END));
  RETURN;
END
$dequeue$;
