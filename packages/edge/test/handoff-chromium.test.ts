/**
 * Tab-to-server handoff end to end: a real Chromium tab's Worker (IndexedDB outbox, offlineDelivery;
 * the @tideq/web offline fixture) hands jobs to the edge endpoint in real workerd (PostgreSQL via
 * Neon HTTP) with handoffRequest. The tab is offline when it queues them; when the network is back,
 * a proxy in front of the endpoint lets each request through and drops the first answers. Postgres
 * holds each job once.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handoffRequest, type QueueRepository } from '@tideq/core';
import { createPostgresQueue, pgPoolDriver } from '@tideq/postgres';
import pg from 'pg';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, info, url } from '../../postgres/test/helpers.ts';
import { offlineBuildConfig, offlineRoot } from '../../web/test/fixtures/offline/build-config.ts';
import { buildAndServe, launchPersistent, tempDir } from '../../web/test/support/chromium.ts';
import { type RunningWorker, startWorker } from './support/workerd.ts';

const TOKEN = 'token-0123456789abcdef';
const JOBS = 10;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

type Fixture = Record<string, (...args: never[]) => unknown>;
function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([m, a]) =>
      ((globalThis as unknown as { tideq: Fixture }).tideq[m as string] as (...x: unknown[]) => unknown)(
        ...(a as unknown[]),
      ),
    [method, args] as const,
  ) as Promise<T>;
}

async function until(check: () => Promise<boolean>, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('tab-to-server handoff from Chromium to workerd + PostgreSQL', () => {
  let worker: RunningWorker | undefined;
  let proxy: Server | undefined;
  let pool: pg.Pool | undefined;
  let server: QueueRepository;
  let app: Awaited<ReturnType<typeof buildAndServe>> | undefined;
  const out = tempDir('tideq-handoff-build-');
  const answers = new Map<string, number[]>();

  beforeAll(async () => {
    const database = await createDatabase();
    pool = new pg.Pool({ connectionString: url(database), max: 2 });
    server = createPostgresQueue({ driver: pgPoolDriver(pool), listen: false });
    worker = await startWorker(new URL('./fixtures/webhook-worker.ts', import.meta.url), {
      DATABASE_URL: url(database),
      NEON_HTTP_ENDPOINT: `http://127.0.0.1:${info().httpPort}/sql`,
      TOKEN,
      ENDPOINT_KEY: 'endpoint-key-0123456789',
      WEBHOOK_KEY: 'webhook-key-0123456789',
    });
    // The endpoint sits on another origin than the page: the proxy answers the CORS preflight the
    // bearer header causes, forwards the POST, and loses the first answer of every job.
    proxy = createServer(async (req, res) => {
      const cors = {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-allow-methods': 'POST',
      };
      if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
      const body = await readBody(req);
      const key = (JSON.parse(body.toString()) as { jobs: { dedupeKey: string }[] }).jobs[0]!.dedupeKey;
      const upstream = await fetch(`${worker!.url}${req.url}`, {
        method: 'POST',
        headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
        body: new Uint8Array(body),
      });
      const text = await upstream.text();
      const seen = [...(answers.get(key) ?? []), upstream.status];
      answers.set(key, seen);
      if (seen.length === 1) return void res.destroy();
      res.writeHead(upstream.status, { ...cors, 'content-type': 'application/json' }).end(text);
    });
    await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
    app = await buildAndServe(offlineRoot, out.dir, { config: offlineBuildConfig(out.dir) });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    out.remove();
    await worker?.dispose();
    await server?.close();
    await pool?.end();
    proxy?.closeAllConnections();
    await new Promise((resolve) => proxy?.close(resolve));
  });

  it('stores each job once in Postgres although the tab was offline and every first answer is lost', async () => {
    const endpoint = `http://127.0.0.1:${(proxy!.address() as AddressInfo).port}/jobs`;
    const profile = tempDir('tideq-handoff-profile-');
    let context: BrowserContext | undefined;
    try {
      context = await launchPersistent(profile.dir);
      const page = context.pages()[0] ?? (await context.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(app!.url);
      await page.waitForFunction(() => 'tideq' in globalThis, undefined, { timeout: 60_000 });
      expect(await call(page, 'startWorker')).toBe('running');

      await context.setOffline(true);
      const requests = Array.from({ length: JOBS }, (_, n) => {
        const dedupeKey = `cart:${n}`;
        const request = handoffRequest(
          endpoint,
          { entrypoint: 'order.place', payload: { cart: n }, dedupeKey },
          { authorization: `Bearer ${TOKEN}` },
        );
        return { request, dedupeKey };
      });
      expect(await call<number[]>(page, 'workerEnqueueRequests', requests)).toHaveLength(JOBS);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(answers.size).toBe(0); // held while offline

      await context.setOffline(false);
      type State = { size: unknown[]; outbox: { successful: number } };
      await until(
        async () => (await call<State>(page, 'workerState')).outbox.successful === JOBS,
        90_000,
        `${JOBS} handoffs`,
      );
      expect((await call<State>(page, 'workerState')).size).toEqual([]);
      for (let n = 0; n < JOBS; n++) expect(answers.get(`cart:${n}`), `cart:${n}`).toEqual([201, 201]);
      const enqueued = (await server.log({ limit: 10_000 })).filter((e) => e.kind === 'enqueued');
      expect(enqueued).toHaveLength(JOBS);
      const stored = await server.getJobs(enqueued.map((e) => e.jobId));
      expect(stored.map((j) => j?.dedupeKey).sort()).toEqual(
        Array.from({ length: JOBS }, (_, n) => `cart:${n}`).sort(),
      );
      expect(errors).toEqual([]);
    } finally {
      await context?.close();
      profile.remove();
    }
  }, 180_000);
});
