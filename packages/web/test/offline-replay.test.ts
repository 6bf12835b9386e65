/**
 * Offline replay in real Chromium: a page goes offline (context.setOffline), queues 50 POSTs in the
 * IndexedDB outbox, asks for a Background Sync and closes; the network comes back with no page of
 * the origin open, and the Service Worker delivers every POST exactly once to a local server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineBuildConfig, offlineRoot } from './fixtures/offline/build-config.ts';
import { buildAndServe, launchPersistent, tempDir } from './support/chromium.ts';

const JOBS = 50;

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

async function until(check: () => boolean | Promise<boolean>, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('offline replay in Chromium (Service Worker + Background Sync)', () => {
  let app: Awaited<ReturnType<typeof buildAndServe>> | undefined;
  const out = tempDir('tideq-offline-build-');
  let target: Server;
  /** Requests received per job number, with the time they arrived. */
  const received = new Map<number, number[]>();

  beforeAll(async () => {
    target = createServer((req, res) => {
      const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*' };
      if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
      req.resume();
      req.on('end', () => {
        const query = new URL(req.url ?? '/', 'http://x').searchParams;
        const n = Number(query.get('base') ?? 0) + Number(query.get('n'));
        received.set(n, [...(received.get(n) ?? []), Date.now()]);
        res.writeHead(200, cors).end('ok');
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    app = await buildAndServe(offlineRoot, out.dir, { config: offlineBuildConfig(out.dir) });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    out.remove();
    target?.closeAllConnections();
    await new Promise((resolve) => target?.close(resolve));
  });

  it('queues 50 POSTs offline, the page closes, and the Service Worker delivers each exactly once when the network is back', async () => {
    const profile = tempDir('tideq-offline-profile-');
    let context: BrowserContext | undefined;
    try {
      context = await launchPersistent(profile.dir);
      const errors: string[] = [];
      // A persistent context opens with one blank page: use it, so closing it leaves none open.
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(app!.url);
      await page.waitForFunction(() => 'tideq' in globalThis, undefined, { timeout: 60_000 });
      const hook = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;

      await context.setOffline(true);
      expect(await call(page, 'online')).toBe(false);
      expect(await call(page, 'enqueue', JOBS, hook)).toBe('sync');
      expect(await call(page, 'queueSize')).toEqual([
        { entrypoint: 'outbox', status: 'queued', priority: 0, count: JOBS },
      ]);
      expect(errors).toEqual([]);
      await page.close();
      expect(context.pages()).toHaveLength(0);
      expect([...received.keys()].filter((n) => n < JOBS)).toHaveLength(0); // nothing went out while offline

      const backOnline = Date.now();
      await context.setOffline(false);
      await until(
        () => [...received.keys()].filter((n) => n < JOBS).length === JOBS,
        90_000,
        `${JOBS} deliveries (got ${received.size})`,
      );
      // Delivered with no page of the origin open: the Service Worker's Background Sync replay.
      expect(context.pages()).toHaveLength(0);

      // A page opened afterwards finds the outbox empty (every job successful, none held or failed).
      const after = await context.newPage();
      await after.goto(app!.url);
      await after.waitForFunction(() => 'tideq' in globalThis, undefined, { timeout: 60_000 });
      await until(
        async () => (await call<unknown[]>(after, 'queueSize')).length === 0,
        30_000,
        'an empty outbox',
      );
      for (let n = 0; n < JOBS; n++) {
        expect(received.get(n), `POST ${n}`).toHaveLength(1);
        expect(received.get(n)![0]).toBeGreaterThanOrEqual(backOnline);
      }
      expect([...received.keys()].filter((n) => n < JOBS)).toHaveLength(JOBS);
    } finally {
      await context?.close();
      profile.remove();
    }
  }, 180_000);

  it('a dedicated Worker holds its deliveries while offline and sends each once at online, spending no attempt', async () => {
    const profile = tempDir('tideq-offline-profile-');
    let context: BrowserContext | undefined;
    const base = 1000; // job numbers of this test: 1000..1019
    try {
      context = await launchPersistent(profile.dir);
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(app!.url);
      await page.waitForFunction(() => 'tideq' in globalThis, undefined, { timeout: 60_000 });
      const hook = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
      expect(await call(page, 'startWorker')).toBe('running');
      await context.setOffline(true);
      const ids = await call<number[]>(page, 'workerEnqueue', 20, `${hook}?base=${base}`);
      expect(ids).toHaveLength(20);
      type State = { size: { status: string; count: number }[]; outbox: { picked: number; retried: number } };
      // The worker picks the 20 jobs and holds them: no request, no retry.
      await until(
        async () => (await call<State>(page, 'workerState')).outbox.picked === 20,
        30_000,
        '20 picked',
      );
      // replay() while offline: the held deliveries re-check navigator.onLine and keep waiting.
      await call(page, 'workerReplay');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const held = await call<State>(page, 'workerState');
      expect(held.size).toEqual([expect.objectContaining({ status: 'picked', count: 20 })]);
      expect(held.outbox.retried).toBe(0);
      const before = [...received.keys()].filter((n) => n >= base).length;
      expect(before).toBe(0);

      await context.setOffline(false);
      await call(page, 'workerReplay'); // no need to wait for the 'online' event or the next poll
      await until(
        async () => (await call<State>(page, 'workerState')).size.length === 0,
        60_000,
        'an empty queue',
      );
      const done = await call<State>(page, 'workerState');
      expect(done.outbox).toMatchObject({ picked: 20, retried: 0 });
      for (let n = 0; n < 20; n++) expect(received.get(base + n), `POST ${n}`).toHaveLength(1);
    } finally {
      await context?.close();
      profile.remove();
    }
  }, 180_000);

  it('without Background Sync, requestReplay asks the Service Worker by message and it delivers at once', async () => {
    const profile = tempDir('tideq-offline-profile-');
    let context: BrowserContext | undefined;
    const base = 2000; // job numbers of this test: 2000..2009
    try {
      context = await launchPersistent(profile.dir);
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(app!.url);
      await page.waitForFunction(() => 'tideq' in globalThis, undefined, { timeout: 60_000 });
      await call(page, 'withoutBackgroundSync');
      const hook = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook?base=${base}`;
      expect(await call(page, 'enqueue', 10, hook)).toBe('message');
      await until(() => [...received.keys()].filter((n) => n >= base).length === 10, 60_000, '10 deliveries');
      await until(
        async () => (await call<unknown[]>(page, 'queueSize')).length === 0,
        30_000,
        'an empty outbox',
      );
      for (let n = 0; n < 10; n++) expect(received.get(base + n), `POST ${n}`).toHaveLength(1);
    } finally {
      await context?.close();
      profile.remove();
    }
  }, 180_000);
});
