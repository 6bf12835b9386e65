import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndServe, launchChromium, tempDir } from './support/chromium.ts';

interface StoreDump {
  jobs: Record<string, unknown>[];
  log: unknown[];
  events: unknown[];
  queueSize: unknown[];
  metrics: { ops: Record<string, unknown> };
  calls: unknown;
}

/** What the fixture's encodedVsPort() returns. */
interface EncodedRun {
  results: { facade: unknown[]; port: unknown[] };
  facade: StoreDump;
  port: StoreDump;
  pageEvents: unknown[];
  errors: { facade: { code: string; message: string }[]; port: unknown[]; isTideq: boolean[] };
  unchanged: boolean;
}

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

  // 1,000 common jobs into the WASM store; fewer into the IndexedDB-backed ones (slow on a loaded CI).
  it.each([
    ['memory', 1000],
    ['indexeddb', 200],
    ['durable', 200],
  ])(
    'an encoded batch gives the jobs, events and metrics of port.enqueue; bad input stores nothing (%s store)',
    async (store, n) => {
      const { page, errors } = await open();
      const r = (await page.evaluate(
        ([s, n]) =>
          (globalThis as unknown as { encodedVsPort(s: string, n: number): Promise<unknown> }).encodedVsPort(
            s,
            n,
          ),
        [store, n] as const,
      )) as EncodedRun;
      // Same answers: ids, the store's duplicate error, the skipped position.
      expect(r.results.facade).toEqual(r.results.port);
      expect(r.results.facade[0]).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(r.results.facade[2]).toMatchObject({ name: 'DuplicateJobError', code: 'DUPLICATE_JOB' });
      expect(r.results.facade[3]).toEqual([null, n + 5]);
      // Same jobs (payloads, priorities, times, keys, headers), log, events, metrics.
      expect(r.facade.jobs).toHaveLength(n + 5);
      expect(r.facade.jobs).toEqual(r.port.jobs);
      expect(r.facade.jobs[n + 1]).toMatchObject({ dedupeKey: 'd1', headers: { trace: 'ü', n: [1, 2] } });
      expect(r.facade.jobs[n + 2]).toMatchObject({ entrypoint: 'hang', executeAfter: 4.1e12 });
      expect(r.facade.log).toEqual(r.port.log);
      expect(r.facade.events).toEqual(r.port.events);
      expect(r.facade.events).toHaveLength(n + 5);
      expect(r.pageEvents).toEqual(r.facade.events);
      expect(r.facade.queueSize).toEqual(r.port.queueSize);
      const { subscribe: _a, ...facadeOps } = r.facade.metrics.ops;
      const { subscribe: _b, ...portOps } = r.port.metrics.ops;
      expect({ ...r.facade.metrics, ops: facadeOps }).toEqual({ ...r.port.metrics, ops: portOps });
      expect(r.facade.metrics.ops.enqueue).toEqual({ count: 4, errors: 1 });
      // The WASM store takes the bytes as they are; other stores get jobs decoded in the worker.
      expect(r.facade.calls).toEqual(
        store === 'memory' ? { enqueue: 0, enqueueEncoded: 4 } : { enqueue: 4, enqueueEncoded: 0 },
      );
      // Bad input: the error a store gives for it, typed, and nothing stored.
      expect(r.errors.facade).toEqual(r.errors.port);
      expect(r.errors.isTideq).toEqual([true, true, true, true, true, true]);
      expect(r.errors.facade.map((e) => e.code)).toEqual([
        'INVALID_ARGUMENT',
        'INVALID_ARGUMENT',
        'INVALID_ARGUMENT',
        'INVALID_ARGUMENT',
        'DUPLICATE_JOB',
        'PAYLOAD_TOO_LARGE',
      ]);
      expect(r.errors.facade[0].message).toContain('jobs[1].payload');
      expect(r.errors.facade[1].message).toContain('jobs[1].priority');
      expect(r.unchanged).toBe(true);
      expect(errors).toEqual([]);
      await page.close();
    },
    180_000,
  );

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
