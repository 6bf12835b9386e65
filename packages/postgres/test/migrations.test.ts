/** Migrations, verify, configuration validation and driver checks, against the real server. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client as NeonClient, Pool as NeonPool, neon } from '@neondatabase/serverless';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createPostgresQueue,
  installUpTo,
  neonClientDriver,
  neonHttpDriver,
  neonPoolDriver,
  pgClientDriver,
  pgPoolDriver,
  SCHEMA_VERSION,
} from '../src/index.ts';
import { configureNeon, createDatabase, url } from './helpers.ts';

const run = promisify(execFile);
const database = await createDatabase({ fromTemplate: false });
const pool = new pg.Pool({ connectionString: url(database), max: 12 });
afterAll(() => pool.end());

describe('migrations', () => {
  it('the generated SQL module is fresh (scripts/build-sql.mjs --check)', async () => {
    const script = fileURLToPath(new URL('../scripts/build-sql.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, [script, '--check']);
    expect(stdout).toContain('up to date');
  });

  it('verify reports NOT_INSTALLED with the install command, and methods reject with it', async () => {
    const repo = createPostgresQueue({ driver: pgPoolDriver(pool), schema: 'never_installed' });
    const report = await repo.verify();
    expect(report).toMatchObject({
      installed: false,
      version: null,
      expectedVersion: SCHEMA_VERSION,
      current: false,
    });
    expect(report.problems.join()).toContain('npx tideq install --schema never_installed');
    await expect(repo.enqueue([{ entrypoint: 'a' }])).rejects.toMatchObject({
      code: 'NOT_INSTALLED',
      message: expect.stringContaining('npx tideq install'),
    });
  });

  it('an older schema is SCHEMA_OUTDATED with the upgrade command until upgrade() migrates it', async () => {
    const driver = pgPoolDriver(pool);
    const config = { schema: 'old_one', tablePrefix: 'q_' };
    await installUpTo(driver, config, 1);
    const repo = createPostgresQueue({ driver, ...config });
    const report = await repo.verify();
    expect(report).toMatchObject({ installed: true, version: 1, current: false });
    expect(report.problems.join()).toContain('npx tideq upgrade --schema old_one --prefix q_');
    await expect(
      repo.dequeue({ batchSize: 1, entrypoints: { a: {} }, queueManagerId: 'm' }),
    ).rejects.toMatchObject({
      code: 'SCHEMA_OUTDATED',
    });
    await repo.upgrade();
    expect((await repo.verify()).current).toBe(true);
    expect(await repo.enqueue([{ entrypoint: 'a' }])).toEqual([1]);
  });

  it('eight installers racing on separate connections apply each migration once', async () => {
    const schema = 'raced';
    const repos = Array.from({ length: 8 }, () =>
      createPostgresQueue({ driver: pgPoolDriver(pool), schema }),
    );
    await Promise.all(repos.map((r) => r.install()));
    const { rows } = await pool.query(`SELECT version FROM ${schema}.migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    expect((await repos[0]!.verify()).current).toBe(true);
  });

  it('two prefixes share a schema without seeing each other, and uninstall keeps the other', async () => {
    const a = createPostgresQueue({ driver: pgPoolDriver(pool), schema: 'shared', tablePrefix: 'a_' });
    const b = createPostgresQueue({ driver: pgPoolDriver(pool), schema: 'shared', tablePrefix: 'b_' });
    await a.install();
    await b.install();
    await a.enqueue([{ entrypoint: 'x' }, { entrypoint: 'x' }]);
    await b.enqueue([{ entrypoint: 'y' }]);
    expect(await b.queueSize()).toEqual([{ entrypoint: 'y', status: 'queued', priority: 0, count: 1 }]);
    await a.uninstall();
    expect((await a.verify()).installed).toBe(false);
    expect(await b.queueSize()).toEqual([{ entrypoint: 'y', status: 'queued', priority: 0, count: 1 }]);
  });

  it('validates schema, prefix and channel names before any SQL', () => {
    const driver = pgPoolDriver(pool);
    expect(() => createPostgresQueue({ driver, schema: 'x"; DROP TABLE y; --' })).toThrow(/schema must be/);
    expect(() => createPostgresQueue({ driver, tablePrefix: 'Bad-Prefix' })).toThrow(/tablePrefix must be/);
    expect(() => createPostgresQueue({ driver, channel: 'c'.repeat(64) })).toThrow(/channel must be/);
  });
});

describe('driver checks', () => {
  it('rejects a client that is inside an open transaction, naming the fix', async () => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      await client.query('BEGIN');
      const repo = createPostgresQueue({ driver: pgClientDriver(client), schema: 'raced' });
      await expect(repo.enqueue([{ entrypoint: 'a' }])).rejects.toMatchObject({
        code: 'DRIVER_MISCONFIGURED',
        message: expect.stringContaining('inside an open transaction'),
      });
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });

  it('detects the open transaction on a Neon WebSocket Client too', async () => {
    configureNeon();
    const client = new NeonClient({ connectionString: url(database) });
    await client.connect();
    try {
      await client.query('BEGIN');
      const repo = createPostgresQueue({ driver: neonClientDriver(client), schema: 'raced' });
      await expect(repo.queueSize()).rejects.toMatchObject({ code: 'DRIVER_MISCONFIGURED' });
      await client.query('ROLLBACK');
      const ok = createPostgresQueue({ driver: neonClientDriver(client), schema: 'raced' });
      expect(Array.isArray(await ok.queueSize())).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('refuses LISTEN over HTTP', () => {
    configureNeon();
    const driver = neonHttpDriver(neon(url(database)));
    expect(() => createPostgresQueue({ driver, listen: true })).toThrow(
      expect.objectContaining({
        code: 'DRIVER_MISCONFIGURED',
        message: expect.stringContaining('LISTEN over HTTP'),
      }),
    );
  });

  it('refuses to LISTEN on a pool of one connection', async () => {
    configureNeon();
    const one = new NeonPool({ connectionString: url(database), max: 1 });
    try {
      const repo = createPostgresQueue({ driver: neonPoolDriver(one), schema: 'raced' });
      await expect(repo.subscribe(() => {})).rejects.toMatchObject({
        code: 'DRIVER_MISCONFIGURED',
        message: expect.stringContaining('max >= 2'),
      });
    } finally {
      await one.end();
    }
  });
});
