-- tideq schema version 5: one log row and one `finished` row per STATEMENT, not per job.
-- A log row holds the events seq - cardinality(job_id) + 1 .. seq of one statement (all at `at`):
-- job_id has one element per event; every other array has either one element per event or ONE
-- element that holds for all of them (a batch of one entrypoint stores it once); a NULL
-- queue_manager_id / error column means NULL for every event. log() and subscribers expand the
-- rows (sql/queries/log.sql), so JobEvents, seqs and the commit order are unchanged; compaction
-- trims a row that straddles the retention boundary. A `finished` row holds the final statuses
-- of the jobs one statement finished (ids, and status with one element per id or one for all),
-- found by jobStatus through a GiST index on [lo, hi]. Before, a job's life wrote three log rows
-- and a `finished` row (heap tuple + 2 or 1 index entries each); now a batch writes three log
-- rows and one `finished` row whatever its size.
-- Existing rows are carried over as one-event rows, so an installation with jobs in it keeps its
-- log (seqs included), its final statuses and its subscribers' cursors.
CREATE TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog_v5 (
  seq bigint PRIMARY KEY,
  at bigint NOT NULL,
  kind text[] NOT NULL,
  job_id bigint[] NOT NULL,
  entrypoint text[] NOT NULL,
  priority integer[] NOT NULL,
  status text[] NOT NULL,
  queue_manager_id text[],
  error text[]
);
INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog_v5 (seq, at, kind, job_id, entrypoint, priority, status, queue_manager_id, error)
SELECT l.seq, l.at, ARRAY[l.kind], ARRAY[l.job_id], ARRAY[l.entrypoint], ARRAY[l.priority], ARRAY[l.status],
       CASE WHEN l.queue_manager_id IS NULL THEN NULL ELSE ARRAY[l.queue_manager_id] END,
       CASE WHEN l.error IS NULL THEN NULL ELSE ARRAY[l.error] END
  FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog l;
DROP TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog;
ALTER TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog_v5 RENAME TO :TIDEQ_PREFIXlog;
ALTER INDEX :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog_v5_pkey RENAME TO :TIDEQ_PREFIXlog_pkey;
CREATE INDEX :TIDEQ_PREFIXlog_at ON :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (at);

CREATE TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished_v5 (
  lo bigint NOT NULL,
  hi bigint NOT NULL,
  ids bigint[] NOT NULL,
  status text[] NOT NULL
);
INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished_v5 (lo, hi, ids, status)
SELECT f.id, f.id, ARRAY[f.id], ARRAY[f.status] FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished f;
DROP TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished;
ALTER TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished_v5 RENAME TO :TIDEQ_PREFIXfinished;
CREATE INDEX :TIDEQ_PREFIXfinished_ids ON :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished USING gist (int8range(lo, hi, '[]'));

-- dequeue: its picked (and worker-lost failed) events as one log row each; the NOTIFY's rows are
-- built from the statement's own data instead of read back from the log; and without a gate or
-- a stale job to handle, the picks are chosen by one statement instead of the PL/pgSQL walk.
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
  v_json text;
  v_pick_eps text[] := '{}';
  v_pick_pri integer[] := '{}';
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
  -- Fast path (version 5): no gate, and no stale picked job to re-pick or fail. The walk below
  -- would then pick the first least(p_batch, p_max_owned - owned) queued candidates in pick
  -- order; one statement picks them instead of a PL/pgSQL step per candidate.
  IF NOT v_gated AND cardinality(v_dead) = 0 AND NOT EXISTS (
       SELECT 1 FROM unnest(p_eps, p_retry) AS t(e, rt)
        WHERE t.rt > 0 AND EXISTS (SELECT 1 FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
                                    WHERE j.entrypoint = t.e AND j.status = 'picked' AND j.heartbeat < p_now - t.rt)) THEN
    IF v_owned < p_max_owned THEN
      SELECT coalesce(array_agg(cand.id ORDER BY cand.priority DESC, cand.id), '{}'),
             coalesce(array_agg(cand.e ORDER BY cand.priority DESC, cand.id), '{}'),
             coalesce(array_agg(cand.priority ORDER BY cand.priority DESC, cand.id), '{}')
        INTO v_ids, v_pick_eps, v_pick_pri FROM (
        SELECT q.id, q.priority, t.e
          FROM unnest(p_eps) AS t(e)
         CROSS JOIN LATERAL (
           SELECT j.id, j.priority FROM :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
            WHERE j.entrypoint = t.e AND j.status = 'queued' AND j.execute_after <= p_now
            ORDER BY j.priority DESC, j.id
            LIMIT least(p_batch, p_max_owned - v_owned)
              FOR UPDATE SKIP LOCKED
         ) q
         ORDER BY q.priority DESC, q.id
         LIMIT least(p_batch, p_max_owned - v_owned)
      ) cand;
    END IF;
  ELSE
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
      v_pick_eps := v_pick_eps || p_eps[i];
      v_pick_pri := v_pick_pri || c.priority;
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
  END IF;

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
    -- The picked rows go back as the UPDATE returns them (the caller sorts them in pick order:
    -- priority descending, then id), not read again after it.
    RETURN QUERY
    WITH upd AS (
      UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs j
         SET status = 'picked', attempts = j.attempts + 1, heartbeat = p_now, updated = p_now,
             queue_manager_id = p_manager
       WHERE j.id = ANY (v_ids)
      RETURNING j.*
    )
    SELECT * FROM upd;
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
      -- One log row for the statement's events (version 5).
      INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, at, kind, job_id, entrypoint, priority, status, queue_manager_id, error)
      SELECT v_seq + count(*), p_now, '{failed}', array_agg(num.id ORDER BY num.rn),
             CASE WHEN min(num.entrypoint COLLATE "C") = max(num.entrypoint COLLATE "C") THEN ARRAY[min(num.entrypoint)]
                  ELSE array_agg(num.entrypoint ORDER BY num.rn) END,
             CASE WHEN min(num.priority) = max(num.priority) THEN ARRAY[min(num.priority)]
                  ELSE array_agg(num.priority ORDER BY num.rn) END,
             '{failed}', NULL, array_agg(num.last_error ORDER BY num.rn)
        FROM num
      HAVING count(*) > 0
    ), st AS (
      INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics AS s (entrypoint, status, priority, second, count)
      SELECT upd.entrypoint, 'failed', upd.priority, v_second, count(*) FROM upd GROUP BY upd.entrypoint, upd.priority
      ON CONFLICT (entrypoint, status, priority, second) DO UPDATE SET count = s.count + EXCLUDED.count
    )
    SELECT count(*), string_agg(json_build_array(v_seq + num.rn, 'failed', num.id, num.entrypoint, num.priority, 'failed', p_now,
                                                 NULL, num.last_error)::text, ',' ORDER BY num.rn)
      INTO v_n, v_json FROM num;
    v_seq := v_seq + v_n;
  END IF;

  IF cardinality(v_ids) > 0 THEN
    -- One log row for the picks, from the arrays gathered with them (pick order).
    INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (seq, at, kind, job_id, entrypoint, priority, status, queue_manager_id, error)
    SELECT v_seq + cardinality(v_ids), p_now, '{picked}', v_ids,
           CASE WHEN min(u.e COLLATE "C") = max(u.e COLLATE "C") THEN v_pick_eps[1:1] ELSE v_pick_eps END,
           CASE WHEN min(u.pr) = max(u.pr) THEN v_pick_pri[1:1] ELSE v_pick_pri END,
           '{picked}', ARRAY[p_manager], NULL
      FROM unnest(v_pick_eps, v_pick_pri) AS u(e, pr);
    IF v_seq + cardinality(v_ids) - v_first_seq <= 60 THEN
      SELECT concat_ws(',', v_json, string_agg(json_build_array(v_seq + u.ord, 'picked', u.id, u.e, u.pr, 'picked',
                                                                 p_now, p_manager, NULL)::text, ',' ORDER BY u.ord))
        INTO v_json
        FROM unnest(v_ids, v_pick_eps, v_pick_pri) WITH ORDINALITY AS u(id, e, pr, ord);
    END IF;
    v_seq := v_seq + cardinality(v_ids);
  END IF;

  UPDATE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate SET last_seq = v_seq;
  -- The NOTIFY carries '<first seq>:<last seq>:' and then the new log rows as JSON when they fit
  -- (8000 bytes), else 'k' and the JSON list of their kinds.
  PERFORM pg_notify(p_channel, (v_first_seq + 1) || ':' || v_seq || ':' ||
     CASE WHEN v_seq - v_first_seq <= 60 AND octet_length(v_json) < 7900 THEN '[' || v_json || ']'
          WHEN cardinality(v_dead) = 0 THEN 'k["picked"]'
          WHEN cardinality(v_ids) = 0 THEN 'k["failed"]' ELSE 'k["failed","picked"]' END);
  RETURN;
END
$dequeue$;
