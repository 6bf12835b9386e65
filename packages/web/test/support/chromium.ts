/**
 * Node-side helpers for tests that drive real Chromium with playwright-core: several pages,
 * reloads, restarts on one on-disk profile, Vite-built fixture apps served on 127.0.0.1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { build, type InlineConfig, type PreviewServer, preview } from 'vite';
import { chromiumArgs, chromiumPath } from './chromium-path.ts';

export { chromiumArgs, chromiumPath };

/** Launches Debian's Chromium headless (in-memory profile). Close it in afterAll/finally. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs });
}

/**
 * A persistent context on an on-disk profile: IndexedDB survives closing and relaunching it on the
 * same `dir` (the origin includes the port: serve on the same one).
 */
export function launchPersistent(dir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(dir, { executablePath: chromiumPath(), args: chromiumArgs });
}

/** A fresh temporary directory (profile, build output) and its removal. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Workspace packages resolve to their TypeScript sources, as in the Node tests. */
const sourceConditions = ['source', 'browser', 'module', 'import', 'default'];

/**
 * Builds a fixture app (a folder with index.html and its modules) with Vite into `outDir`,
 * the .wasm served as a file (assetsInlineLimit 0), then serves it with `vite preview` on
 * 127.0.0.1 (a free port unless `port` is given). Returns the server and its base URL.
 */
export async function buildAndServe(
  root: string,
  outDir: string,
  options: { port?: number; config?: InlineConfig } = {},
): Promise<{ server: PreviewServer; url: string; close(): Promise<void> }> {
  await build({
    root,
    logLevel: 'warn',
    configFile: false,
    resolve: { conditions: sourceConditions },
    build: { outDir, emptyOutDir: true, assetsInlineLimit: 0, target: 'es2022' },
    worker: { format: 'es' },
    ...options.config,
  });
  const server = await preview({
    root,
    configFile: false,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: options.port ?? 0, strictPort: options.port !== undefined },
  });
  const address = server.httpServer.address();
  if (address === null || typeof address === 'string') throw new Error('vite preview has no TCP address');
  return {
    server,
    url: `http://127.0.0.1:${address.port}/`,
    close: () => server.close(),
  };
}
