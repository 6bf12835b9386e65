/**
 * Test plumbing: the playground started exactly as a visitor starts it (`npm run start` at the repo
 * root, which `./run start` calls), on a free port, in its own process group so Ctrl-C (SIGINT)
 * reaches the whole tree; Chromium from packages/web's helpers; page checks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freePort } from '../../packages/postgres/test/infra/cluster.ts';

export { launchChromium, launchPersistent, tempDir } from '../../packages/web/test/support/chromium.ts';
export { freePort };

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Screenshots and reports (gitignored). */
export const outputDir = fileURLToPath(new URL('../test-output', import.meta.url));

export interface Playground {
  url: string;
  port: number;
  /** Everything the command printed so far. */
  output(): string;
  /** Ctrl-C: SIGINT to the process group; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function startPlayground(
  options: { port?: number; args?: string[]; env?: Record<string, string> } = {},
): Promise<Playground> {
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    'npm',
    ['run', '--silent', 'start', '--', '--port', String(port), ...(options.args ?? [])],
    {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    },
  );
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode !== null) return child.exitCode;
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      return child.exitCode;
    }
    const code = await Promise.race([
      exited,
      new Promise<'late'>((r) => setTimeout(() => r('late'), 15_000)),
    ]);
    if (code === 'late') {
      process.kill(-child.pid!, 'SIGKILL');
      return exited;
    }
    return code;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed within 120 s:\n${out}`)), 120_000);
      const check = () => {
        const match = /tideq playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the start command exited with ${code}:\n${out}`));
      });
    });
    return { url, port, output: () => out, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface Watched {
  page: Page;
  errors: string[];
  /** Requests to any origin other than the dev server. */
  foreign: string[];
}

/** A page on the playground that records console errors, page errors and foreign requests. */
export async function openPlayground(
  context: Browser | BrowserContext,
  url: string,
  query = '',
): Promise<Watched> {
  const page = await context.newPage();
  const origin = new URL(url).origin;
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('request', (request) => {
    const u = request.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
  });
  await page.goto(url + query);
  await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'running', null, {
    timeout: 60_000,
  });
  return { page, errors, foreign };
}

/** The count shown for a status card (queued, picked, successful, retried, failed, ...). */
export async function count(page: Page, key: string): Promise<number> {
  const text = await page.locator(`[data-count="${key}"]`).textContent();
  return Number((text ?? '').replaceAll(',', ''));
}

/** Waits until the card shows `expected` (generous timeout, polled by the page itself). */
export async function waitForCount(
  page: Page,
  key: string,
  expected: number,
  timeout = 90_000,
): Promise<void> {
  await page.waitForFunction(
    ([k, n]) => document.querySelector(`[data-count="${k}"]`)?.textContent?.replaceAll(',', '') === String(n),
    [key, expected] as const,
    { timeout, polling: 250 },
  );
}

/** Sets a numeric field and fires `change` (how the page applies settings). */
export async function setField(page: Page, name: string, value: number | string): Promise<void> {
  const input = page.locator(`[name="${name}"]`).first();
  await input.fill(String(value));
  await input.dispatchEvent('change');
}

export async function enqueue(
  page: Page,
  entrypoint: string,
  n: number,
  extra: Record<string, string> = {},
): Promise<void> {
  const form = page.locator('#enqueue-form');
  await form.locator('[name="entrypoint"]').selectOption(entrypoint);
  await form.locator('[name="count"]').fill(String(n));
  for (const [k, v] of Object.entries(extra)) await form.locator(`[name="${k}"]`).fill(v);
  await form.locator('button[type="submit"]').click();
  await page.waitForFunction(
    () => /stored|rejected/.test(document.querySelector('#enqueue-result')?.textContent ?? ''),
    null,
    {
      timeout: 60_000,
    },
  );
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(outputDir, { recursive: true });
  await page.screenshot({ path: join(outputDir, `${name}.png`), fullPage: true });
}

/** Waits until the element's text contains `text` (or equals it with `exact`). */
export async function waitForText(page: Page, selector: string, text: string, exact = false): Promise<void> {
  await page.waitForFunction(
    ([sel, t, e]) => {
      const content = document.querySelector(sel)?.textContent ?? '';
      return e ? content === t : content.includes(t);
    },
    [selector, text, exact] as const,
    { timeout: 60_000, polling: 250 },
  );
}
