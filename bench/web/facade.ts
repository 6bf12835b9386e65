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
 *             One more run under a Chromium trace gives each main-thread task's own CPU time beside
 *             its wall time (tracedLongestTaskMs, longestTaskCpuMs): on a loaded machine a task's
 *             wall time is mostly waiting for a core, which no code on the page can shorten.
 * workerCore: bench/core's steady lifecycle (enqueue 1,000 / dequeue 1,000 / complete 1,000,
 *             256-byte payloads) in the page's Worker and in this Node process, alternately.
 * Every figure is the median of 5 runs.
 */
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
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

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

const TASK_NAMES = new Set(['RunTask', 'ThreadControllerImpl::RunTask']);

/** The page's main-thread tasks in a Chromium trace: the longest by wall time and by own CPU time. */
export function mainThreadTasks(trace: Buffer): {
  tasks: number;
  longestWallMs: number;
  longestCpuMs: number;
} {
  const parsed = JSON.parse(trace.toString()) as { traceEvents: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;
  // The renderer's main thread: named CrRendererMain when the trace names it, else the thread the
  // page's timer fired on (the run starts from a setTimeout; the worker's thread has its own name).
  const named = new Map(
    events.filter((e) => e.name === 'thread_name').map((e) => [`${e.pid}:${e.tid}`, e.args?.name]),
  );
  let main = new Set([...named].filter(([, name]) => name === 'CrRendererMain').map(([key]) => key));
  if (main.size === 0) {
    main = new Set(
      events
        .filter((e) => e.name === 'TimerFire' && named.get(`${e.pid}:${e.tid}`) === undefined)
        .map((e) => `${e.pid}:${e.tid}`),
    );
  }
  const tasks = events
    .filter((e) => e.ph === 'X' && main.has(`${e.pid}:${e.tid}`) && TASK_NAMES.has(e.name))
    .sort((a, b) => a.ts - b.ts);
  let longestWall = 0;
  let longestCpu = 0;
  let end = -1;
  let n = 0;
  for (const t of tasks) {
    if (t.ts < end) continue; // nested
    end = t.ts + (t.dur ?? 0);
    n++;
    longestWall = Math.max(longestWall, (t.dur ?? 0) / 1000);
    longestCpu = Math.max(longestCpu, (t.tdur ?? t.dur ?? 0) / 1000);
  }
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { tasks: n, longestWallMs: round(longestWall), longestCpuMs: round(longestCpu) };
}

async function tracedRun(browser: Browser, page: Page) {
  await browser.startTracing(page, {
    categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'],
  });
  const run = (await page.evaluate(
    (inFlight) =>
      (
        globalThis as unknown as { tideqBench: { fromTask(...a: number[]): Promise<unknown> } }
      ).tideqBench.fromTask(200, 1000, 256, inFlight),
    IN_FLIGHT,
  )) as EnqueueRun;
  const tasks = mainThreadTasks(await browser.stopTracing());
  if (process.env.TIDEQ_BENCH_VERBOSE) console.error('traced', run, tasks);
  return tasks;
}

export async function benchFacade(): Promise<{
  facade: {
    enqueuesPerSec: number;
    longestTaskMs: number;
    tracedLongestTaskMs: number;
    longestTaskCpuMs: number;
  };
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
    const traced = await tracedRun(browser, page);
    return {
      facade: {
        enqueuesPerSec: median(facadeRuns.map((r) => r.enqueuesPerSec)),
        longestTaskMs:
          Math.round(Math.max(...facadeRuns.map((r) => Math.max(r.longTaskMs, r.slowestSliceMs))) * 10) / 10,
        tracedLongestTaskMs: traced.longestWallMs,
        longestTaskCpuMs: traced.longestCpuMs,
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
