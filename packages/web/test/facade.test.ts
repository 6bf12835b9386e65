import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndServe, launchChromium, tempDir } from './support/chromium.ts';

// The facade end to end in real Chromium: a Vite-built page, a module Worker running the WASM
// core behind hostQueue(), the page talking to it through connectQueue().
describe('connectQueue + hostQueue in a module Worker (Chromium)', () => {
  const out = tempDir('tideq-web-facade-');
  let app: Awaited<ReturnType<typeof buildAndServe>> | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    app = await buildAndServe(fileURLToPath(new URL('./fixtures/facade/', import.meta.url)), out.dir);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    out.remove();
  });

  async function open(): Promise<{ page: Page; errors: string[] }> {
    if (!app || !browser) throw new Error('setup failed');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(app.url);
    await page.waitForFunction(() => 'drain' in globalThis);
    return { page, errors };
  }

  it('drains 1,000 jobs through the facade, with every event delivered', async () => {
    const { page, errors } = await open();
    const result = await page.evaluate(() =>
      (globalThis as unknown as { drain(n: number): Promise<unknown> }).drain(1000),
    );
    expect(result).toEqual({
      ids: 1000,
      distinct: 1000,
      successful: 1000,
      enqueuedEvents: 1000,
      completedEvents: 1000,
      statsSuccessful: 1000,
      state: 'running',
      queueSize: 0,
      recordsWritten: true,
      subscribersAfter: 0,
    });
    expect(errors).toEqual([]);
    await page.close();
  });

  it.each(['durable', 'indexeddb'])('hosts the %s store the same way', async (store) => {
    const { page, errors } = await open();
    const result = (await page.evaluate(
      (s) => (globalThis as unknown as { drain(n: number, store: string): Promise<unknown> }).drain(200, s),
      store,
    )) as Record<string, unknown>;
    expect(result).toMatchObject({
      ids: 200,
      distinct: 200,
      successful: 200,
      completedEvents: 200,
      queueSize: 0,
    });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('keeps TideqError classes and codes, thrown and returned', async () => {
    const { page } = await open();
    const result = (await page.evaluate(() =>
      (globalThis as unknown as { errors(): Promise<unknown> }).errors(),
    )) as Record<string, Record<string, unknown>>;
    expect(result.unknown).toMatchObject({
      isTideq: true,
      ctor: 'InvalidArgumentError',
      code: 'INVALID_ARGUMENT',
    });
    expect(result.duplicate).toMatchObject({
      isTideq: true,
      ctor: 'DuplicateJobError',
      code: 'DUPLICATE_JOB',
      keys: ['k'],
    });
    expect(result.skipped).toEqual([null]);
    expect(result.badPriority).toMatchObject({ isTideq: true, code: 'INVALID_ARGUMENT' });
    expect(result.waitTimeout).toMatchObject({ isTideq: true, ctor: 'TimeoutError', code: 'TIMEOUT' });
    expect(result.returned).toMatchObject({
      isTideq: true,
      ctor: 'DuplicateJobError',
      code: 'DUPLICATE_JOB',
      keys: ['k1'],
    });
    expect(result.boomStatus).toEqual(['failed']);
    expect(result.failedPayload).toEqual([[7, 8, 9]]);
    expect(result.requeued).toEqual([true]);
    await page.close();
  });

  it('rejects every pending call with a typed error when the worker is terminated', async () => {
    const { page } = await open();
    const result = (await page.evaluate(() =>
      (globalThis as unknown as { terminated(): Promise<unknown> }).terminated(),
    )) as {
      results: Record<string, unknown>[];
      later: Record<string, unknown>;
      closed: Record<string, unknown>;
      early: Record<string, unknown>;
    };
    const gone = { isTideq: true, ctor: 'StorageUnavailableError', code: 'STORAGE_UNAVAILABLE' };
    expect(result.results).toHaveLength(2);
    for (const r of result.results) expect(r).toMatchObject(gone);
    expect(result.later).toMatchObject(gone);
    expect(result.closed).toMatchObject(gone);
    expect(result.early).toMatchObject(gone);
    await page.close();
  });

  it('releases a subscription the page forgot, once it is garbage collected', async () => {
    const { page } = await open();
    const { before } = (await page.evaluate(() =>
      (globalThis as unknown as { forgotten(): Promise<unknown> }).forgotten(),
    )) as { before: number };
    expect(before).toBe(3);
    const cdp = await page.context().newCDPSession(page);
    let after = before;
    for (let i = 0; i < 50 && after !== 1; i++) {
      await cdp.send('HeapProfiler.collectGarbage');
      await page.waitForTimeout(100);
      after = (await page.evaluate(() =>
        (globalThis as unknown as { forgottenAfter(): Promise<number> }).forgottenAfter(),
      )) as number;
    }
    // The two dropped subscriptions are gone; the one still referenced stays.
    expect(after).toBe(1);
    await page.close();
  });
});
