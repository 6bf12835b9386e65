/**
 * @tideq/postgres: tideq on PostgreSQL / Neon. SQL migrations, the QueueRepository adapter over a
 * small SqlDriver interface, and one-line drivers for Neon's serverless driver (WebSocket Pool
 * and Client, HTTP) and node-postgres (Pool and Client).
 *
 * @example
 * import { Pool } from 'pg';
 * import { createPostgresQueue, pgPoolDriver } from '@tideq/postgres';
 * const queue = createPostgresQueue({ driver: pgPoolDriver(new Pool({ connectionString })) });
 * await queue.install();
 *
 * @module @tideq/postgres
 */
import {
  clientDriver,
  type PgClientLike,
  type PgPoolLike,
  type PoolDriverOptions,
  poolDriver,
  type SqlDriver,
} from './driver.js';

export {
  clientDriver,
  type NeonHttpLike,
  neonHttpDriver,
  type PgClientLike,
  type PgPoolClientLike,
  type PgPoolLike,
  type PoolDriverOptions,
  poolDriver,
  quoteIdent,
  type SqlDriver,
  type SqlResult,
  type Unlisten,
} from './driver.js';
export { install, installUpTo, uninstall, upgrade, verify } from './migrate.js';
export { createPostgresQueue, type PostgresQueueOptions, PostgresQueueRepository } from './repository.js';
export {
  MIGRATIONS,
  QUERIES,
  renderMigration,
  renderSql,
  resolveSchemaConfig,
  SCHEMA_VERSION,
  type SchemaConfig,
} from './sql.js';

/** node-postgres `Pool` (from 'pg'). */
export const pgPoolDriver = (pool: PgPoolLike, options?: PoolDriverOptions): SqlDriver =>
  poolDriver(pool, { name: 'node-postgres Pool', ...options });
/** node-postgres `Client` (connected). */
export const pgClientDriver = (client: PgClientLike): SqlDriver =>
  clientDriver(client, 'node-postgres Client');
/** Neon serverless WebSocket `Pool` (from '@neondatabase/serverless'). */
export const neonPoolDriver = (pool: PgPoolLike, options?: PoolDriverOptions): SqlDriver =>
  poolDriver(pool, { name: 'Neon WebSocket Pool', ...options });
/** Neon serverless WebSocket `Client` (connected). */
export const neonClientDriver = (client: PgClientLike): SqlDriver =>
  clientDriver(client, 'Neon WebSocket Client');
