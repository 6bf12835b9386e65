/**
 * Token replacement for the bundled SQL. Dependency-free on purpose: the test harness's global
 * setup (which runs outside the workspace's source resolution) uses it to build the template
 * database.
 */

/** Escape an SQL identifier ("a""b"). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Where a queue's tables live: a schema and a table prefix. */
export interface SchemaConfig {
  /** Schema holding the tables (default 'tideq'); created by install. */
  schema: string;
  /** Prefix of every table, index and function name (default ''), so several queues can share a schema. */
  tablePrefix: string;
}

/** Replace the tokens: the schema as an escaped identifier, the prefix as validated text. */
export function renderSql(text: string, config: SchemaConfig): string {
  return text
    .replaceAll(':TIDEQ_SCHEMA', quoteIdent(config.schema))
    .replaceAll(':TIDEQ_PREFIX', config.tablePrefix);
}

/** A migration as one statement: its migrations row first, then its DDL, in one transaction. */
export function renderMigration(
  migration: { version: number; name: string; sql: string },
  config: SchemaConfig,
): string {
  return (
    'DO $tideq_migration$\nBEGIN\n' +
    `INSERT INTO ${quoteIdent(config.schema)}.${config.tablePrefix}migrations (version, name) ` +
    `VALUES (${migration.version}, '${migration.name}');\n` +
    `${renderSql(migration.sql, config)}\nEND\n$tideq_migration$`
  );
}
