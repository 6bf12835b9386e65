/**
 * A QueueManager started while PostgreSQL is out of reach (connection refused) waits, logging
 * each try, and drains the queue once the server answers: run() does not reject because the
 * database came up after the worker (issue #11 item 1). The manager's pool points at a free port
 * where nothing listens; after a few refused tries a plain TCP relay opens on that port to the
 * suite's real cluster.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Pool as NeonPool } from '@neondatabase/serverless';
import { QueueManager } from '@tideq/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresQueue, neonPoolDriver, pgPoolDriver, type SqlDriver } from '../src/index.ts';
import { configureNeon, createDatabase, info, url } from './helpers.ts';
import { freePort } from './infra/cluster.ts';

const database = await createDatabase();
const admin = new pg.Pool({ connectionString: url(database), max: 2 });
afterAll(() => admin.end());

const JOBS = 200;

/** Opens `port` as a relay to the suite's cluster; until then connecting to it is refused. */
function relayTo(port: number): { open(): Promise<void>; close(): Promise<void> } {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  return {
    open: () =>
      new Promise((resolve, reject) => {
        server = createServer((client) => {
          const upstream = connect(info().port, '127.0.0.1');
          for (const s of [client, upstream]) {
            sockets.add(s);
            s.on('close', () => sockets.delete(s));
            s.on('error', () => {
              client.destroy();
              upstream.destroy();
            });
          }
          client.pipe(upstream).pipe(client);
        });
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        if (server === null) resolve();
        else server.close(() => resolve());
      }),
  };
}

for (const kind of ['pg', 'neon-ws'] as const) {
  describe(`a QueueManager started while PostgreSQL is unreachable (${kind})`, () => {
    it('retries the start-up calls and drains every job once the server answers', async () => {
      const schema = `startup_${kind.replace('-', '_')}`;
      const producer = createPostgresQueue({ driver: pgPoolDriver(admin), schema });
      await producer.install();
      const ids = (await producer.enqueue(
        Array.from({ length: JOBS }, () => ({ entrypoint: 'work' })),
      )) as number[];

      const port = await freePort();
      const relay = relayTo(port);
      const unreachable = `postgres://postgres@127.0.0.1:${port}/${database}`;
      let pool: { end(): Promise<void> };
      let driver: SqlDriver;
      if (kind === 'pg') {
        const p = new pg.Pool({ connectionString: unreachable, max: 4 });
        driver = pgPoolDriver(p);
        pool = p;
      } else {
        configureNeon();
        const p = new NeonPool({ connectionString: unreachable, max: 4 });
        driver = neonPoolDriver(p);
        pool = p;
      }
      const repo = createPostgresQueue({ driver, schema });
      const ran = new Set<number>();
      const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('work', async ({ job }) => {
        ran.add(job.id);
      });
      const errors: string[] = [];
      let refusedThrice: () => void = () => {};
      const refused = new Promise<void>((resolve) => {
        refusedThrice = resolve;
      });
      qm.on('error', ({ error, where }) => {
        errors.push(`${(error as { code?: string }).code} ${where}`);
        if (errors.length === 3) refusedThrice();
      });
      try {
        const running = qm.run({ mode: 'drain', batchSize: 50 });
        let settled: unknown = 'pending';
        running.then(
          () => (settled = 'resolved'),
          (e: unknown) => (settled = e),
        );
        await Promise.race([
          refused,
          running.then(() => {
            throw new Error('run() resolved while the server was unreachable');
          }),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error(`no 3 refused tries within 30 s: ${errors}`)), 30_000),
          ),
        ]);
        expect(settled, 'run() settled while the server was unreachable').toBe('pending');
        expect(await producer.jobStatus(ids)).toEqual(ids.map(() => 'queued'));
        await relay.open(); // the server becomes reachable
        await running;
        expect(ran.size).toBe(JOBS);
        expect(await producer.jobStatus(ids)).toEqual(ids.map(() => 'successful'));
        expect(errors.length).toBeGreaterThanOrEqual(3);
        for (const e of errors) expect(e).toMatch(/^STORAGE_UNAVAILABLE store call at start \(retry \d+\)$/);
      } finally {
        await repo.close().catch(() => {});
        await pool.end().catch(() => {});
        await relay.close();
        await producer.close();
      }
    }, 60_000);
  });
}
