#!/usr/bin/env node
// `npm run build:ts`: tsc -b on every workspace package that builds (scripts/workspaces.mjs), then
// the `@tideq/core/wasm` entry modules (scripts/wasm-entries.mjs), which need the built .wasm.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWasmEntries } from './wasm-entries.mjs';
import { buildablePackages } from './workspaces.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const packages = buildablePackages(root);
console.log(`build:ts: tsc -b ${packages.join(' ')}`);
const res = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-b', ...packages], {
  cwd: root,
  stdio: 'inherit',
});
if (res.status !== 0) process.exit(res.status ?? 1);
try {
  const written = writeWasmEntries(join(root, 'packages/core'));
  console.log(`build:ts: @tideq/core/wasm entries ${written ? 'written' : 'up to date'}`);
} catch (error) {
  console.error(`build:ts: ${error.message}`);
  process.exit(1);
}
