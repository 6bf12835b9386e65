#!/usr/bin/env node
// The test command (`npm test`, `./run test [vitest args]`). Runs, in order and streaming their output:
//   1. lint       biome check .              (lint + format)
//   2. typecheck  tsc -p tsconfig.json, tsc -p demo/tsconfig.json (the playground)
//   2b. build     tsc -b on every workspace package that builds (scripts/workspaces.mjs; dist/ with .d.ts)
//   3. rust       $CARGO test in wasm-core/  (host target, RUSTC from env; only if wasm-core/Cargo.toml exists)
//   4. vitest     vitest run [args]          (default reporter + json reporter to a temp file)
// Totals come from the runners' own reports (vitest's JSON, cargo's "test result:" lines). A step that
// fails without a failing test of its own (lint, typecheck, a compile error, a crashed run) counts as one
// failure. The very last line is `tests: N passed, M failed[, K skipped]`; the exit code is 1 if anything
// failed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildablePackages } from './workspaces.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const vitestArgs = process.argv.slice(2);

const totals = { passed: 0, failed: 0, skipped: 0 };
const failedSteps = [];

// A hung step (an endless loop in a test, a server that never answers) must not eat CI's whole budget.
const stepTimeoutMs = Number(process.env.TIDEQ_STEP_TIMEOUT_S || 1800) * 1000;
let current = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (current) killGroup(current, 'SIGTERM');
    process.exit(130);
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Runs a command in its own process group, streaming its output; with `capture`, also returns its
 * stdout text. Killed (with its children) after TIDEQ_STEP_TIMEOUT_S seconds (default 1800).
 */
function run(command, args, { cwd = root, env = process.env, capture = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    });
    current = child;
    let out = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.log(`\n[test] ${command} still running after ${stepTimeoutMs / 1000} s: killing it`);
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), 5000).unref();
    }, stepTimeoutMs);
    if (capture) {
      child.stdout.on('data', (chunk) => {
        process.stdout.write(chunk);
        out += chunk.toString();
      });
    }
    child.on('error', (error) => {
      clearTimeout(timer);
      console.error(`[test] cannot start ${command}: ${error.message}`);
      resolve({ code: 127, out, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      resolve({ code: code ?? (signal ? 128 : 1), out, timedOut });
    });
  });
}

function banner(step, what) {
  console.log(`\n[test] ${step}: ${what}`);
}

function stepFailed(step, why) {
  failedSteps.push(`${step} (${why})`);
  console.log(`[test] ${step} FAILED: ${why}`);
}

async function lint() {
  banner('lint', 'biome check .');
  const { code } = await run(bin('biome'), ['check', '.']);
  if (code !== 0) {
    totals.failed += 1;
    stepFailed('lint', `biome exited with ${code}; \`npm run format\` fixes formatting`);
  }
}

// The playground has its own tsconfig (DOM + WebWorker libs, vite/client types).
const typecheckProjects = ['tsconfig.json', 'demo/tsconfig.json'];

async function typecheck() {
  for (const project of typecheckProjects) {
    banner('typecheck', `tsc -p ${project}`);
    const { code } = await run(bin('tsc'), ['-p', project]);
    if (code !== 0) {
      totals.failed += 1;
      stepFailed('typecheck', `tsc -p ${project} exited with ${code}`);
    }
  }
}

async function build() {
  const pkgs = buildablePackages(root);
  banner('build', `tsc -b ${pkgs.join(' ')}`);
  const { code } = await run(bin('tsc'), ['-b', ...pkgs]);
  if (code !== 0) {
    totals.failed += 1;
    stepFailed('build', `tsc -b exited with ${code}`);
  }
}

async function rust() {
  const crate = join(root, 'wasm-core');
  if (!existsSync(join(crate, 'Cargo.toml'))) {
    console.log('\n[test] rust: skipped (no wasm-core/Cargo.toml)');
    return;
  }
  const cargo = process.env.CARGO || 'cargo';
  banner('rust', `${cargo} test (in wasm-core/${process.env.RUSTC ? `, RUSTC=${process.env.RUSTC}` : ''})`);
  const { code, out, timedOut } = await run(cargo, ['test'], { cwd: crate, capture: true });
  let passed = 0;
  let failed = 0;
  let ignored = 0;
  let results = 0;
  // test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s
  for (const m of out.matchAll(/^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/gm)) {
    results += 1;
    passed += Number(m[1]);
    failed += Number(m[2]);
    ignored += Number(m[3]);
  }
  totals.passed += passed;
  totals.failed += failed;
  totals.skipped += ignored;
  if (code !== 0) {
    if (failed === 0) totals.failed += 1;
    const why = timedOut
      ? `timed out after ${stepTimeoutMs / 1000} s (TIDEQ_STEP_TIMEOUT_S)`
      : `exited with ${code}`;
    stepFailed('rust', failed > 0 ? `${failed} failed` : `cargo test ${why}`);
  } else if (results === 0) {
    console.log('[test] rust: cargo test printed no "test result:" line');
  }
}

async function vitest() {
  const dir = mkdtempSync(join(tmpdir(), 'tideq-vitest-'));
  const report = join(dir, 'report.json');
  const args = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs];
  banner('vitest', `vitest ${args.join(' ')}`);
  try {
    const { code, timedOut } = await run(bin('vitest'), args);
    let json = null;
    try {
      json = JSON.parse(readFileSync(report, 'utf8'));
    } catch {
      // no report: vitest crashed before writing it, or found no test files
    }
    let failed = 0;
    if (json) {
      totals.passed += json.numPassedTests ?? 0;
      failed = json.numFailedTests ?? 0;
      totals.skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
      // a test file that fails to load fails no test but fails its suite
      if (failed === 0 && code !== 0) failed = json.numFailedTestSuites || 0;
    }
    if (code !== 0 && failed === 0) failed = 1;
    totals.failed += failed;
    if (timedOut) stepFailed('vitest', `timed out after ${stepTimeoutMs / 1000} s (TIDEQ_STEP_TIMEOUT_S)`);
    else if (code !== 0) {
      stepFailed('vitest', json ? `${failed} failed` : `vitest exited with ${code} and wrote no report`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const started = performance.now();
await lint();
await typecheck();
await build();
await rust();
await vitest();

const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log('');
if (failedSteps.length > 0) console.log(`[test] failed steps: ${failedSteps.join('; ')}`);
else console.log('[test] all steps passed');
console.log(`[test] took ${seconds} s`);
const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : '';
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed${skipped}`);
process.exitCode = failedSteps.length > 0 || totals.failed > 0 ? 1 : 0;
