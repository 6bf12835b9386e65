// The IndexedDB store and the durable memory queue in real Chromium, driven from Node with
// playwright-core: several pages on one queue, reloads, a browser restart on an on-disk profile,
// and the storage quota. The page is test/fixtures/indexeddb/ (Vite-built, served on 127.0.0.1).
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndServe, launchChromium, launchPersistent, tempDir } from './support/chromium.ts';

type Fixture = Record<string, (...args: never[]) => unknown>;

/** Call the fixture's `tideq.<method>(...args)` in the page. */
function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([m, a]) =>
      ((globalThis as unknown as { tideq: Fixture }).tideq[m as string] as (...x: unknown[]) => unknown)(
        ...(a as unknown[]),
      ),
    [method, args] as const,
  ) as Promise<T>;
}

async function ready(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => 'tideq' in globalThis);
}

/** Poll `check` every 100 ms until it holds; fail with `what` after `timeout` ms. */
async function until(check: () => Promise<boolean>, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
let names = 0;
const dbName = (what: string) => `chromium-${what}-${process.pid}-${names++}`;

describe('IndexedDB store in Chromium: pages, reloads, restarts, quota', () => {
  const out = tempDir('tideq-web-idb-');
  let app: Awaited<ReturnType<typeof buildAndServe>> | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    // A fixed port: the origin (and so the IndexedDB data) includes it, and the restart test
    // reopens the same on-disk profile.
    const port = await freePort();
    app = await buildAndServe(fileURLToPath(new URL('./fixtures/indexeddb/', import.meta.url)), out.dir, {
      port,
    });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    out.remove();
  });

  it('two pages on one queue drain 2,000 jobs, each job run exactly once', async () => {
    const context = await browser!.newContext();
    try {
      const [a, b] = [await context.newPage(), await context.newPage()];
      const name = dbName('two-pages');
      for (const page of [a, b]) {
        await ready(page, app!.url);
        await call(page, 'open', name);
        await call(page, 'startWorker', { concurrency: 10, handlerMs: 2 });
      }
      const ids = await call<number[]>(a, 'enqueue', 2000);
      expect(ids).toEqual(range(2000));
      await until(
        async () => (await call<number>(a, 'countStatus', ids, 'successful')) === 2000,
        180_000,
        '2,000 jobs',
      );
      for (const page of [a, b]) await call(page, 'stopWorker');
      const runsA = await call<number[]>(a, 'runs');
      const runsB = await call<number[]>(b, 'runs');
      const all = [...runsA, ...runsB];
      expect(all).toHaveLength(2000);
      expect(new Set(all).size).toBe(2000);
      expect(runsA.length).toBeGreaterThan(0);
      expect(runsB.length).toBeGreaterThan(0);
      expect(await call(a, 'queueSize')).toEqual([]);
      console.log(`two pages: ${runsA.length} + ${runsB.length} runs`);
    } finally {
      await context.close();
    }
  }, 240_000);

  it('an enqueue in one page wakes an idle QueueManager in another (BroadcastChannel, no polling)', async () => {
    const context = await browser!.newContext();
    try {
      const [producer, consumer] = [await context.newPage(), await context.newPage()];
      const name = dbName('wakeup');
      // Every poll is a minute away: only the broadcast can wake the consumer in time.
      for (const page of [producer, consumer]) {
        await ready(page, app!.url);
        await call(page, 'open', name, { pollInterval: 60_000 });
      }
      await call(consumer, 'startWorker', { concurrency: 1, handlerMs: 0, pollInterval: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 500)); // the consumer goes idle
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { id, committedAt } = await call<{ id: number; committedAt: number }>(producer, 'enqueueTimed');
        await until(
          async () => (await call<number | null>(consumer, 'startedAt', id)) !== null,
          20_000,
          `job ${id}`,
        );
        latencies.push((await call<number>(consumer, 'startedAt', id)) - committedAt);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await call(consumer, 'stopWorker');
      expect(latencies).toHaveLength(5);
      console.log(
        `cross-page wakeup, commit to handler start, ms: ${latencies.map((ms) => ms.toFixed(1)).join(', ')}`,
      );
    } finally {
      await context.close();
    }
  }, 120_000);

  it('reloading a page mid-run loses nothing: the jobs it had picked run again after retryTimer', async () => {
    const context = await browser!.newContext();
    try {
      const page = await context.newPage();
      const name = dbName('reload');
      await ready(page, app!.url);
      await call(page, 'open', name);
      const ids = await call<number[]>(page, 'enqueue', 300);
      // Handlers long enough that the page always holds picked jobs when it goes away (with 50 ms
      // ones a loaded machine once reloaded between a batch's completion and the next dequeue).
      const worker = { concurrency: 5, handlerMs: 300, retryTimer: 1000 };
      await call(page, 'startWorker', worker);
      await until(
        async () =>
          (await call<number>(page, 'countStatus', ids, 'successful')) >= 30 &&
          (await call<number>(page, 'countStatus', ids, 'picked')) > 0,
        60_000,
        '30 jobs done and some picked',
      );
      await page.reload(); // mid-run: the jobs picked by the page that goes away
      await page.waitForFunction(() => 'tideq' in globalThis);
      await call(page, 'open', name);
      await call(page, 'startWorker', worker);
      await until(
        async () => (await call<number>(page, 'countStatus', ids, 'successful')) === 300,
        120_000,
        'all 300',
      );
      await call(page, 'stopWorker');
      const picks = await call<Record<number, number>>(page, 'picks');
      const repicked = Object.values(picks).filter((n) => n > 1).length;
      expect(repicked).toBeGreaterThan(0);
      expect(await call(page, 'queueSize')).toEqual([]);
      console.log(`reload: ${repicked} jobs picked by the old page ran again after retryTimer`);
    } finally {
      await context.close();
    }
  }, 240_000);

  it('restarting the browser on the same on-disk profile loses nothing', async () => {
    const profile = tempDir('tideq-web-profile-');
    const name = dbName('restart');
    const worker = { concurrency: 5, handlerMs: 50, retryTimer: 1000 };
    let ids: number[] = [];
    try {
      const first = await launchPersistent(profile.dir);
      try {
        const page = await first.newPage();
        await ready(page, app!.url);
        await call(page, 'open', name);
        ids = await call<number[]>(page, 'enqueue', 200);
        await call(page, 'startWorker', worker);
        await until(
          async () => (await call<number>(page, 'countStatus', ids, 'successful')) >= 20,
          60_000,
          '20 jobs',
        );
      } finally {
        await first.close(); // the browser goes away mid-run
      }
      const second = await launchPersistent(profile.dir);
      try {
        const page = await second.newPage();
        await ready(page, app!.url);
        await call(page, 'open', name);
        expect(await call<number>(page, 'countStatus', ids, 'successful')).toBeGreaterThanOrEqual(20);
        await call(page, 'startWorker', worker);
        await until(
          async () => (await call<number>(page, 'countStatus', ids, 'successful')) === 200,
          120_000,
          'all 200',
        );
        await call(page, 'stopWorker');
        expect(await call(page, 'queueSize')).toEqual([]);
      } finally {
        await second.close();
      }
    } finally {
      profile.remove();
    }
  }, 240_000);

  it('the durable memory queue restores its jobs after a reload (saved on flush, and on pagehide)', async () => {
    const context = await browser!.newContext();
    try {
      const page = await context.newPage();
      const name = dbName('durable');
      await ready(page, app!.url);
      // No timer, no count: only flush() and pagehide save.
      await call(page, 'openDurable', name, 0, 0);
      await call(page, 'enqueue', 100);
      await call(page, 'flush');
      await page.reload();
      await page.waitForFunction(() => 'tideq' in globalThis);
      await call(page, 'openDurable', name, 0, 0);
      expect(await call(page, 'queueSize')).toEqual([
        { entrypoint: 'work', status: 'queued', priority: 0, count: 100 },
      ]);
      await call(page, 'enqueue', 50);
      await page.reload(); // pagehide saves
      await page.waitForFunction(() => 'tideq' in globalThis);
      await call(page, 'openDurable', name, 0, 0);
      expect(await call(page, 'queueSize')).toEqual([
        { entrypoint: 'work', status: 'queued', priority: 0, count: 150 },
      ]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a write beyond the storage quota fails with STORAGE_UNAVAILABLE and writes nothing', async () => {
    const context = await browser!.newContext();
    try {
      const page = await context.newPage();
      await ready(page, app!.url);
      // A 1 MB quota for the origin, set before the database is opened (Chromium applies it to
      // storage opened afterwards).
      const cdp = await context.newCDPSession(page);
      const origin = new URL(app!.url).origin;
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1_000_000 });
      await call(page, 'open', dbName('quota'));
      await call(page, 'enqueue', 10);
      const before = { size: await call(page, 'queueSize'), log: await call<number>(page, 'logLength') };
      const failed = await call<{ ok: boolean; code?: string; message?: string }>(
        page,
        'tryEnqueue',
        50,
        100_000,
      );
      expect(failed.ok).toBe(false);
      expect(failed.code).toBe('STORAGE_UNAVAILABLE');
      expect(failed.message).toMatch(/quota/);
      expect(failed.message).toMatch(/Nothing was written/);
      expect({ size: await call(page, 'queueSize'), log: await call<number>(page, 'logLength') }).toEqual(
        before,
      );
      // Within the quota the same queue goes on working.
      expect(await call(page, 'tryEnqueue', 2, 1_000)).toEqual({ ok: true });
      console.log(`quota: ${failed.message}`);
    } finally {
      await context.close();
    }
  }, 120_000);

  it("runs the README's example (Durable queues in the browser)", async () => {
    const readmeOut = tempDir('tideq-web-readme-');
    const readme = await buildAndServe(
      fileURLToPath(new URL('./fixtures/indexeddb-readme/', import.meta.url)),
      readmeOut.dir,
    );
    const context = await browser!.newContext();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(readme.url);
      await page.waitForFunction(() => 'readmeResult' in globalThis, undefined, { timeout: 60_000 });
      expect(await page.evaluate(() => (globalThis as { readmeResult?: unknown }).readmeResult)).toEqual({
        statuses: ['successful'],
        thumbnails: [{ entrypoint: 'thumbnail', status: 'queued', priority: 0, count: 1 }],
      });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      await readme.close();
      readmeOut.remove();
    }
  }, 120_000);
});
