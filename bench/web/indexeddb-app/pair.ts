/**
 * Paired before/after run of the IndexedDB store's lifecycle (bench/RESULTS.md, "Browser stores"):
 * the store's sources at a git commit and the working tree's, alternating in ONE page of one
 * on-disk Chromium profile, with the raw-put floor measured in between; medians over the runs.
 *
 *   npx tsx --conditions=source bench/web/indexeddb-app/pair.ts --before <commit> [--runs 5]
 *     [--batch 100] [--jobs 5000] [--durability relaxed|strict]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAndServe, launchPersistent, tempDir } from '../../../packages/web/test/support/chromium.ts';

const arg = (name: string, fallback?: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i < 0 ? fallback : process.argv[i + 1];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
};
const BEFORE = arg('before');
const RUNS = Number(arg('runs', '5'));
const BATCH = Number(arg('batch', '100'));
const JOBS = Number(arg('jobs', '5000'));
const DURABILITY = arg('durability', 'relaxed');

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const storeDir = 'packages/web/src/indexeddb';
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// The page: this folder's pair-page.ts, with @pair/before = the store's files at BEFORE.
const root = tempDir('tideq-pair-root-');
const out = tempDir('tideq-pair-out-');
const profile = tempDir('tideq-pair-profile-');
const beforeDir = join(root.dir, 'before');
mkdirSync(beforeDir);
const files = execFileSync('git', ['ls-tree', '--name-only', `${BEFORE}:${storeDir}`], {
  cwd: repo,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f.endsWith('.ts'));
for (const file of files)
  writeFileSync(
    join(beforeDir, file),
    execFileSync('git', ['show', `${BEFORE}:${storeDir}/${file}`], { cwd: repo }),
  );
const page = fileURLToPath(new URL('./pair-page.ts', import.meta.url));
writeFileSync(
  join(root.dir, 'index.html'),
  `<!doctype html><html lang="en"><head><meta charset="utf-8" /><link rel="icon" href="data:," /></head>` +
    `<body><script type="module" src="./main.ts"></script></body></html>`,
);
writeFileSync(join(root.dir, 'main.ts'), `import ${JSON.stringify(page)};\n`);

const app = await buildAndServe(root.dir, out.dir, {
  config: {
    resolve: {
      conditions: ['source', 'browser', 'module', 'import', 'default'],
      alias: [
        { find: /^@pair\/before$/, replacement: join(beforeDir, 'index.ts') },
        // The copied files import these from outside the workspace: the working tree's.
        { find: /^@tideq\/core\/adapter$/, replacement: join(repo, 'packages/core/src/adapter/index.ts') },
        { find: /^@tideq\/core$/, replacement: join(repo, 'packages/core/src/index.ts') },
        { find: /^idb$/, replacement: join(repo, 'node_modules/idb/build/index.js') },
      ],
    },
  },
});
const context = await launchPersistent(profile.dir);
try {
  const tab = await context.newPage();
  await tab.goto(app.url);
  await tab.waitForFunction(() => 'tideqIdbPair' in globalThis);
  const call = <T>(method: string, ...args: unknown[]): Promise<T> =>
    tab.evaluate(
      ([m, a]) =>
        (globalThis as unknown as { tideqIdbPair: Record<string, (...x: unknown[]) => T> }).tideqIdbPair[m]!(
          ...a,
        ),
      [method, args] as const,
    );
  type Result = { jobsPerSec: number; enqueueMs: number; dequeueMs: number; completeMs: number };
  const results: Record<string, Result[]> = { before: [], after: [] };
  const raw: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    raw.push(await call<number>('rawPuts', 10_000, DURABILITY));
    // Alternate which goes first.
    for (const variant of run % 2 === 0 ? ['before', 'after'] : ['after', 'before'])
      results[variant]!.push(await call<Result>('lifecycle', variant, BATCH, JOBS, DURABILITY));
    console.error(
      `run ${run + 1}/${RUNS}: before ${Math.round(results.before!.at(-1)!.jobsPerSec)}, after ${Math.round(results.after!.at(-1)!.jobsPerSec)} jobs/s, raw puts ${Math.round(raw.at(-1)!)}/s`,
    );
  }
  const rawPuts = median(raw);
  const rows = Object.entries(results).map(([code, rs]) => {
    const jobsPerSec = median(rs.map((r) => r.jobsPerSec));
    return {
      code: code === 'before' ? `before (${BEFORE})` : 'after (working tree)',
      jobsPerSec: Math.round(jobsPerSec),
      ofRawPuts: Math.round((jobsPerSec / rawPuts) * 1000) / 1000,
      enqueueMs: Math.round(median(rs.map((r) => r.enqueueMs)) * 10) / 10,
      dequeueMs: Math.round(median(rs.map((r) => r.dequeueMs)) * 10) / 10,
      completeMs: Math.round(median(rs.map((r) => r.completeMs)) * 10) / 10,
    };
  });
  console.log(
    `batch ${BATCH}, ${DURABILITY}, ${JOBS} jobs per run, median of ${RUNS}; raw puts ${Math.round(rawPuts)}/s`,
  );
  console.table(rows);
  console.log(JSON.stringify({ batch: BATCH, durability: DURABILITY, rawPuts: Math.round(rawPuts), rows }));
} finally {
  await context.close();
  await app.close();
  root.remove();
  out.remove();
  profile.remove();
}
