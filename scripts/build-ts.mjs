#!/usr/bin/env node
// `npm run build:ts`: tsc -b on every workspace package that builds (scripts/workspaces.mjs), then
// the `@tideq/core/wasm` entry modules (scripts/wasm-entries.mjs), which need the built .wasm.
// Outputs in dist/ whose source file is gone are removed first (tsc -b never deletes them, and a
// stale module would otherwise ship in the package).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWasmEntries } from './wasm-entries.mjs';
import { buildablePackages } from './workspaces.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const packages = buildablePackages(root);

/** dist/a/b.{js,d.ts}[.map] whose src/a/b.{ts,tsx,mts} is gone; dist/wasm-source/ is generated. */
function removeStaleOutputs(pkg) {
  const dist = join(root, pkg, 'dist');
  if (!existsSync(dist)) return;
  for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const rel = relative(dist, path);
    if (rel.startsWith('wasm-source') || !/(\.d\.ts|\.js)(\.map)?$/.test(rel)) continue;
    const stem = rel.replace(/(\.d\.ts|\.js)(\.map)?$/, '');
    if (['.ts', '.tsx', '.mts'].some((ext) => existsSync(join(root, pkg, 'src', stem + ext)))) continue;
    console.log(`build:ts: removing ${relative(root, path)} (its source is gone)`);
    rmSync(path);
  }
}
for (const pkg of packages) removeStaleOutputs(pkg);
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
