#!/usr/bin/env node
// Generates the ABI constants from wasm-core/abi.json, builds wasm-core for wasm32-unknown-unknown
// (release) and copies the artifact to packages/core/wasm/tideq_core.wasm. Skips the build when the artifact is newer than every
// source file. Debian's rustc has the wasm32 std; rustup's toolchain (first on PATH) may not,
// hence CARGO/RUSTC default to /usr/bin (see /work/shared/design/RECIPES.md).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'packages/core/wasm/tideq_core.wasm');
const built = join(root, 'target/wasm32-unknown-unknown/release/tideq_core.wasm');
const force = process.argv.includes('--force');

function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else newest = Math.max(newest, s.mtimeMs);
    }
  };
  walk(join(root, 'wasm-core/src'));
  for (const f of ['Cargo.toml', 'wasm-core/Cargo.toml', '.cargo/config.toml']) {
    if (existsSync(join(root, f))) newest = Math.max(newest, statSync(join(root, f)).mtimeMs);
  }
  return newest;
}

function report(path) {
  const bytes = readFileSync(path);
  const gz = gzipSync(bytes, { level: 9 }).length;
  console.log(`tideq_core.wasm: ${bytes.length} bytes raw, ${gz} bytes gzipped (${path})`);
}

// The ABI constants (Rust, TypeScript, ABI.md tables) are generated from wasm-core/abi.json first,
// so a build never uses stale numbers (it rewrites only files whose text changes).
const gen = spawnSync(process.execPath, [join(root, 'wasm-core/scripts/gen-abi.mjs')], { stdio: 'inherit' });
if (gen.status !== 0) {
  console.error('build:wasm: wasm-core/scripts/gen-abi.mjs failed');
  process.exit(1);
}

if (!force && existsSync(out) && statSync(out).mtimeMs > newestSource()) {
  console.log('build:wasm: up to date, skipped (pass --force to rebuild)');
  report(out);
  process.exit(0);
}

const cargo = process.env.CARGO ?? '/usr/bin/cargo';
const env = { ...process.env };
if (env.RUSTC === undefined && existsSync('/usr/bin/rustc')) env.RUSTC = '/usr/bin/rustc';
const res = spawnSync(
  cargo,
  ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'tideq_core'],
  {
    cwd: root,
    env,
    stdio: 'inherit',
  },
);
if (res.error || res.status !== 0) {
  console.error(`build:wasm: ${cargo} failed (${res.error?.message ?? `exit ${res.status}`})`);
  process.exit(1);
}
mkdirSync(dirname(out), { recursive: true });
copyFileSync(built, out);
report(out);
