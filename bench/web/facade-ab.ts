/**
 * Paired A/B of the page facade's enqueue across source trees (e.g. an export of an older commit),
 * in ONE Chromium: each tree's bench/web/facade-app is built from that tree's sources and opened
 * in its own page; every round runs the facade bench (200 batches of 1,000 jobs x 256 bytes, 4 in
 * flight, from a page task) once per tree, in rotating order, so all trees see the same load.
 * Reports per tree the medians of enqueues/s and of the longest main-thread task (longtask entry
 * or the longest synchronous slice of a batch), the median per-round ratio to the first tree,
 * then one traced run per tree: each main-thread task's wall time and own CPU time.
 *
 *   npx tsx --conditions=source bench/web/facade-ab.ts --rounds 9 /tmp/tideq-before /work/main
 *
 * A tree needs its own packages/core/wasm/tideq_core.wasm and a node_modules whose @tideq/*
 * links point into that tree (the rest may link to this repo's).
 */
import { join } from 'node:path';
import { buildAndServe, launchChromium, tempDir } from '../../packages/web/test/support/chromium.ts';
import { mainThreadTasks } from './facade.ts';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args.splice(at, 2)[1];
};
const rounds = Number(option('--rounds') ?? 7);
const trees = args;
if (trees.length < 2) throw new Error('give two or more source trees (the first is the baseline)');

interface Run {
  enqueuesPerSec: number;
  longTaskMs: number;
  slowestSliceMs: number;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const runFacade = `(globalThis.tideqBench.fromTask(200, 1000, 256, 4))`;

const dirs = trees.map(() => tempDir('tideq-facade-ab-'));
const apps = await Promise.all(
  trees.map((tree, i) => buildAndServe(join(tree, 'bench/web/facade-app'), dirs[i]!.dir)),
);
const browser = await launchChromium();
try {
  const pages = [];
  for (const app of apps) {
    const page = await browser.newPage();
    await page.goto(app.url);
    await page.waitForFunction(() => 'tideqBench' in globalThis);
    pages.push(page);
  }
  const runs: Run[][] = trees.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < trees.length; k++) {
      const t = (r + k) % trees.length;
      const run = (await pages[t]!.evaluate(runFacade)) as Run;
      runs[t]!.push(run);
      console.error(
        `round ${r + 1} ${trees[t]}: ${run.enqueuesPerSec}/s, longtask ${run.longTaskMs} ms, slice ${run.slowestSliceMs.toFixed(1)} ms`,
      );
    }
  }
  const longest = (x: Run) => Math.max(x.longTaskMs, x.slowestSliceMs);
  const traced: ReturnType<typeof mainThreadTasks>[] = [];
  for (let t = 0; t < trees.length; t++) {
    await browser.startTracing(pages[t]!, {
      categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'],
    });
    await pages[t]!.evaluate(runFacade);
    traced.push(mainThreadTasks(await browser.stopTracing()));
  }
  const result = trees.map((tree, t) => ({
    tree,
    enqueuesPerSec: median(runs[t]!.map((x) => x.enqueuesPerSec)),
    longestTaskMs: Math.round(median(runs[t]!.map(longest)) * 10) / 10,
    runsOver50Ms: runs[t]!.filter((x) => longest(x) > 50).length,
    ratioToFirst:
      Math.round(median(runs[t]!.map((x, r) => x.enqueuesPerSec / runs[0]![r]!.enqueuesPerSec)) * 100) / 100,
    traced: traced[t],
  }));
  console.log(JSON.stringify({ rounds, load: (await import('node:os')).loadavg()[0], result }));
} finally {
  await browser.close();
  for (const app of apps) await app.close();
  for (const d of dirs) d.remove();
}
