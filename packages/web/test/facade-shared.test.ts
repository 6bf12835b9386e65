import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndServe, launchChromium, tempDir } from './support/chromium.ts';

interface SharedApi {
  enqueue(from: string, n: number): Promise<number[]>;
  waitAll(ids: number[]): Promise<string[]>;
  seen(kind: string): number[];
  subscribers(): Promise<number>;
}

const call = <K extends keyof SharedApi>(page: Page, name: K, ...args: Parameters<SharedApi[K]>) =>
  page.evaluate(
    ([n, a]) => {
      const api = (globalThis as unknown as { tideqShared: Record<string, (...x: unknown[]) => unknown> })
        .tideqShared;
      return api[n as string]!(...(a as unknown[]));
    },
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<SharedApi[K]>>>;

// One SharedWorker queue for two pages of the origin, in real Chromium.
describe('hostQueue in a SharedWorker, two pages', () => {
  const out = tempDir('tideq-web-shared-');
  let app: Awaited<ReturnType<typeof buildAndServe>> | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    app = await buildAndServe(fileURLToPath(new URL('./fixtures/facade-shared/', import.meta.url)), out.dir);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    out.remove();
  });

  it('both pages enqueue, both see every event; a closed page releases its subscription', async () => {
    if (!app || !browser) throw new Error('setup failed');
    const context = await browser.newContext();
    try {
      const a = await context.newPage();
      const b = await context.newPage();
      await a.goto(app.url);
      await b.goto(app.url);
      await a.waitForFunction(() => 'tideqShared' in globalThis);
      await b.waitForFunction(() => 'tideqShared' in globalThis);
      const [idsA, idsB] = await Promise.all([call(a, 'enqueue', 'a', 150), call(b, 'enqueue', 'b', 150)]);
      const all = [...idsA, ...idsB].sort((x, y) => x - y);
      // One queue: the ids of both pages come from the same store.
      expect(new Set(all).size).toBe(300);
      expect(await call(a, 'waitAll', all)).toEqual(all.map(() => 'successful'));
      expect(await call(b, 'waitAll', all)).toEqual(all.map(() => 'successful'));
      for (const page of [a, b]) {
        await page.waitForFunction(
          () =>
            (globalThis as unknown as { tideqShared: SharedApi }).tideqShared.seen('completed').length >= 300,
          undefined,
          { timeout: 30_000 },
        );
        expect(await call(page, 'seen', 'enqueued')).toEqual(all);
        expect(await call(page, 'seen', 'completed')).toEqual(all);
      }
      expect(await call(a, 'subscribers')).toBe(2);
      await b.close();
      // The worker learns that page b is gone (its Web Lock is released) and drops its subscription.
      let left = 2;
      for (let i = 0; i < 400 && left !== 1; i++) {
        await a.waitForTimeout(50);
        left = await call(a, 'subscribers');
      }
      expect(left).toBe(1);
    } finally {
      await context.close();
    }
  });
});
