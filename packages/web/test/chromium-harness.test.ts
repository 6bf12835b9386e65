import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndServe, launchChromium, tempDir } from './support/chromium.ts';

// Proves the harness the browser tests build on: Vite builds a page + module Worker that loads the
// WASM core as a file, vite preview serves it on 127.0.0.1, Debian's Chromium runs it.
describe('Chromium harness (playwright-core + Vite)', () => {
  const out = tempDir('tideq-web-smoke-');
  let app: Awaited<ReturnType<typeof buildAndServe>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

  beforeAll(async () => {
    app = await buildAndServe(fileURLToPath(new URL('./fixtures/smoke/', import.meta.url)), out.dir);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    out.remove();
  });

  it('runs the WASM core inside a module Worker of a Vite-built page', async () => {
    if (!app || !browser) throw new Error('setup failed');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(app.url);
    const result = await page.evaluate(() => (globalThis as { smokeResult?: Promise<unknown> }).smokeResult);
    expect(result).toEqual({ ids: [1, 2], worker: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
