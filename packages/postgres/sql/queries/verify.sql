-- verify: $1 schema name, $2 migrations table name. Whether the schema and the migrations
-- table exist; the applied version is read separately once they do.
SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::text) AS has_schema,
       to_regclass(quote_ident($1::text) || '.' || quote_ident($2::text)) IS NOT NULL AS has_migrations;
