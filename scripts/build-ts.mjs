#!/usr/bin/env node
// `npm run build:ts`: tsc -b on every workspace package that builds (scripts/workspaces.mjs).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildablePackages } from './workspaces.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const packages = buildablePackages(root);
console.log(`build:ts: tsc -b ${packages.join(' ')}`);
const res = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-b', ...packages], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
