/**
 * PostgreSQL mode: `./run start --postgres` starts a throwaway local cluster (the tests' own
 * infrastructure), the dev server runs the queue on it through Neon's serverless driver, and the
 * Worker in the page drains 1,000 jobs through the dev server's API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  count,
  enqueue,
  launchChromium,
  openPlayground,
  type Playground,
  screenshot,
  setField,
  startPlayground,
  waitForCount,
  waitForText,
} from './support.ts';

describe('PostgreSQL mode', () => {
  let playground: Playground;

  beforeAll(async () => {
    playground = await startPlayground({ args: ['--postgres'], env: { DATABASE_URL: '' } });
  });
  afterAll(async () => {
    await playground?.stop();
  });

  it('says which driver it uses and drains 1,000 jobs against the throwaway cluster', async () => {
    expect(playground.output()).toContain('throwaway cluster');
    const info = (await (await fetch(`${playground.url}api/pg/info`)).json()) as {
      available: boolean;
      driver: string;
    };
    expect(info.available).toBe(true);
    expect(info.driver).toContain('neonPoolDriver');
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      const w = await openPlayground(context, playground.url, '?reset&store=postgres');
      await waitForText(w.page, '#store-label', 'PostgreSQL via Neon serverless driver');
      await setField(w.page, 'maxConcurrentTasks', 50);
      await w.page.waitForFunction(() => document.querySelector('#state')?.textContent === 'running');
      await enqueue(w.page, 'email.send', 1_000);
      await waitForText(w.page, '#enqueue-result', 'stored 1,000', true);
      await waitForCount(w.page, 'successful', 1_000, 150_000);
      // The status counts and the outcome counts reach the page in different polls and frames:
      // wait for the last picks to show as gone rather than read them in the same instant.
      await waitForCount(w.page, 'picked', 0, 30_000);
      expect(await count(w.page, 'queued')).toBe(0);
      expect(await count(w.page, 'successful')).toBe(1_000);
      await screenshot(w.page, 'postgres-drained');
      expect(w.errors, 'console errors').toEqual([]);
      expect(w.foreign, 'requests to other hosts').toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
