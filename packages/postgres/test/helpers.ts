/** Shared test plumbing: a database per test file, the three drivers, conformance factories. */

import { Pool as NeonPool, neon, neonConfig } from '@neondatabase/serverless';
import type { ManualClock, QueueRepository } from '@tideq/core';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { WebSocket } from 'ws';
import {
  createPostgresQueue,
  neonHttpDriver,
  neonPoolDriver,
  type PostgresQueueOptions,
  pgPoolDriver,
  type SqlDriver,
} from '../src/index.ts';

export const info = () => inject('tideqPg');

let neonConfigured = false;
/** Point the real Neon driver at the local WebSocket proxy and HTTP endpoint. */
export function configureNeon(): void {
  if (neonConfigured) return;
  const { wsProxyPort, httpPort } = info();
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${wsProxyPort}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  // 'password' pipelining breaks trust auth against a plain server.
  neonConfig.pipelineConnect = false;
  neonConfig.coalesceWrites = false;
  neonConfig.fetchEndpoint = `http://127.0.0.1:${httpPort}/sql`;
  neonConfigured = true;
}

export function url(database: string): string {
  return `postgres://postgres@127.0.0.1:${info().port}/${database}`;
}

let dbCounter = 0;
/**
 * A fresh database for the calling test file, cloned from the migrated template (or empty),
 * dropped after the file.
 */
export async function createDatabase(options: { fromTemplate?: boolean } = {}): Promise<string> {
  const name = `t_${process.pid}_${Date.now().toString(36)}_${dbCounter++}`;
  const admin = new pg.Client({ connectionString: url('postgres') });
  await admin.connect();
  try {
    await admin.query(
      `CREATE DATABASE ${name}${options.fromTemplate === false ? '' : ` TEMPLATE ${info().template}`}`,
    );
  } finally {
    await admin.end();
  }
  afterAll(async () => {
    const c = new pg.Client({ connectionString: url('postgres') });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  return name;
}

export type DriverKind = 'neon-ws' | 'neon-http' | 'pg';

export interface DriverHandle {
  driver: SqlDriver;
  close(): Promise<void>;
}

export function makeDriver(kind: DriverKind, database: string, options: { max?: number } = {}): DriverHandle {
  const connectionString = url(database);
  if (kind === 'pg') {
    const pool = new pg.Pool({ connectionString, max: options.max ?? 4 });
    return { driver: pgPoolDriver(pool), close: () => pool.end() };
  }
  configureNeon();
  if (kind === 'neon-ws') {
    const pool = new NeonPool({ connectionString, max: options.max ?? 4 });
    return { driver: neonPoolDriver(pool), close: () => pool.end() };
  }
  return { driver: neonHttpDriver(neon(connectionString, { fullResults: true })), close: async () => {} };
}

/**
 * The conformance factory for one driver kind: one database, pool and schema per test file;
 * each scenario starts from an empty, installed store (tables emptied and counters reset in one
 * statement, or installed again after a scenario uninstalled it).
 */
export async function conformanceFactory(
  kind: DriverKind,
  extra: Partial<PostgresQueueOptions> = {},
): Promise<(ctx: { clock: ManualClock }) => Promise<QueueRepository>> {
  const database = await createDatabase();
  const handle = makeDriver(kind, database);
  afterAll(() => handle.close());
  return async ({ clock }) => {
    const repo = createPostgresQueue({ driver: handle.driver, clock, pollInterval: 20, ...extra });
    if ((await repo.verify()).current) await handle.driver.query(RESET);
    else await repo.install();
    return repo;
  };
}

const RESET = `DO $reset$ BEGIN
  TRUNCATE tideq.jobs, tideq.finished, tideq.log, tideq.statistics, tideq.schedules, tideq.buckets;
  UPDATE tideq.state SET last_job_id = 0, last_seq = 0;
END $reset$`;
