/**
 * Main-thread long tasks of the playground under load: 200,000 jobs enqueued from the page while
 * the worker is paused (the "100,000 at once" button, twice), then resumed: the WASM memory store runs
 * them at up to 5,000 jobs/s (the entrypoint's rate limit) while the page shows everything
 * (counts, slot timeline, charts, job list, log). A PerformanceObserver installed before the
 * page's scripts records every task over 50 ms; the run also reports the rate reached.
 *
 *   npx tsx --conditions=source bench/playground/longtasks.ts [--runs 3] [--seconds 20] [--nice -10]
 *
 * A long task is wall time: on a machine shared with other work the main thread also waits for a
 * CPU. `--nice` runs the page (and the dev server) at that priority, to see the page's own cost;
 * the report gives the load average, and the main thread's busy share (CDP TaskDuration).
 *
 * Writes demo/test-output/longtasks.md (gitignored) and prints the same table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  count,
  launchChromium,
  openPlayground,
  outputDir,
  setField,
  startPlayground,
  waitForText,
} from '../../demo/test/support.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '20' },
    nice: { type: 'string', default: '0' },
  },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const nice = Number(values.nice);
if (nice !== 0) setPriority(nice); // inherited by Chromium and the dev server

interface RunResult {
  enqueueMs: number;
  queuedAtStart: number;
  /** Still waiting when the window ends: above 0, the rate is the engine's, not the backlog running out. */
  queuedAtEnd: number;
  jobsPerSecond: number;
  longTasks: number;
  maxTaskMs: number;
  /** Long tasks while the 100k were being enqueued, counted separately. */
  enqueueLongTasks: number;
  enqueueMaxTaskMs: number;
  /** Share of the window the main thread spent in tasks (CDP Performance TaskDuration). */
  busyPercent: number;
  /** Main-thread tasks whose own CPU time (trace `tdur`) is over 50 ms: the page's work, not waiting for a core. */
  cpuLongTasks: number;
  /** The largest CPU time of a main-thread task over 50 ms of wall time, ms. */
  maxTaskCpuMs: number;
  load: number;
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/** CPU time (ms) of each renderer main-thread task over 50 ms of wall time in a Chromium trace. */
function taskCpu(trace: Buffer): number[] {
  const parsed = JSON.parse(trace.toString()) as { traceEvents: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;
  const main = new Set(
    events
      .filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map((e) => `${e.pid}:${e.tid}`),
  );
  return events
    .filter(
      (e) =>
        e.ph === 'X' &&
        (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') &&
        (e.dur ?? 0) > 50_000 &&
        main.has(`${e.pid}:${e.tid}`),
    )
    .map((e) => (e.tdur ?? e.dur ?? 0) / 1_000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const playground = await startPlayground();
const browser = await launchChromium();
const results: RunResult[] = [];
try {
  for (let run = 0; run < runs; run++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    await context.addInitScript(() => {
      const tasks: { start: number; duration: number }[] = [];
      (globalThis as { longTasks?: unknown }).longTasks = tasks;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) tasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    const w = await openPlayground(context, playground.url, '?reset');
    const page = w.page;
    await setField(page, 'email.send:durationMs', 0);
    await setField(page, 'email.send:requestsPerSecond', 5_000);
    await setField(page, 'maxConcurrentTasks', 200);
    await setField(page, 'batchSize', 500);
    await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'running');
    await page.locator('#pause').click();
    await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'paused', null, {
      polling: 250,
    });
    await new Promise((r) => setTimeout(r, 1_000));
    const t0 = await page.evaluate(() => performance.now());
    const wallStart = Date.now();
    // Twice: at 5,000 jobs/s a single 100,000 would drain within the window, and the rate would
    // measure the backlog running out rather than the engine (and the target is "with 100,000
    // queued"). The second batch keeps over 100,000 waiting through the whole window.
    for (let batch = 0; batch < 2; batch++) {
      await page.evaluate(() => {
        document.querySelector('#enqueue-result')!.textContent = '';
      });
      await page.locator('#enqueue-100k').click();
      await waitForText(page, '#enqueue-result', 'stored 100,000', true);
    }
    const enqueueMs = Date.now() - wallStart;
    const t1 = await page.evaluate(() => performance.now());
    await page.locator('#pause').click(); // resume
    await new Promise((r) => setTimeout(r, 1_500)); // let it reach its pace
    const queuedAtStart = (await count(page, 'queued')) + (await count(page, 'picked'));
    const doneStart = await count(page, 'successful');
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const taskDuration = async () => {
      const { metrics } = (await cdp.send('Performance.getMetrics')) as {
        metrics: { name: string; value: number }[];
      };
      return metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
    };
    // A trace of the window gives each long task's own CPU time (`tdur`) beside its wall time.
    await browser.startTracing(page, {
      categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'],
    });
    const busyStart = await taskDuration();
    const measureStart = await page.evaluate(() => performance.now());
    const wall = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1_000));
    const doneEnd = await count(page, 'successful');
    const queuedAtEnd = (await count(page, 'queued')) + (await count(page, 'picked'));
    const elapsed = (Date.now() - wall) / 1_000;
    const busyPercent = Math.round((((await taskDuration()) - busyStart) / elapsed) * 1000) / 10;
    const cpu = taskCpu(await browser.stopTracing());
    const tasks = await page.evaluate(
      () => (globalThis as unknown as { longTasks: { start: number; duration: number }[] }).longTasks,
    );
    const during = tasks.filter((t) => t.start >= measureStart);
    const enqueueTasks = tasks.filter((t) => t.start >= t0 && t.start <= t1);
    const result: RunResult = {
      enqueueMs,
      queuedAtStart,
      queuedAtEnd,
      jobsPerSecond: Math.round((doneEnd - doneStart) / elapsed),
      longTasks: during.length,
      maxTaskMs: Math.round(Math.max(0, ...during.map((t) => t.duration))),
      enqueueLongTasks: enqueueTasks.length,
      enqueueMaxTaskMs: Math.round(Math.max(0, ...enqueueTasks.map((t) => t.duration))),
      busyPercent,
      cpuLongTasks: cpu.filter((ms) => ms > 50).length,
      maxTaskCpuMs: Math.round(Math.max(0, ...cpu)),
      load: Math.round(loadavg()[0]! * 10) / 10,
    };
    results.push(result);
    console.log(`run ${run + 1}:`, JSON.stringify(result));
    if (w.errors.length > 0) console.log('console errors:', w.errors);
    await context.close();
  }
} finally {
  await browser.close();
  await playground.stop();
}

const rows = results.map(
  (r, i) =>
    `| ${i + 1} | ${r.load} | ${r.queuedAtStart.toLocaleString('en-US')} | ${r.queuedAtEnd.toLocaleString('en-US')} | ${r.jobsPerSecond.toLocaleString('en-US')} | ${r.busyPercent}% | ${r.longTasks} | ${r.maxTaskMs} | ${r.cpuLongTasks} | ${r.maxTaskCpuMs} | ${(r.enqueueMs / 1000).toFixed(1)} s | ${r.enqueueLongTasks} | ${r.enqueueMaxTaskMs} |`,
);
const table = [
  `Measured ${new Date().toISOString()}, ${seconds} s per run, ${runs} runs, nice ${nice}.`,
  '',
  '| run | load avg | queued+picked at start | at end | jobs/s reached | main thread busy | long tasks (> 50 ms) while running | longest task, ms | of those, over 50 ms of CPU | most CPU in one, ms | enqueue of 200k took | long tasks during enqueue | longest, ms |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows,
  `| median | ${median(results.map((r) => r.load))} | ${median(results.map((r) => r.queuedAtStart)).toLocaleString('en-US')} | ${median(results.map((r) => r.queuedAtEnd)).toLocaleString('en-US')} | ${median(results.map((r) => r.jobsPerSecond)).toLocaleString('en-US')} | ${median(results.map((r) => r.busyPercent))}% | ${median(results.map((r) => r.longTasks))} | ${median(results.map((r) => r.maxTaskMs))} | ${median(results.map((r) => r.cpuLongTasks))} | ${median(results.map((r) => r.maxTaskCpuMs))} | ${(median(results.map((r) => r.enqueueMs)) / 1000).toFixed(1)} s | ${median(results.map((r) => r.enqueueLongTasks))} | ${median(results.map((r) => r.enqueueMaxTaskMs))} |`,
].join('\n');
mkdirSync(outputDir, { recursive: true });
writeFileSync(join(outputDir, 'longtasks.md'), `${table}\n`);
console.log(`\n${table}`);
