/**
 * install / upgrade / uninstall / verify over any SqlDriver. Every step is one statement, so
 * they work over one-shot HTTP queries too, and every step is safe to race: a migration inserts
 * its row in the migrations table first, in the same transaction as its DDL, so a second
 * migrator blocks on the key, then fails on it and skips the migration.
 */
import { NotInstalledError, SchemaOutdatedError, type VerifyReport } from '@tideq/core';
import type { SqlDriver } from './driver.js';
import { MIGRATIONS, QUERIES, renderMigration, renderSql, SCHEMA_VERSION, type SchemaConfig } from './sql.js';

/** Postgres error fields the adapter looks at. */
export interface PgErrorLike {
  code?: string;
  constraint?: string;
  message?: string;
}

export function pgCode(error: unknown): string | undefined {
  const code = (error as PgErrorLike | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** 42P01 undefined_table, 3F000 invalid_schema_name, 42883 undefined_function. */
export function isMissingObject(error: unknown): boolean {
  const code = pgCode(error);
  return code === '42P01' || code === '3F000' || code === '42883';
}

export function where(config: SchemaConfig): string {
  return `schema "${config.schema}"${config.tablePrefix === '' ? '' : ` (table prefix "${config.tablePrefix}")`}`;
}

export function cliFlags(config: SchemaConfig): string {
  return (
    (config.schema === 'tideq' ? '' : ` --schema ${config.schema}`) +
    (config.tablePrefix === '' ? '' : ` --prefix ${config.tablePrefix}`)
  );
}

export function notInstalledError(config: SchemaConfig, cause?: unknown): NotInstalledError {
  return new NotInstalledError(
    `tideq is not installed in ${where(config)}: run \`npx tideq install${cliFlags(config)}\` (or call install())`,
    { cause, details: { schema: config.schema, tablePrefix: config.tablePrefix } },
  );
}

export function outdatedError(config: SchemaConfig, version: number): SchemaOutdatedError {
  return version > SCHEMA_VERSION
    ? new SchemaOutdatedError(
        `${where(config)} is at schema version ${version}, newer than this @tideq/postgres (${SCHEMA_VERSION}): upgrade the package`,
        { details: { version, expectedVersion: SCHEMA_VERSION } },
      )
    : new SchemaOutdatedError(
        `${where(config)} is at schema version ${version}, this code needs ${SCHEMA_VERSION}: run \`npx tideq upgrade${cliFlags(config)}\` (or call upgrade())`,
        { details: { version, expectedVersion: SCHEMA_VERSION } },
      );
}

async function appliedVersions(driver: SqlDriver, config: SchemaConfig): Promise<number[] | null> {
  const probe = await driver.query(renderSql(QUERIES.verify, config), [
    config.schema,
    `${config.tablePrefix}migrations`,
  ]);
  const row = probe.rows[0] ?? {};
  if (row.has_schema !== true || row.has_migrations !== true) return null;
  const res = await driver.query(renderSql(QUERIES.appliedMigrations, config));
  return res.rows.map((r) => Number(r.version));
}

const TABLES = ['state', 'jobs', 'finished', 'log', 'statistics', 'schedules', 'buckets'];

/** Reports whether the schema is installed and at {@link SCHEMA_VERSION}, with the command that fixes it if not. */
export async function verify(driver: SqlDriver, config: SchemaConfig): Promise<VerifyReport> {
  const versions = await appliedVersions(driver, config);
  if (versions === null || versions.length === 0) {
    return {
      installed: false,
      version: null,
      expectedVersion: SCHEMA_VERSION,
      current: false,
      problems: [`tideq is not installed in ${where(config)}: run \`npx tideq install${cliFlags(config)}\``],
    };
  }
  const version = Math.max(...versions);
  const problems: string[] = [];
  if (version !== SCHEMA_VERSION) problems.push(outdatedError(config, version).message);
  const names = TABLES.map((t) => `${config.tablePrefix}${t}`);
  const present = await driver.query(
    "SELECT t.name FROM unnest($1::text[]) AS t(name) WHERE to_regclass(quote_ident($2) || '.' || quote_ident(t.name)) IS NOT NULL",
    [names, config.schema],
  );
  const found = new Set(present.rows.map((r) => String(r.name)));
  const missing = names.filter((n) => !found.has(n));
  if (missing.length > 0) {
    problems.push(
      `tables missing from ${where(config)}: ${missing.join(', ')}; run \`npx tideq uninstall${cliFlags(config)}\` then \`npx tideq install${cliFlags(config)}\` (this drops the queue)`,
    );
  }
  return {
    installed: true,
    version,
    expectedVersion: SCHEMA_VERSION,
    current: problems.length === 0,
    problems,
  };
}

async function ignoreRace(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    // CREATE ... IF NOT EXISTS racing another installer can still hit the catalog's unique keys.
    const code = pgCode(error);
    if (code !== '23505' && code !== '42P06' && code !== '42P07' && code !== '42710') throw error;
  }
}

/** Apply the migrations not yet applied, in order. Returns the versions this call applied. */
async function migrate(driver: SqlDriver, config: SchemaConfig, applied: number[]): Promise<number[]> {
  const done = new Set(applied);
  const newest = Math.max(0, ...applied);
  if (newest > SCHEMA_VERSION) throw outdatedError(config, newest);
  const ran: number[] = [];
  for (const migration of MIGRATIONS) {
    if (done.has(migration.version)) continue;
    try {
      await driver.query(renderMigration(migration, config));
      ran.push(migration.version);
    } catch (error) {
      // Another migrator applied it first (we blocked on its migrations row, then hit the key).
      if (
        pgCode(error) === '23505' &&
        String((error as PgErrorLike).constraint ?? '').endsWith('migrations_pkey')
      )
        continue;
      throw error;
    }
  }
  return ran;
}

/**
 * CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists, so a
 * role given only a schema (CREATE SCHEMA ... AUTHORIZATION role, or GRANT CREATE ON SCHEMA)
 * could never install into it: create the schema only when it is missing.
 */
async function createSchema(driver: SqlDriver, config: SchemaConfig): Promise<void> {
  const res = await driver.query('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS present', [
    config.schema,
  ]);
  if (res.rows[0]?.present === true) return;
  await ignoreRace(() => driver.query(renderSql(QUERIES.installSchema, config)));
}

/**
 * Creates the schema and applies every missing migration, each in its own transaction; safe to run
 * again and concurrently (`npx tideq install`). Returns the versions applied by this call.
 */
export async function install(driver: SqlDriver, config: SchemaConfig): Promise<number[]> {
  await createSchema(driver, config);
  await ignoreRace(() => driver.query(renderSql(QUERIES.installMigrationsTable, config)));
  return migrate(driver, config, (await appliedVersions(driver, config)) ?? []);
}

/** Applies the migrations an installed schema lacks (`npx tideq upgrade`); NOT_INSTALLED if there is none. */
export async function upgrade(driver: SqlDriver, config: SchemaConfig): Promise<number[]> {
  const applied = await appliedVersions(driver, config);
  if (applied === null || applied.length === 0) throw notInstalledError(config);
  return migrate(driver, config, applied);
}

/** Drops every tideq object of this schema and prefix, every job with them, then the schema if nothing else is in it (`npx tideq uninstall`). */
export async function uninstall(driver: SqlDriver, config: SchemaConfig): Promise<void> {
  await driver.query(renderSql(QUERIES.uninstall, config));
}

/** Install only up to `version` (tests of upgrade and of SCHEMA_OUTDATED). */
export async function installUpTo(driver: SqlDriver, config: SchemaConfig, version: number): Promise<void> {
  await createSchema(driver, config);
  await ignoreRace(() => driver.query(renderSql(QUERIES.installMigrationsTable, config)));
  const applied = new Set((await appliedVersions(driver, config)) ?? []);
  for (const migration of MIGRATIONS) {
    if (migration.version > version || applied.has(migration.version)) continue;
    await driver.query(renderMigration(migration, config));
  }
}
