-- tideq schema version 1.
-- Tokens: :TIDEQ_SCHEMA is replaced by the escaped schema identifier, :TIDEQ_PREFIX by the
-- validated table prefix ([a-z_][a-z0-9_]*, possibly empty). The runner wraps this file in a
-- DO block that first inserts the migrations row, so two racing installers serialize on its
-- primary key and the loser skips (see src/migrate.ts).

-- One row: the last job id and the last log seq. Every statement that writes log rows updates
-- it, so its row lock serializes log writers until commit: seq order = commit order, and ids
-- are allocated without gaps (a rolled back enqueue returns its ids).
CREATE TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_job_id bigint NOT NULL DEFAULT 0,
  last_seq bigint NOT NULL DEFAULT 0
);
INSERT INTO :TIDEQ_SCHEMA.:TIDEQ_PREFIXstate DEFAULT VALUES;

-- Jobs held by the store: queued, picked and failed (dead letters). Times are epoch ms from the
-- caller's clock. dedupe_key, last_error are JSON string literals (JSON.stringify) so any JS
-- string, NUL and lone surrogates included, round-trips exactly; headers are JSON text, not
-- jsonb, so key order and escapes survive byte for byte.
CREATE TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs (
  id bigint PRIMARY KEY,
  entrypoint text NOT NULL,
  payload bytea,
  priority integer NOT NULL,
  execute_after bigint NOT NULL,
  dedupe_key text,
  headers text,
  status text NOT NULL CHECK (status IN ('queued', 'picked', 'failed')),
  attempts integer NOT NULL,
  heartbeat bigint NOT NULL,
  created bigint NOT NULL,
  updated bigint NOT NULL,
  queue_manager_id text,
  last_error text
);
-- A dedupe key is held while its job is queued or picked.
CREATE UNIQUE INDEX :TIDEQ_PREFIXjobs_dedupe_key ON :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs (dedupe_key)
  WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'picked');
-- Dequeue: per entrypoint, in pick order.
CREATE INDEX :TIDEQ_PREFIXjobs_dequeue ON :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs (entrypoint, priority DESC, id)
  WHERE status = 'queued';
-- Stale picked jobs, and the per-entrypoint picked count of the concurrency gate.
CREATE INDEX :TIDEQ_PREFIXjobs_heartbeat ON :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs (entrypoint, heartbeat)
  WHERE status = 'picked';
-- The caller's own picked jobs (maxOwned).
CREATE INDEX :TIDEQ_PREFIXjobs_owner ON :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs (queue_manager_id)
  WHERE status = 'picked';
CREATE INDEX :TIDEQ_PREFIXjobs_failed ON :TIDEQ_SCHEMA.:TIDEQ_PREFIXjobs (id) WHERE status = 'failed';

-- The final status of jobs that left the store, so jobStatus answers after they are gone.
CREATE TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXfinished (
  id bigint PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('successful', 'exception', 'canceled', 'deleted'))
);

-- One row per job transition (= one JobEvent).
CREATE TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (
  seq bigint PRIMARY KEY,
  kind text NOT NULL,
  job_id bigint NOT NULL,
  entrypoint text NOT NULL,
  priority integer NOT NULL,
  status text NOT NULL,
  at bigint NOT NULL,
  queue_manager_id text,
  error text
);
CREATE INDEX :TIDEQ_PREFIXlog_at ON :TIDEQ_SCHEMA.:TIDEQ_PREFIXlog (at);

CREATE TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics (
  entrypoint text NOT NULL,
  status text NOT NULL,
  priority integer NOT NULL,
  second bigint NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (entrypoint, status, priority, second)
);
CREATE INDEX :TIDEQ_PREFIXstatistics_second ON :TIDEQ_SCHEMA.:TIDEQ_PREFIXstatistics (second);

CREATE TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules (
  name text PRIMARY KEY,
  entrypoint text NOT NULL,
  expression text NOT NULL,
  timezone text,
  next_run_at bigint NOT NULL,
  last_run_at bigint,
  claimed_by text,
  claimed_at bigint
);
CREATE INDEX :TIDEQ_PREFIXschedules_due ON :TIDEQ_SCHEMA.:TIDEQ_PREFIXschedules (next_run_at);

-- Token buckets of rate-limited entrypoints (double precision, the formula of ARCHITECTURE.md).
CREATE TABLE :TIDEQ_SCHEMA.:TIDEQ_PREFIXbuckets (
  entrypoint text PRIMARY KEY,
  tokens double precision NOT NULL,
  updated_at bigint NOT NULL
);
