/**
 * The page facade and the WASM core in a Worker, in real Chromium (issue #13's benchmark).
 *
 *   tsx --conditions=source bench/web/facade.ts          # prints one JSON line
 *
 * facade:     a Vite-built page enqueues 200 batches of 1,000 jobs with 256-byte payloads through
 *             connectQueue() (page codecs: one transferred buffer per batch, 4 batches in flight)
 *             into a paused host on the WASM memory store, started from a page task;
 *             enqueuesPerSec = jobs stored / wall time until the last batch is acknowledged;
 *             longestTaskMs = the longest main-thread task meanwhile: the longest 'longtask'
 *             entry (PerformanceObserver; only tasks over 50 ms make one), or else the longest
 *             synchronous slice of the facade's own work per batch.
 * workerCore: bench/core's steady lifecycle (enqueue 1,000 / dequeue 1,000 / complete 1,000,
 *             256-byte payloads) in the page's Worker and in this Node process, alternately.
 * Every figure is the median of 5 runs.
 */
import { fileURLToPath } from 'node:url';
import { buildAndServe, launchChromium, tempDir } from '../../packages/web/test/support/chromium.ts';
import { lifecycle } from './facade-app/lifecycle.ts';

const RUNS = Number(process.env.TIDEQ_BENCH_RUNS ?? 5);
const IN_FLIGHT = Number(process.env.TIDEQ_BENCH_IN_FLIGHT ?? 4);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface EnqueueRun {
  enqueuesPerSec: number;
  longTaskMs: number;
  slowestSliceMs: number;
  queued: number;
}

export async function benchFacade(): Promise<{
  facade: { enqueuesPerSec: number; longestTaskMs: number };
  workerCore: { jobsPerSec: number; nodeJobsPerSec: number };
}> {
  const out = tempDir('tideq-bench-facade-');
  const app = await buildAndServe(fileURLToPath(new URL('./facade-app/', import.meta.url)), out.dir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(app.url);
    await page.waitForFunction(() => 'tideqBench' in globalThis);
    const facadeRuns: EnqueueRun[] = [];
    const worker: number[] = [];
    const node: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const run = (await page.evaluate(
        (inFlight) =>
          (
            globalThis as unknown as { tideqBench: { fromTask(...a: number[]): Promise<unknown> } }
          ).tideqBench.fromTask(200, 1000, 256, inFlight),
        IN_FLIGHT,
      )) as EnqueueRun;
      if (process.env.TIDEQ_BENCH_VERBOSE) console.error(run);
      facadeRuns.push(run);
      worker.push(
        (await page.evaluate(() =>
          (
            globalThis as unknown as { tideqBench: { workerLifecycle(o: object): Promise<number> } }
          ).tideqBench.workerLifecycle({ rounds: 200 }),
        )) as number,
      );
      node.push(await lifecycle({ rounds: 200 }));
    }
    return {
      facade: {
        enqueuesPerSec: median(facadeRuns.map((r) => r.enqueuesPerSec)),
        longestTaskMs:
          Math.round(Math.max(...facadeRuns.map((r) => Math.max(r.longTaskMs, r.slowestSliceMs))) * 10) / 10,
      },
      workerCore: { jobsPerSec: median(worker), nodeJobsPerSec: median(node) },
    };
  } finally {
    await browser.close();
    await app.close();
    out.remove();
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchFacade()));
}
