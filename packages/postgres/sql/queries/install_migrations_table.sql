-- install, step 2: the applied migrations. A migration inserts its row first, in the same
-- transaction as its DDL, so a concurrent installer blocks on the key and then skips it.
CREATE TABLE IF NOT EXISTS :TIDEQ_SCHEMA.:TIDEQ_PREFIXmigrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
