/**
 * Signed webhooks in real workerd, jobs in the tests' real PostgreSQL through the real Neon HTTP
 * driver. The receiver is a node:http server on 127.0.0.1 that checks every request with
 * @tideq/core's verifySignature and answers 200, 429 with Retry-After, 500 then 200, 404, a hang,
 * or 401 for a key it no longer accepts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpRequestCodec, type QueueRepository, SIGNATURE_HEADER, verifySignature } from '@tideq/core';
import { createPostgresQueue, pgPoolDriver } from '@tideq/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, info, url } from '../../postgres/test/helpers.ts';
import { call } from './support/client.ts';
import { type RunningWorker, startWorker } from './support/workerd.ts';

const TOKEN = 'token-0123456789abcdef';
const KEY_OLD = 'webhook-key-old-0000000';
const KEY_CURRENT = 'webhook-key-current-111';
const KEY_NEXT = 'webhook-key-next-2222222';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Hit {
  path: string;
  at: number;
  method: string;
  body: Buffer;
  signature: string | null;
  verdict: string;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

describe('signed webhooks from workerd, jobs in PostgreSQL via Neon', () => {
  let server: Server;
  let receiver: string;
  let worker: RunningWorker | undefined;
  let pool: pg.Pool | undefined;
  let queue: QueueRepository;
  const hits: Hit[] = [];
  const respondedAt = new Map<string, number>();
  const hanging: ServerResponse[] = [];

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await readBody(req);
      const path = req.url ?? '/';
      const seen = hits.filter((h) => h.path === path).length;
      const signature = (req.headers[SIGNATURE_HEADER] as string | undefined) ?? null;
      // The receiver rotated to KEY_NEXT on /rotated: the sender's KEY_CURRENT is now the old key there.
      const keys = path === '/rotated' ? { current: KEY_NEXT } : { current: KEY_CURRENT, next: KEY_NEXT };
      let verdict = 'ok';
      try {
        await verifySignature({ method: req.method!, url: path, signature, body }, { keys });
      } catch (e) {
        verdict = (e as Error).message;
      }
      hits.push({ path, at: Date.now(), method: req.method!, body, signature, verdict });
      const end = (status: number, text: string, headers: Record<string, string> = {}): void => {
        respondedAt.set(`${path}#${seen}`, Date.now());
        res.writeHead(status, headers).end(text);
      };
      if (verdict !== 'ok') end(401, verdict);
      else if (path === '/ok') end(200, 'thanks');
      else if (path === '/busy') seen === 0 ? end(429, 'slow down', { 'retry-after': '1' }) : end(200, 'ok');
      else if (path === '/flaky') seen === 0 ? end(503, 'restarting') : end(202, '');
      else if (path === '/missing') end(404, 'no such hook');
      else if (path === '/hang') hanging.push(res);
      else end(400, 'unknown path');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const database = await createDatabase();
    pool = new pg.Pool({ connectionString: url(database), max: 2 });
    queue = createPostgresQueue({ driver: pgPoolDriver(pool), listen: false });
    worker = await startWorker(new URL('./fixtures/webhook-worker.ts', import.meta.url), {
      DATABASE_URL: url(database),
      NEON_HTTP_ENDPOINT: `http://127.0.0.1:${info().httpPort}/sql`,
      TOKEN,
      ENDPOINT_KEY: 'endpoint-key-0123456789',
      WEBHOOK_KEY: KEY_CURRENT,
    });
  });

  afterAll(async () => {
    await worker?.dispose();
    await queue?.close();
    await pool?.end();
    for (const res of hanging) res.destroy();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('delivers, retries, honours Retry-After and dead-letters as specified; the receiver verifies each signature', async () => {
    const paths = ['/ok', '/busy', '/flaky', '/missing', '/hang', '/rotated'];
    const posted = await call(worker!.url, 'POST', '/jobs', {
      token: TOKEN,
      body: {
        jobs: paths.map((p) => ({
          entrypoint: p === '/hang' ? 'webhook.short' : 'webhook',
          // A delivery job posted as plain JSON: the request codec reads it as is.
          payload: {
            url: `${receiver}${p}`,
            headers: { 'content-type': 'application/json' },
            body: `{"path":"${p}"}`,
          },
        })),
      },
    });
    expect(posted.status, JSON.stringify(posted.body)).toBe(201);
    const ids = posted.body.ids as number[];
    const [, , , missing, hang, rotated] = ids;

    // Each drain runs what is due now; retries are deferred, so drain until every job settled.
    for (let i = 0; i < 40; i++) {
      const statuses = await queue.jobStatus(ids);
      if (statuses.every((s) => s === 'successful' || s === 'failed')) break;
      const drained = await call(worker!.url, 'POST', '/drain', { token: TOKEN });
      expect(drained.status, JSON.stringify(drained.body)).toBe(200);
      await sleep(300);
    }
    expect(await queue.jobStatus(ids)).toEqual([
      'successful',
      'successful',
      'successful',
      'failed',
      'failed',
      'failed',
    ]);
    const count = (p: string) => hits.filter((h) => h.path === p).length;
    expect(paths.map(count)).toEqual([1, 2, 2, 1, 3, 1]);
    // Every request reaching the receiver was signed by workerd with the current key and accepted,
    // except on /rotated, where that key is no longer accepted.
    for (const h of hits) expect(h.verdict, h.path).toBe(h.path === '/rotated' ? h.verdict : 'ok');
    expect(hits.find((h) => h.path === '/rotated')!.verdict).toMatch(/bad signature/);
    expect(hits.find((h) => h.path === '/ok')!.body.toString()).toBe('{"path":"/ok"}');
    // Retry-After: 1 held the second /busy attempt at least a second (its backoff alone is 20-50 ms).
    const busyHits = hits.filter((h) => h.path === '/busy');
    expect(busyHits[1]!.at - respondedAt.get('/busy#0')!).toBeGreaterThanOrEqual(950);

    const dead = new Map((await queue.failedJobs({ limit: 10 })).map((j) => [j.id, j]));
    expect([...dead.keys()].sort()).toEqual([missing, hang, rotated].sort());
    expect(dead.get(missing!)).toMatchObject({ attempts: 1, lastError: 'HTTP 404 Not Found: no such hook' });
    expect(dead.get(rotated!)!.lastError).toMatch(/^HTTP 401 Unauthorized: bad signature/);
    expect(dead.get(hang!)!.attempts).toBe(3);
    expect(dead.get(hang!)!.lastError).toMatch(/TimeoutError: no answer .* within 1500 ms/);
    expect(httpRequestCodec.decode(dead.get(missing!)!.payload)).toMatchObject({
      url: `${receiver}/missing`,
    });

    // The receiver's checks on requests made in workerd: a replay, a tampered body and an old key are refused.
    const first = hits.find((h) => h.path === '/ok')!;
    const keys = { current: KEY_CURRENT, next: KEY_NEXT };
    const again = { method: first.method, url: first.path, signature: first.signature, body: first.body };
    await expect(verifySignature(again, { keys })).rejects.toThrow(/replay/);
    const tampered = { ...again, body: Buffer.from('{"path":"/ok","admin":true}') };
    await expect(verifySignature(tampered, { keys })).rejects.toThrow(/bad signature/);
    const flakyRetry = hits.filter((h) => h.path === '/flaky')[1]!;
    const oldKey = { method: 'POST', url: '/flaky', signature: flakyRetry.signature, body: flakyRetry.body };
    await expect(verifySignature(oldKey, { keys: { current: KEY_NEXT, next: KEY_OLD } })).rejects.toThrow(
      /bad signature/,
    );
  });
});
