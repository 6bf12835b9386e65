/**
 * Tab-to-server handoff: a sender's delivery queue (the WASM memory queue, as in a tab's worker)
 * hands jobs to the edge endpoint in real workerd (PostgreSQL via Neon HTTP) with handoffRequest:
 * signed with the endpoint's key, carrying each job's dedupe key with onConflict 'skip'. A proxy in
 * front of the endpoint lets every request through and then drops the first answers (the job is
 * stored, the sender never hears it): the sender retries, and Postgres holds each job once.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createMemoryQueue,
  handoffRequest,
  httpDelivery,
  QueueManager,
  type QueueManagerEvents,
  type QueueRepository,
} from '@tideq/core';
import { createPostgresQueue, pgPoolDriver } from '@tideq/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, info, url } from '../../postgres/test/helpers.ts';
import { type RunningWorker, startWorker } from './support/workerd.ts';

const ENDPOINT_KEY = 'endpoint-key-0123456789';
const JOBS = 12;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

describe('tab-to-server handoff to the edge endpoint in workerd (PostgreSQL via Neon)', () => {
  let worker: RunningWorker | undefined;
  let proxy: Server | undefined;
  let pool: pg.Pool | undefined;
  let server: QueueRepository;
  /** Answers from the endpoint, per dedupe key, in order (status codes). */
  const answers = new Map<string, number[]>();

  beforeAll(async () => {
    const database = await createDatabase();
    pool = new pg.Pool({ connectionString: url(database), max: 2 });
    server = createPostgresQueue({ driver: pgPoolDriver(pool), listen: false });
    worker = await startWorker(new URL('./fixtures/webhook-worker.ts', import.meta.url), {
      DATABASE_URL: url(database),
      NEON_HTTP_ENDPOINT: `http://127.0.0.1:${info().httpPort}/sql`,
      TOKEN: 'token-0123456789abcdef',
      ENDPOINT_KEY,
      WEBHOOK_KEY: 'webhook-key-0123456789',
    });
    proxy = createServer(async (req, res) => {
      const body = await readBody(req);
      const key = (JSON.parse(body.toString()) as { jobs: { dedupeKey: string }[] }).jobs[0]!.dedupeKey;
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && name !== 'host' && name !== 'connection') headers.set(name, value);
      }
      const upstream = await fetch(`${worker!.url}${req.url}`, {
        method: req.method,
        headers,
        body: new Uint8Array(body),
      });
      const text = await upstream.text();
      const seen = answers.get(key) ?? [];
      seen.push(upstream.status);
      answers.set(key, seen);
      // The first answer for every job is lost, the second too for every third job.
      const n = Number(key.split(':')[1]);
      if (seen.length === 1 || (seen.length === 2 && n % 3 === 0)) {
        res.destroy();
        return;
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
    });
    await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await worker?.dispose();
    await server?.close();
    await pool?.end();
    proxy?.closeAllConnections();
    await new Promise((resolve) => proxy?.close(resolve));
  });

  it('stores each job once in Postgres although every first answer is lost', async () => {
    const endpoint = `http://127.0.0.1:${(proxy!.address() as AddressInfo).port}/jobs`;
    const tab = await createMemoryQueue();
    const delivery = httpDelivery({
      signing: { key: ENDPOINT_KEY },
      timeout: 10_000,
      maxAttempts: 6,
      retry: { baseDelay: 20, maxDelay: 100 },
    });
    const qm = new QueueManager(tab, { logger: 'silent' }).entrypoint(
      'handoff',
      delivery.options,
      delivery.handler,
    );
    const outcomes: QueueManagerEvents['job'][] = [];
    qm.on('job', (e) => outcomes.push(e));
    const ids = (await qm.enqueueMany(
      Array.from({ length: JOBS }, (_, n) => {
        const dedupeKey = `order:${n}`;
        return {
          entrypoint: 'handoff' as const,
          payload: handoffRequest(endpoint, { entrypoint: 'order.place', payload: { order: n }, dedupeKey }),
          dedupeKey,
        };
      }),
    )) as number[];
    await qm.run({ mode: 'drain' });

    expect(await tab.jobStatus(ids)).toEqual(ids.map(() => 'successful'));
    expect(outcomes.filter((o) => o.outcome === 'retry').length).toBe(JOBS + Math.ceil(JOBS / 3));
    // Every handoff reached the endpoint more than once; the first stored the job (201 with an id),
    // the retries were skipped as duplicates (201 with a null id), none was refused.
    for (let n = 0; n < JOBS; n++) {
      expect(answers.get(`order:${n}`), `order:${n}`).toEqual(n % 3 === 0 ? [201, 201, 201] : [201, 201]);
    }
    const queued = (await server.queueSize()).filter((r) => r.entrypoint === 'order.place');
    expect(queued).toEqual([{ entrypoint: 'order.place', status: 'queued', priority: 0, count: JOBS }]);
    const enqueued = (await server.log({ limit: 10_000 })).filter((e) => e.kind === 'enqueued');
    expect(enqueued).toHaveLength(JOBS);
    const stored = await server.getJobs(enqueued.map((e) => e.jobId));
    expect(stored.map((j) => j?.dedupeKey).sort()).toEqual(
      Array.from({ length: JOBS }, (_, n) => `order:${n}`).sort(),
    );
    expect(new TextDecoder().decode(stored.find((j) => j?.dedupeKey === 'order:4')!.payload!)).toBe(
      '{"order":4}',
    );
    await tab.close();
  });
});
