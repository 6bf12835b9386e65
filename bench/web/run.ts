/**
 * The browser stores in real Chromium (issue #12), on an ON-DISK profile (launchPersistentContext):
 *
 *   npm run bench:web              # tables
 *   npm run bench:web -- --json    # one line: {"indexeddb":[...],"rawPuts":[...],"durableMemory":{...},"facade":{...},"workerCore":{...}}
 *   npm run bench:web -- --quick   # one run of each, relaxed only (a smoke check, not a figure)
 *
 * indexeddb:     lifecycle jobs/s of createIndexedDbQueue (rounds of enqueue B / dequeue B /
 *                complete B, 64-byte payloads, a fresh database per run, warm-up rounds first) at
 *                B = 1, 10, 100, with durability 'relaxed' and 'strict'.
 * rawPuts:       the floor, in the same run and profile: plain idb puts of job-sized records, 100
 *                per transaction, no indexes (what "16-18k/s here" refers to).
 * durableMemory: time of one snapshot write (core snapshot + IndexedDB put) of a durable memory
 *                queue holding 10,000 and 50,000 queued jobs, and ms per 10,000 jobs.
 * facade, workerCore: bench/web/facade.ts (issue #13): page-to-worker enqueues/s in batches of 1,000
 *                with the longest main-thread task, and the WASM lifecycle in a Worker beside Node.
 * Every figure is the median of RUNS runs, relaxed and strict alternating.
 */
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { buildAndServe, launchPersistent, tempDir } from '../../packages/web/test/support/chromium.ts';
import { benchFacade } from './facade.ts';

const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 1 : 3;
const BATCHES = [
  { batch: 1, jobs: 300 },
  { batch: 10, jobs: 2000 },
  { batch: 100, jobs: 10000 },
] as const;
const DURABILITIES = QUICK ? (['relaxed'] as const) : (['relaxed', 'strict'] as const);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface Bench {
  lifecycle(batch: number, jobs: number, durability: string): Promise<number>;
  rawPuts(puts: number, durability: string): Promise<number>;
  snapshot(jobs: number): Promise<{ ms: number; bytes: number }>;
}

function call<K extends keyof Bench>(page: Page, method: K, ...args: Parameters<Bench[K]>) {
  return page.evaluate(
    ([m, a]) =>
      (globalThis as unknown as { tideqIdbBench: Record<string, (...x: unknown[]) => unknown> })
        .tideqIdbBench[m]!(...a),
    [method, args] as const,
  ) as ReturnType<Bench[K]>;
}

export interface IndexedDbFigure {
  batch: number;
  durability: 'relaxed' | 'strict';
  jobsPerSec: number;
}

export async function benchStores(): Promise<{
  indexeddb: IndexedDbFigure[];
  rawPuts: { durability: string; putsPerSec: number }[];
  durableMemory: {
    /** One snapshot write of a queue holding 10,000 queued jobs, ms. */
    msPer10kJobs: number;
    snapshots: { jobs: number; snapshotMs: number; bytes: number; msPer10kJobs: number }[];
  };
}> {
  const out = tempDir('tideq-bench-web-');
  const profile = tempDir('tideq-bench-web-profile-');
  const app = await buildAndServe(fileURLToPath(new URL('./indexeddb-app/', import.meta.url)), out.dir);
  const context = await launchPersistent(profile.dir);
  try {
    const page = await context.newPage();
    await page.goto(app.url);
    await page.waitForFunction(() => 'tideqIdbBench' in globalThis);
    const lifecycle = new Map<string, number[]>();
    const raw = new Map<string, number[]>();
    for (let run = 0; run < RUNS; run++) {
      for (const durability of DURABILITIES) {
        raw.set(durability, [
          ...(raw.get(durability) ?? []),
          await call(page, 'rawPuts', 10_000, durability),
        ]);
        for (const { batch, jobs } of BATCHES) {
          const key = `${batch}:${durability}`;
          // strict waits for the disk on every commit: fewer jobs keep the run short.
          const n = durability === 'strict' ? Math.max(batch * 20, jobs / 4) : jobs;
          lifecycle.set(key, [
            ...(lifecycle.get(key) ?? []),
            await call(page, 'lifecycle', batch, n, durability),
          ]);
        }
      }
    }
    const snapshots = [];
    for (const jobs of QUICK ? [10_000] : [10_000, 50_000]) {
      const runs = [];
      for (let run = 0; run < RUNS; run++) runs.push(await call(page, 'snapshot', jobs));
      const ms = median(runs.map((r) => r.ms));
      snapshots.push({
        jobs,
        snapshotMs: Math.round(ms * 10) / 10,
        bytes: median(runs.map((r) => r.bytes)),
        msPer10kJobs: Math.round((ms / jobs) * 10_000 * 10) / 10,
      });
    }
    return {
      indexeddb: DURABILITIES.flatMap((durability) =>
        BATCHES.map(({ batch }) => ({
          batch,
          durability,
          jobsPerSec: Math.round(median(lifecycle.get(`${batch}:${durability}`)!)),
        })),
      ),
      rawPuts: DURABILITIES.map((durability) => ({
        durability,
        putsPerSec: Math.round(median(raw.get(durability)!)),
      })),
      durableMemory: { msPer10kJobs: snapshots[0]!.msPer10kJobs, snapshots },
    };
  } finally {
    await context.close();
    await app.close();
    out.remove();
    profile.remove();
  }
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  // Each section adds its keys to the one printed object.
  const line: Record<string, unknown> = {
    ...(await benchStores()),
    ...(await benchFacade()),
  };
  if (json) {
    console.log(JSON.stringify(line));
    return;
  }
  const stores = line as Awaited<ReturnType<typeof benchStores>>;
  console.log('IndexedDB lifecycle (enqueue B / dequeue B / complete B), on-disk profile, median of', RUNS);
  console.table(stores.indexeddb);
  console.log('raw idb puts, 100 per transaction, same profile');
  console.table(stores.rawPuts);
  console.log('durable memory queue: one snapshot write');
  console.table(stores.durableMemory.snapshots);
  // Sections merged in by other benchmarks (the facade's) print as they are.
  for (const [key, value] of Object.entries(line)) {
    if (!['indexeddb', 'rawPuts', 'durableMemory'].includes(key)) console.log(key, JSON.stringify(value));
  }
}

await main();
