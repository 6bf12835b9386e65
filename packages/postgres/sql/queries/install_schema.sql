-- install, step 1: the schema (it may be shared with other tables: uninstall leaves it if not empty).
CREATE SCHEMA IF NOT EXISTS :TIDEQ_SCHEMA;
