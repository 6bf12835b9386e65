/**
 * `pg` is an optional peer of @tideq/postgres: the package entry never loads it (edge users do not
 * install it), and only the CLI does, on first use, saying how to get it when it is missing. Run
 * as subprocesses with `pg` made unresolvable (fixtures/no-pg.mjs).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const noPg = fileURLToPath(new URL('./fixtures/no-pg.mjs', import.meta.url));

function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', noPg, '--import', 'tsx', ...args],
      { cwd: root, timeout: 30_000, env: { ...process.env, DATABASE_URL: '' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('pg is an optional peer', () => {
  it('package.json declares it so', () => {
    const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
    expect(pkg.dependencies?.pg).toBeUndefined();
    expect(pkg.peerDependencies?.pg).toBeDefined();
    expect(pkg.peerDependenciesMeta?.pg).toEqual({ optional: true });
  });

  it('the package entry loads without pg', async () => {
    const r = await node([
      '-e',
      "const m = await import('./src/index.ts'); console.log(typeof m.createPostgresQueue, typeof m.neonHttpDriver)",
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function');
  });

  it('the CLI prints help without pg, and says how to get it when a command needs it', async () => {
    let r = await node(['src/cli.ts', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: tideq');
    r = await node(['src/cli.ts', 'verify', '--url', 'postgres://x@127.0.0.1:1/x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('npm install pg');
    expect(r.stderr).not.toContain('unexpected error');
  });
});
