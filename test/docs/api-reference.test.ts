/**
 * The API reference (`npm run docs` -> docs/api/) is generated, not committed, so it cannot go stale;
 * what can rot is its source, the doc comments. This runs TypeDoc with typedoc.json (every public
 * entry of every package) without writing pages and fails on any warning: a public export without
 * a doc comment (`validation.notDocumented`), a broken `{@link}`, an `@param` naming no parameter,
 * an exported type a public signature uses but no entry exports.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const typedoc = join(root, 'node_modules/typedoc/bin/typedoc');

describe('API reference (typedoc.json)', () => {
  it('documents every public export of every entry, with no TypeDoc warning', () => {
    expect(existsSync(typedoc), 'typedoc is missing: run `npm ci` (it is a root devDependency)').toBe(true);
    const run = spawnSync(process.execPath, [typedoc, '--emit', 'none', '--logLevel', 'Warn'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      timeout: 280_000,
    });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colours
    const output = `${run.stdout}${run.stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
    const problems = output
      .split('\n')
      .filter((line) => /^\[(warning|error)\]/.test(line) && !/^\[\w+\] Found \d+ errors? and/.test(line));
    expect(problems, `npx typedoc --emit none reported:\n${problems.join('\n')}`).toEqual([]);
    expect(run.status, output).toBe(0);
  });
});
