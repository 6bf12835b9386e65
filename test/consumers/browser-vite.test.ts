/**
 * Consumer smoke test (b): a Vite app outside the repository, installed from the packed
 * @tideq/core and @tideq/web tarballs (nothing linked), built by its own Vite (production build),
 * runs in real Chromium: the page's connectQueue talks to a module Worker whose hostQueue runs
 * the WASM core (and, in a second run, @tideq/web's IndexedDB store), enqueues jobs and drains them.
 */
import { existsSync, lstatSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../packages/web/test/support/chromium.ts';
import {
  type ConsumerProject,
  installConsumer,
  pick,
  REPO_ROOT,
  scratchDir,
} from './support/offline-consumer.ts';
import { packAll } from './support/pack.ts';

const template = fileURLToPath(new URL('./fixtures/vite-app/', import.meta.url));
const scratch = scratchDir('tideq-consumer-vite-');
let app: ConsumerProject | undefined;
let server: PreviewServer | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  const tarballs = pick(await packAll(), ['@tideq/core', '@tideq/web']);
  app = await installConsumer({
    template,
    dir: join(scratch.dir, 'app'),
    tarballs,
    thirdParty: ['vite', 'typescript'],
    // Vite's own app template: type-check, then build (production).
    scripts: { build: 'tsc -p tsconfig.json && vite build --logLevel warn' },
  });
  // The consumer's own TypeScript and Vite, from its node_modules, with its vite.config.ts.
  await app.npm(['run', 'build']);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  scratch.remove();
});

describe('a Vite app installed from the tarballs (Chromium)', () => {
  it('installs real copies of the packages, outside the repository', () => {
    const dir = app!.dir;
    expect(realpathSync(dir).startsWith(realpathSync(REPO_ROOT))).toBe(false);
    for (const name of ['@tideq/core', '@tideq/web']) {
      const installed = join(dir, 'node_modules', name);
      expect(lstatSync(installed).isSymbolicLink(), `${name} is linked`).toBe(false);
      expect(existsSync(join(installed, 'package.json'))).toBe(true);
    }
    expect(existsSync(join(dir, 'node_modules/@tideq/core/wasm/tideq_core.wasm'))).toBe(true);
  });

  it('emits the WASM core as a file of the build', () => {
    const assets = readdirSync(join(app!.dir, 'dist/assets'));
    expect(assets.filter((f) => f.endsWith('.wasm'))).toHaveLength(1);
    // The page and the worker chunk.
    expect(assets.filter((f) => f.endsWith('.js')).length).toBeGreaterThanOrEqual(2);
  });

  it.each([
    ['memory', 200],
    ['indexeddb', 100],
  ] as const)(
    'enqueues and drains jobs through connectQueue and a hostQueue Worker (%s store)',
    async (store, count) => {
      if (server === undefined) {
        server = await preview({
          root: app!.dir,
          configFile: false,
          logLevel: 'warn',
          preview: { host: '127.0.0.1', port: 0 },
        });
      }
      const address = server.httpServer.address();
      if (address === null || typeof address === 'string') throw new Error('vite preview has no TCP address');
      browser ??= await launchChromium();
      // A fresh context per store: its own (in-memory) IndexedDB.
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const errors: string[] = [];
        const wasmResponses: { status: number; type: string | undefined }[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error') errors.push(message.text());
        });
        page.on('pageerror', (error) => errors.push(String(error)));
        page.on('response', (response) => {
          if (response.url().endsWith('.wasm')) {
            wasmResponses.push({ status: response.status(), type: response.headers()['content-type'] });
          }
        });
        await page.goto(`http://127.0.0.1:${address.port}/`);
        await page.waitForFunction(() => 'smoke' in globalThis, undefined, { timeout: 60_000 });

        const result = (await page.evaluate(
          ([n, s]) =>
            (globalThis as unknown as { smoke(n: number, s: string): Promise<unknown> }).smoke(n, s),
          [count, store] as const,
        )) as Record<string, unknown>;

        expect(result).toMatchObject({
          ids: count,
          distinct: count,
          statuses: { successful: count, failed: 1 },
          boomStatus: 'failed',
          resultIdsMatch: true,
          enqueued: count + 1,
          completed: count,
          failedEvents: 1,
          successful: count,
          state: 'running',
          // Only the dead letter is left.
          queueSize: [{ entrypoint: 'boom', status: 'failed', count: 1 }],
          unknown: { tideq: true, code: 'INVALID_ARGUMENT' },
        });
        expect(result.results).toEqual(Array.from({ length: count }, (_, n) => [n, n * n]));
        expect(result.failedJobs).toEqual([{ id: result.boom, entrypoint: 'boom' }]);
        if (store === 'memory') {
          // The worker fetched the core as a file, served as application/wasm.
          expect(wasmResponses).toEqual([{ status: 200, type: expect.stringContaining('application/wasm') }]);
        }
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    },
    180_000,
  );
});
