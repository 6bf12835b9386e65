/**
 * The edge handler in real workerd reaching the tests' real PostgreSQL through the real Neon
 * driver (HTTP and WebSocket), via the local relay and HTTP endpoint the postgres tests run
 * (their global setup). Jobs enqueued by this Node process are drained by the worker and the
 * other way round; a store out of reach is a 503.
 */
import type { QueueRepository } from '@tideq/core';
import { createPostgresQueue, pgPoolDriver } from '@tideq/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, info, url } from '../../postgres/test/helpers.ts';
import { freePort } from '../../postgres/test/infra/cluster.ts';
import { call } from './support/client.ts';
import { type RunningWorker, startWorker } from './support/workerd.ts';

const TOKEN = 'token-0123456789abcdef';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FIXTURE = new URL('./fixtures/neon-worker.ts', import.meta.url);

function bindings(
  database: string,
  driver: 'http' | 'ws',
  httpPort = info().httpPort,
): Record<string, string> {
  return {
    DATABASE_URL: url(database),
    NEON_WS_PROXY: `127.0.0.1:${info().wsProxyPort}`,
    NEON_HTTP_ENDPOINT: `http://127.0.0.1:${httpPort}/sql`,
    DRIVER: driver,
    TOKEN,
  };
}

describe.each(['http', 'ws'] as const)(
  'edge handler in workerd on PostgreSQL via the Neon driver (%s)',
  (driver) => {
    let worker: RunningWorker | undefined;
    let pool: pg.Pool | undefined;
    let queue: QueueRepository;

    beforeAll(async () => {
      const database = await createDatabase();
      pool = new pg.Pool({ connectionString: url(database), max: 2 });
      queue = createPostgresQueue({ driver: pgPoolDriver(pool), listen: false });
      worker = await startWorker(FIXTURE, bindings(database, driver));
    });

    afterAll(async () => {
      await worker?.dispose();
      await queue?.close();
      await pool?.end();
    });

    it('drains jobs another process enqueued, and stores jobs this process sees', async () => {
      const enc = new TextEncoder();
      const ids = (await queue.enqueue(
        [1, 2, 3].map((n) => ({ entrypoint: 'pg.job', payload: enc.encode(String(n)) })),
      )) as number[];
      const drained = await call(worker!.url, 'POST', '/drain', { token: TOKEN });
      expect(drained.status).toBe(200);
      expect(drained.body).toMatchObject({
        processed: 3,
        succeeded: 3,
        failed: 0,
        remaining: 0,
        stoppedEarly: false,
      });
      expect(await queue.jobStatus(ids)).toEqual(['successful', 'successful', 'successful']);

      const posted = await call(worker!.url, 'POST', '/jobs', {
        body: { jobs: [{ entrypoint: 'pg.job', payload: { to: 'ada' }, dedupeKey: `${driver}-1` }] },
        token: TOKEN,
      });
      expect(posted.status).toBe(201);
      const [id] = posted.body.ids as number[];
      const [job] = await queue.getJobs([id!]);
      expect(job).toMatchObject({ entrypoint: 'pg.job', status: 'queued', dedupeKey: `${driver}-1` });
      expect(new TextDecoder().decode(job!.payload!)).toBe('{"to":"ada"}');
      expect((await call(worker!.url, 'GET', `/jobs/${id}`, { token: TOKEN })).body).toMatchObject({
        status: 'queued',
      });

      // The dedupe key is held in Postgres: a second hand-off is a 409 and stores nothing.
      const again = await call(worker!.url, 'POST', '/jobs', {
        body: { entrypoint: 'pg.job', dedupeKey: `${driver}-1` },
        token: TOKEN,
      });
      expect(again).toMatchObject({ status: 409, body: { error: { code: 'DUPLICATE_JOB' } } });
      expect((await queue.queueSize()).filter((r) => r.status === 'queued')).toEqual([
        { entrypoint: 'pg.job', status: 'queued', priority: 0, count: 1 },
      ]);
      expect((await call(worker!.url, 'POST', '/drain', { token: TOKEN })).body).toMatchObject({
        processed: 1,
        succeeded: 1,
      });
      expect(await queue.jobStatus([id!])).toEqual(['successful']);
      expect((await call(worker!.url, 'GET', '/health')).status).toBe(200);
    });
  },
);

describe('an isolate killed mid-drain (PostgreSQL, Neon HTTP)', () => {
  let pool: pg.Pool | undefined;
  let queue: QueueRepository | undefined;
  const workers: RunningWorker[] = [];
  afterAll(async () => {
    for (const w of workers) await w.dispose();
    await queue?.close();
    await pool?.end();
  });

  it('loses nothing: the picked job runs again in another isolate after its retryTimer', async () => {
    const database = await createDatabase();
    pool = new pg.Pool({ connectionString: url(database), max: 2 });
    queue = createPostgresQueue({ driver: pgPoolDriver(pool), listen: false });
    const [id] = (await queue.enqueue([{ entrypoint: 'pg.hang' }])) as number[];

    const first = await startWorker(FIXTURE, bindings(database, 'http'));
    workers.push(first);
    const pending = fetch(`${first.url}/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    }).catch((error: unknown) => error);
    for (let i = 0; i < 200 && (await queue.jobStatus([id!]))[0] !== 'picked'; i++) await sleep(50);
    expect((await queue.jobStatus([id!]))[0]).toBe('picked');
    await first.dispose(); // the isolate dies with the job picked
    await pending;

    const second = await startWorker(FIXTURE, bindings(database, 'http'));
    workers.push(second);
    for (let i = 0; i < 60 && (await queue.jobStatus([id!]))[0] !== 'successful'; i++) {
      await call(second.url, 'POST', '/drain', { token: TOKEN });
      await sleep(250);
    }
    expect(await queue.jobStatus([id!])).toEqual(['successful']);
    const picks = (await queue.log({ limit: 1000 })).filter((e) => e.jobId === id && e.kind === 'picked');
    expect(picks).toHaveLength(2);
  });
});

describe('edge handler in workerd with PostgreSQL out of reach', () => {
  let worker: RunningWorker | undefined;
  afterAll(async () => {
    await worker?.dispose();
  });

  it('answers 503 STORAGE_UNAVAILABLE and nothing else', async () => {
    // Nothing listens on this port: every Neon HTTP request fails.
    worker = await startWorker(FIXTURE, bindings('postgres', 'http', await freePort()));
    const answer = await call(worker.url, 'POST', '/jobs', { body: { entrypoint: 'pg.job' }, token: TOKEN });
    expect(answer.status, JSON.stringify(answer.body)).toBe(503);
    expect(answer.body.error.code).toBe('STORAGE_UNAVAILABLE');
    expect((await call(worker.url, 'GET', '/health')).status).toBe(503);
  });
});
