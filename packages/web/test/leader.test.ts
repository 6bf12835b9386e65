import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndServe, launchChromium, tempDir } from './support/chromium.ts';

interface LeaderApi {
  tab: string;
  leader(): Promise<boolean>;
  enqueue(n: number, ms: number): Promise<number[]>;
  runs(): { jobId: number; tab: string; attempt: number }[];
  waitAll(ids: number[]): Promise<string[]>;
  completed(): Promise<number[]>;
}

const call = <K extends keyof LeaderApi>(page: Page, name: K, ...args: unknown[]) =>
  page.evaluate(
    ([n, a]) => {
      const api = (globalThis as unknown as { tideqLeader: Record<string, unknown> }).tideqLeader;
      const v = api[n as string];
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown)(...(a as unknown[])) : v;
    },
    [name, args] as const,
  ) as Promise<LeaderApi[K] extends (...a: never[]) => infer T ? Awaited<T> : LeaderApi[K]>;

async function until(check: () => Promise<boolean>, what: string, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

// Leader tab: two tabs, each with its own dedicated worker on one durable memory queue. The
// leader closes mid-run; the other tab takes over and finishes every job.
describe('leader tab (Web Locks) on the durable memory queue', () => {
  const out = tempDir('tideq-web-leader-');
  let app: Awaited<ReturnType<typeof buildAndServe>> | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    app = await buildAndServe(fileURLToPath(new URL('./fixtures/leader/', import.meta.url)), out.dir);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    out.remove();
  });

  it('the leader closes mid-run; the other tab takes over and every job ends successful', async () => {
    if (!app || !browser) throw new Error('setup failed');
    const context = await browser.newContext();
    try {
      const a = await context.newPage();
      await a.goto(app.url);
      await a.waitForFunction(() => 'tideqLeader' in globalThis);
      await until(() => call(a, 'leader'), 'tab a leads');
      const b = await context.newPage();
      await b.goto(app.url);
      await b.waitForFunction(() => 'tideqLeader' in globalThis);
      expect(await call(b, 'leader')).toBe(false);
      const tabA = await call(a, 'tab');
      const tabB = await call(b, 'tab');

      // The follower enqueues: its worker forwards to the leader.
      const ids = await call(b, 'enqueue', 100, 40);
      expect(new Set(ids).size).toBe(100);
      await until(async () => (await call(b, 'runs')).length >= 20, 'the leader has run 20 jobs');
      const closedAt = Date.now();
      await a.close();
      await until(() => call(b, 'leader'), 'tab b took over');
      console.log(`takeover observed ${Date.now() - closedAt} ms after the leader tab closed`);

      expect(await call(b, 'waitAll', ids)).toEqual(ids.map(() => 'successful'));
      // Tab b saw every completion: relayed from a while following, its own after the takeover.
      await until(async () => (await call(b, 'completed')).length >= 100, 'tab b saw 100 completions');
      expect(await call(b, 'completed')).toEqual([...ids].sort((x, y) => x - y));
      const runs = await call(b, 'runs');
      const byJob = new Map<number, { tab: string; attempt: number }[]>();
      for (const r of runs) byJob.set(r.jobId, [...(byJob.get(r.jobId) ?? []), r]);
      // Every job ran; a job ran twice only if the old leader had picked it (its run was lost).
      expect([...byJob.keys()].sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
      const twice = [...byJob.entries()].filter(([, rs]) => rs.length > 1);
      for (const [, rs] of twice) expect(rs[0]!.tab).toBe(tabA);
      const inA = runs.filter((r) => r.tab === tabA).length;
      const inB = runs.filter((r) => r.tab === tabB).length;
      expect(inA).toBeGreaterThanOrEqual(20);
      expect(inB).toBeGreaterThan(0);
      // Exactly once for every job the old leader had not picked: runs = jobs + re-runs.
      expect(runs.length).toBe(100 + twice.reduce((n, [, rs]) => n + rs.length - 1, 0));
      console.log(
        `runs: ${inA} in the old leader, ${inB} in the new one; ${twice.length} jobs ran again after the takeover`,
      );
    } finally {
      await context.close();
    }
  });
});
