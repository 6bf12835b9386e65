/**
 * Builds the playground page into a folder, for paired before/after runs of longtasks.ts: the page
 * as it is in the working tree, or as it was at a commit (`--commit`: that commit's demo/src and
 * index.html, built against the working tree's packages, so a pair differs only in the page).
 *
 *   npx tsx --conditions=source bench/playground/build-page.ts /tmp/page-before --commit 82f5930
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { playgroundConfig } from '../../demo/vite.config.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the page (at `commit`, or the working tree's) into `outDir`. */
export async function buildPage(outDir: string, commit?: string): Promise<void> {
  let root = playgroundConfig.root as string;
  let checkout: string | null = null;
  if (commit) {
    // Inside the repo (gitignored test-output), so the workspace packages resolve as for demo/.
    checkout = join(repo, 'demo', 'test-output', `page-${commit}`);
    rmSync(checkout, { recursive: true, force: true });
    mkdirSync(checkout, { recursive: true });
    const archive = execFileSync('git', ['-C', repo, 'archive', commit, 'demo/src', 'demo/index.html']);
    execFileSync('tar', ['-x', '-C', checkout], { input: archive });
    root = join(checkout, 'demo');
  }
  try {
    await build({
      ...playgroundConfig,
      root,
      configFile: false,
      logLevel: 'warn',
      build: { ...playgroundConfig.build, outDir: resolve(outDir), emptyOutDir: true },
    });
  } finally {
    if (checkout) rmSync(checkout, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { commit: { type: 'string' } },
  });
  const outDir = positionals[0];
  if (!outDir) {
    console.error('usage: build-page.ts <output folder> [--commit <commit>]');
    process.exit(2);
  }
  await buildPage(outDir, values.commit);
  console.log(
    `built the playground page${values.commit ? ` at ${values.commit}` : ''} into ${resolve(outDir)}`,
  );
}
