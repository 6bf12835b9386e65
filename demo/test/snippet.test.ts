/**
 * The live code snippet is code, not prose: for each store it is written out as the files it
 * names and type-checked with tsc against the real packages.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { PlaygroundConfig, StoreKind } from '../src/protocol.ts';
import { snippet } from '../src/ui/snippet.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

function config(store: StoreKind): PlaygroundConfig {
  return {
    store,
    paused: false,
    worker: { batchSize: 100, maxConcurrentTasks: 16 },
    schedules: [{ name: 'digest', expression: '*/5 * * * * *', entrypoint: 'report.build', jobsPerTick: 2 }],
    entrypoints: [
      {
        name: 'email.send',
        durationMs: 40,
        failurePercent: 10,
        hangPercent: 0,
        concurrencyLimit: 4,
        requestsPerSecond: 100,
        retryTimer: 5_000,
        maxAttempts: 3,
        timeout: 1_000,
        retryDelay: 200,
      },
      {
        name: 'report.build',
        durationMs: 1_000,
        failurePercent: 0,
        hangPercent: 5,
        concurrencyLimit: 0,
        requestsPerSecond: 0,
        retryTimer: 0,
        maxAttempts: 1,
        timeout: 0,
        retryDelay: 1_000,
      },
    ],
  };
}

const lastEnqueue = {
  entrypoint: 'email.send',
  count: 10,
  priority: 5,
  delayMs: 100,
  dedupeKey: 'k',
  payloadBytes: 64,
};

describe('the code snippet', () => {
  it('type-checks against the real packages for every store', async () => {
    // Inside the repository so the workspace packages resolve; removed afterwards.
    const dir = join(root, 'demo', 'test-output', `snippet-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const files: string[] = [];
      for (const store of ['memory', 'durable', 'indexeddb', 'postgres'] as const) {
        const text = snippet(config(store), lastEnqueue, 'Neon WebSocket Pool');
        const sub = join(dir, store);
        mkdirSync(sub, { recursive: true });
        if (store === 'postgres') {
          writeFileSync(join(sub, 'server.ts'), `export {};\n${text}\n`);
          files.push(join(sub, 'server.ts'));
        } else {
          const [worker, page] = text.split('\n// main.ts: the page\n');
          expect(page, `the ${store} snippet has a page part`).toBeDefined();
          writeFileSync(join(sub, 'queue.worker.ts'), `${worker}\n`);
          writeFileSync(
            join(sub, 'main.ts'),
            `export {};\n${page!.replace("from './queue.worker'", "from './queue.worker.ts'")}\n`,
          );
          files.push(join(sub, 'queue.worker.ts'), join(sub, 'main.ts'));
        }
      }
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          extends: '../../../tsconfig.base.json',
          compilerOptions: {
            noEmit: true,
            composite: false,
            declaration: false,
            declarationMap: false,
            allowImportingTsExtensions: true,
            noUnusedLocals: false,
            types: ['node'],
          },
          files: [
            ...files.map((f) => f.slice(dir.length + 1)),
            '../../../packages/web/src/facade/node-adapter.d.ts',
          ],
        }),
      );
      const tsc = join(root, 'node_modules', '.bin', 'tsc');
      const result = await run(tsc, ['-p', join(dir, 'tsconfig.json')], { cwd: root }).then(
        () => '',
        (error: { stdout?: string }) => error.stdout ?? String(error),
      );
      expect(result).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
