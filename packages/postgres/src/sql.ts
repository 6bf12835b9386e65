/**
 * Where the adapter's SQL lives at run time: the generated module (sql/**\/*.sql bundled by
 * scripts/build-sql.mjs) with the schema and prefix tokens replaced, and the validated
 * configuration those tokens come from.
 */
import { InvalidArgumentError } from '@tideq/core';
import { renderSql, type SchemaConfig } from './render.js';
import { MIGRATIONS, QUERIES, type QueryName } from './sql.generated.js';

export { renderMigration, renderSql, type SchemaConfig } from './render.js';
export { MIGRATIONS, QUERIES, type QueryName };

/** The schema version this code installs and expects. */
export const SCHEMA_VERSION = MIGRATIONS.length;

const SCHEMA_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const PREFIX_RE = /^(?:[a-z_][a-z0-9_]{0,29})?$/;

/** The schema name and table prefix with their defaults ('tideq', ''), validated as identifiers. */
export function resolveSchemaConfig(options: { schema?: string; tablePrefix?: string }): SchemaConfig {
  const schema = options.schema ?? 'tideq';
  const tablePrefix = options.tablePrefix ?? '';
  if (typeof schema !== 'string' || !SCHEMA_RE.test(schema)) {
    throw new InvalidArgumentError(
      `schema must be 1..63 characters of [A-Za-z0-9_], not starting with a digit; got ${JSON.stringify(schema)}`,
      { field: 'schema' },
    );
  }
  // Postgres reserves pg_* schema names (CREATE SCHEMA fails with 42939): say so before install().
  if (schema.startsWith('pg_')) {
    throw new InvalidArgumentError(
      `schema must not start with "pg_" (PostgreSQL reserves those names for system schemas); got ${JSON.stringify(schema)}`,
      { field: 'schema' },
    );
  }
  if (typeof tablePrefix !== 'string' || !PREFIX_RE.test(tablePrefix)) {
    throw new InvalidArgumentError(
      `tablePrefix must be empty or 1..30 characters of [a-z0-9_], not starting with a digit (e.g. "billing_"); got ${JSON.stringify(tablePrefix)}`,
      { field: 'tablePrefix' },
    );
  }
  return { schema, tablePrefix };
}

/** All runtime queries of one schema/prefix, rendered once. */
export type RenderedQueries = Record<QueryName, string>;

export function renderQueries(config: SchemaConfig): RenderedQueries {
  const out = {} as RenderedQueries;
  for (const name of Object.keys(QUERIES) as QueryName[]) out[name] = renderSql(QUERIES[name], config);
  return out;
}
