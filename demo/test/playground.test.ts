/**
 * The playground as a visitor uses it: started with the README's command, in Debian's Chromium.
 * Every page asserts no console error and no request to any host but the dev server.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  count,
  enqueue,
  launchChromium,
  launchPersistent,
  openPlayground,
  type Playground,
  screenshot,
  setField,
  startPlayground,
  tempDir,
  type Watched,
  waitForCount,
  waitForText,
} from './support.ts';

function expectClean(w: Watched): void {
  expect(w.errors, 'console errors').toEqual([]);
  expect(w.foreign, 'requests to other hosts').toEqual([]);
}

describe('the start command', () => {
  it('serves the page on 127.0.0.1, prints its URL, and stops on Ctrl-C', async () => {
    const playground = await startPlayground();
    let stopped = false;
    try {
      expect(playground.url).toBe(`http://127.0.0.1:${playground.port}/`);
      const html = await (await fetch(playground.url)).text();
      expect(html).toContain('<title>tideq playground</title>');
      const info = (await (await fetch(`${playground.url}api/pg/info`)).json()) as { available: boolean };
      expect(info.available).toBe(false);
      await playground.stop();
      stopped = true;
      await expect(fetch(playground.url)).rejects.toThrow();
      expect(playground.output()).not.toMatch(/error/i);
    } finally {
      if (!stopped) await playground.stop();
    }
  });
});

describe('the playground', () => {
  let playground: Playground;
  let browser: Browser;

  beforeAll(async () => {
    playground = await startPlayground();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await playground?.stop();
  });

  it('runs 500 enqueued jobs to success and shows them in the counts', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    try {
      const w = await openPlayground(context, playground.url, '?reset');
      await screenshot(w.page, 'empty');
      await enqueue(w.page, 'email.send', 500);
      await waitForText(w.page, '#enqueue-result', 'stored 500', true);
      await waitForCount(w.page, 'successful', 500);
      expect(await count(w.page, 'queued')).toBe(0);
      expect(await count(w.page, 'failed')).toBe(0);
      await w.page.waitForFunction(() =>
        document.querySelector('#jobs-total')?.textContent?.startsWith('500 job'),
      );
      await screenshot(w.page, 'drained-500');
      expectClean(w);
    } finally {
      await context.close();
    }
  });

  it('fills dead letters after max attempts, and requeue empties them', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    try {
      const w = await openPlayground(context, playground.url, '?reset');
      await setField(w.page, 'email.send:failurePercent', 100);
      await setField(w.page, 'email.send:maxAttempts', 2);
      await setField(w.page, 'email.send:retryDelay', 10);
      await enqueue(w.page, 'email.send', 40);
      await waitForCount(w.page, 'failed', 40);
      await w.page.waitForFunction(() => document.querySelectorAll('#dead tr').length > 1);
      const errors = await w.page.locator('#dead td.err').allTextContents();
      expect(errors[0]).toContain('simulated failure (attempt 2)');
      await screenshot(w.page, 'dead-letters');
      // open one dead letter: its detail shows the decoded JSON payload and its attempts
      await w.page.locator('#dead tr button').first().click();
      await waitForText(w.page, '#detail', '"entrypoint": "email.send"');
      await waitForText(w.page, '#detail', 'simulated failure');
      await setField(w.page, 'email.send:failurePercent', 0);
      await w.page.locator('#requeue-all').click();
      await waitForCount(w.page, 'failed', 0);
      await waitForCount(w.page, 'successful', 40);
      await waitForText(w.page, '#dead', 'No dead letters');
      expectClean(w);
    } finally {
      await context.close();
    }
  });

  it('kill the worker: its running jobs come back after the retry timer and all finish', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    try {
      const w = await openPlayground(context, playground.url, '?reset&store=durable');
      await setField(w.page, 'report.build:retryTimer', 1_500);
      await setField(w.page, 'report.build:concurrencyLimit', 0);
      await setField(w.page, 'report.build:requestsPerSecond', 0);
      await setField(w.page, 'report.build:durationMs', 4_000);
      await enqueue(w.page, 'report.build', 30);
      await w.page.waitForFunction(
        () => Number(document.querySelector('[data-count="picked"]')?.textContent) >= 10,
      );
      await new Promise((resolve) => setTimeout(resolve, 600)); // the durable store's next snapshot
      await w.page.locator('#kill').click();
      await waitForText(w.page, '#notice', 'Worker terminated');
      await w.page.waitForFunction(() => document.querySelector('#state')?.textContent === 'running', null, {
        timeout: 60_000,
      });
      await screenshot(w.page, 'worker-killed');
      await waitForCount(w.page, 'successful', 30, 120_000);
      expect(await count(w.page, 'picked')).toBe(0);
      expect(await count(w.page, 'queued')).toBe(0);
      expectClean(w);
    } finally {
      await context.close();
    }
  });

  it('IndexedDB mode keeps its jobs across a reload', async () => {
    const profile = tempDir('tideq-demo-idb-');
    const context = await launchPersistent(profile.dir);
    try {
      const w = await openPlayground(context, playground.url, '?reset&store=indexeddb');
      await waitForText(w.page, '#store-label', 'IndexedDB');
      await w.page.locator('#pause').click();
      await w.page.waitForFunction(() => document.querySelector('#state')?.textContent === 'paused');
      await enqueue(w.page, 'email.send', 300);
      await waitForCount(w.page, 'queued', 300);
      await w.page.reload();
      await w.page.waitForFunction(() => document.querySelector('#state')?.textContent === 'paused', null, {
        timeout: 60_000,
      });
      await waitForCount(w.page, 'queued', 300);
      await w.page.locator('#pause').click(); // resume
      await waitForCount(w.page, 'successful', 300);
      expectClean(w);
    } finally {
      await context.close();
      profile.remove();
    }
  });
});

describe('the controls', () => {
  let playground: Playground;
  let browser: Browser;

  beforeAll(async () => {
    playground = await startPlayground();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await playground?.stop();
  });

  it('labels every control, reaches them by keyboard, and fits a phone screen', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const w = await openPlayground(context, playground.url, '?reset');
      const unnamed = await w.page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('input, select, button, textarea')]
          .filter((el) => {
            const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label');
            return !labelled && (el.textContent ?? '').trim() === '';
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      expect(unnamed).toEqual([]);
      await w.page.keyboard.press('Tab');
      expect(await w.page.evaluate(() => document.activeElement?.id)).toBe('store');
      for (let i = 0; i < 5; i++) await w.page.keyboard.press('Tab');
      expect(await w.page.evaluate(() => document.activeElement?.closest('form')?.id)).toBe('enqueue-form');
      const overflow = await w.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(1);
      await enqueue(w.page, 'email.send', 20);
      await waitForCount(w.page, 'successful', 20);
      await screenshot(w.page, 'phone');
      expectClean(w);
    } finally {
      await context.close();
    }
  });

  it('schedules enqueue on their ticks; payload search finds a job; cancel from its detail', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    try {
      const w = await openPlayground(context, playground.url, '?reset');
      const form = w.page.locator('#schedule-form');
      await form.locator('[name="name"]').fill('every-second');
      await form.locator('[name="expression"]').fill('* * * * * *');
      await form.locator('[name="jobsPerTick"]').fill('3');
      await form.locator('button[type="submit"]').click();
      await waitForText(w.page, '#schedules', 'every-second → 3 × email.send');
      await w.page.waitForFunction(
        () => Number(document.querySelector('[data-count="successful"]')?.textContent) >= 6,
        null,
        {
          timeout: 60_000,
          polling: 250,
        },
      );
      await w.page.waitForFunction(
        () => !document.querySelector('#schedules')?.textContent?.includes('registering'),
        null,
        {
          timeout: 30_000,
          polling: 250,
        },
      );
      await screenshot(w.page, 'schedules');
      await w.page.locator('#schedules button').click();
      await waitForText(w.page, '#schedules', 'No schedules');

      await w.page.locator('#pause').click();
      await w.page.waitForFunction(() => document.querySelector('#state')?.textContent === 'paused', null, {
        polling: 250,
      });
      await enqueue(w.page, 'image.resize', 5, { payloadBytes: '200' });
      await w.page.locator('#jobs-filter [name="text"]').fill('"n":3,');
      await waitForText(w.page, '#jobs-total', '1 job(s)');
      const row = w.page.locator('#jobs-list .rowbtn').first();
      await row.focus();
      await w.page.keyboard.press('Enter');
      await waitForText(w.page, '#detail', '"n": 3');
      await waitForText(w.page, '#detail', '"source":"playground"');
      await w.page.locator('#detail button', { hasText: 'Cancel job' }).click();
      await waitForCount(w.page, 'canceled', 1);
      await waitForText(w.page, '#detail', 'canceled');
      expect(await count(w.page, 'queued')).toBe(4);
      expectClean(w);
    } finally {
      await context.close();
    }
  });

  it('a hanging handler is stopped by its timeout and dead-lettered', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    try {
      const w = await openPlayground(context, playground.url, '?reset');
      await setField(w.page, 'image.resize:hangPercent', 100);
      await setField(w.page, 'image.resize:timeout', 300);
      await setField(w.page, 'image.resize:maxAttempts', 1);
      await enqueue(w.page, 'image.resize', 3);
      await waitForCount(w.page, 'failed', 3);
      await w.page.waitForFunction(
        () =>
          document.querySelector('#dead')?.textContent?.includes('TimeoutError') ||
          document.querySelector('#dead')?.textContent?.includes('timed out'),
        null,
        { timeout: 30_000, polling: 250 },
      );
      expectClean(w);
    } finally {
      await context.close();
    }
  });
});
