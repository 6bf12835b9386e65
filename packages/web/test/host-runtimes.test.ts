import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The same host and facade in Bun's and Deno's Workers (web-style Worker API, default endpoint):
// a server-side runtime keeps the WASM queue off its request thread the same way a page does.
const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('./fixtures/facade-runtimes/main.ts', import.meta.url));

function binary(name: string): string {
  const path = `${root}node_modules/.bin/${name}`;
  if (!existsSync(path)) {
    throw new Error(`${name} not found at ${path}: it comes with the workspace's devDependencies (npm ci)`);
  }
  return path;
}

const expected = {
  successful: 100,
  duplicate: 'DuplicateJobError:DUPLICATE_JOB',
  pending: 'STORAGE_UNAVAILABLE',
  afterTerminate: 'STORAGE_UNAVAILABLE',
};

function lastJsonLine(stdout: string): unknown {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line);
}

describe('hostQueue + connectQueue in Bun and Deno Workers', () => {
  it('Bun: drains a batch, keeps error classes, rejects pending calls on terminate', async () => {
    const { stdout } = await run(binary('bun'), ['--conditions=source', 'run', main], {
      cwd: root,
      timeout: 90_000,
    });
    expect(lastJsonLine(stdout)).toEqual(expected);
  }, 120_000);

  it('Deno: drains a batch, keeps error classes, rejects pending calls on terminate', async () => {
    // --sloppy-imports: the workspace sources import './x.js' for x.ts (NodeNext style).
    const { stdout } = await run(
      binary('deno'),
      ['run', '-A', '--sloppy-imports', '--conditions=source', main],
      { cwd: root, timeout: 90_000, env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(lastJsonLine(stdout)).toEqual(expected);
  }, 120_000);
});
