#!/usr/bin/env node
// Bundle size of each public entry, as an application would ship it: esbuild (the bundler wrangler
// and Vite's dependency pre-bundling use), ESM, minified, for the browser or workerd, gzip -9; plus
// the gzipped .wasm for the entries that load the WASM core. Budgets are in budgets.json (checked by
// test/budgets/budgets.test.ts in `./run test`).
//
//   node scripts/sizes.mjs          a table: entry, JS gzip, .wasm gzip, total, budget
//   node scripts/sizes.mjs --json   one JSON line: { entry: { jsGzip, wasmGzip, gzip, budget } }
//
// Workspace packages resolve to their TypeScript sources (the `source` export condition), so no
// build is needed and the figures follow the working tree; esbuild strips types as tsc does.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { wasmEntryFiles } from './wasm-entries.mjs';

export const root = dirname(dirname(fileURLToPath(import.meta.url)));
export const wasmPath = join(root, 'packages/core/wasm/tideq_core.wasm');

/**
 * The measured entries. `source` is the module an application would write to use the entry;
 * `wasm`: the application also ships tideq_core.wasm.
 */
export const entries = {
  // The whole @tideq/core entry (types, errors, the reference and WASM stores, the runtime, HTTP
  // delivery, croner) and its .wasm.
  core: {
    what: '@tideq/core (everything it exports) + tideq_core.wasm',
    source: "export * from '@tideq/core';",
    conditions: ['browser'],
    wasm: true,
  },
  // What a page loads: the typed facade over the Worker (Comlink, core's error classes).
  webPage: {
    what: '@tideq/web connectQueue (the page facade)',
    source: "export { connectQueue } from '@tideq/web';",
    conditions: ['browser'],
    wasm: false,
  },
  // What the queue's Worker loads: the host with the WASM core and the runtime.
  webWorker: {
    what: '@tideq/web/worker (everything) + createMemoryQueue, QueueManager + tideq_core.wasm',
    source:
      "export * from '@tideq/web/worker'; export { createMemoryQueue, QueueManager } from '@tideq/core';",
    conditions: ['worker', 'browser'],
    wasm: true,
  },
  // An edge worker on the memory queue, as bench/edge/worker.ts: no Neon driver, no Postgres adapter.
  edge: {
    what: '@tideq/edge createEdgeHandler + createMemoryQueue, QueueManager + tideq_core.wasm (no Neon)',
    source:
      "export { createEdgeHandler } from '@tideq/edge'; export { createMemoryQueue, QueueManager } from '@tideq/core';",
    conditions: ['workerd', 'worker', 'browser'],
    wasm: true,
  },
  // The edge entry where the runtime can neither read nor fetch a file (Vercel Edge, Deno without
  // --allow-read): `@tideq/core/wasm` resolves to the bytes inlined as base64 in the JS.
  edgeInline: {
    what: 'edge (createEdgeHandler, createMemoryQueue, QueueManager) + @tideq/core/wasm inlined (base64 in the JS)',
    source:
      "export { createEdgeHandler } from '@tideq/edge'; export { createMemoryQueue, QueueManager } from '@tideq/core';" +
      " export { default as wasm } from '@tideq/core/wasm';",
    conditions: ['edge-light', 'worker', 'browser'],
    wasm: false,
    inlineWasm: true,
  },
  // For comparison: the same worker on PostgreSQL through Neon's HTTP and WebSocket drivers.
  edgeNeon: {
    what: 'edge + @tideq/postgres + @neondatabase/serverless (Neon HTTP and WebSocket drivers) + tideq_core.wasm',
    source:
      "export { createEdgeHandler } from '@tideq/edge'; export { createMemoryQueue, QueueManager } from '@tideq/core';" +
      " export { createPostgresQueue, neonHttpDriver, neonPoolDriver } from '@tideq/postgres';" +
      " export { neon, Pool } from '@neondatabase/serverless';",
    // @neondatabase/serverless is a devDependency of @tideq/edge: resolve from there.
    resolveDir: join(root, 'packages/edge'),
    conditions: ['workerd', 'worker', 'browser'],
    wasm: true,
  },
};

const gzip = (bytes) => gzipSync(bytes, { level: 9 }).byteLength;

/**
 * `@tideq/core/wasm` as the published package resolves it for the inlining runtimes: the generated
 * inline.js (scripts/wasm-entries.mjs, the same text `npm run build` writes to dist/), made here
 * from the working tree's .wasm so no build is needed.
 */
function inlineWasmPlugin() {
  return {
    name: 'tideq-inline-wasm',
    setup(b) {
      b.onResolve({ filter: /^@tideq\/core\/wasm$/ }, () => ({ path: 'inline.js', namespace: 'tideq-wasm' }));
      b.onLoad({ filter: /.*/, namespace: 'tideq-wasm' }, () => ({
        contents: wasmEntryFiles(readFileSync(wasmPath))['inline.js'],
        loader: 'js',
      }));
    },
  };
}

/** Minified ESM bundle of one entry's source (no .wasm file), as text. */
export async function bundleEntry(name) {
  const entry = entries[name];
  const result = await build({
    stdin: {
      contents: entry.source,
      resolveDir: entry.resolveDir ?? root,
      loader: 'js',
      sourcefile: `${name}.js`,
    },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    conditions: ['source', ...entry.conditions],
    // The core reaches node:fs only behind a runtime check, by a computed specifier; a .wasm
    // import (workerd) is a separate module, measured below.
    external: ['node:*', '*.wasm'],
    plugins: entry.inlineWasm ? [inlineWasmPlugin()] : [],
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/** Gzipped sizes of every entry, in bytes, with the budgets from budgets.json. */
export async function measureSizes() {
  if (!existsSync(wasmPath)) {
    throw new Error(`${wasmPath} is missing: build it with \`npm run build:wasm\` (or ./run setup)`);
  }
  const budgets = readBudgets();
  const wasmGzip = gzip(readFileSync(wasmPath));
  const sizes = {};
  for (const name of Object.keys(entries)) {
    const js = await bundleEntry(name);
    const jsGzip = gzip(Buffer.from(js));
    const withWasm = entries[name].wasm ? wasmGzip : 0;
    sizes[name] = { jsGzip, wasmGzip: withWasm, gzip: jsGzip + withWasm, budget: budgets[name] ?? null };
  }
  return sizes;
}

/** budgets.json: entry name -> the largest gzip size in bytes it may have. */
export function readBudgets() {
  const { budgets } = JSON.parse(readFileSync(join(root, 'budgets.json'), 'utf8'));
  return budgets;
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = await measureSizes();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(sizes));
  } else {
    console.log('| entry | what | JS gzip | .wasm gzip | total gzip | budget |');
    console.log('|---|---|---:|---:|---:|---:|');
    for (const [name, s] of Object.entries(sizes)) {
      const budget = s.budget === null ? 'none' : `${s.budget.toLocaleString('en')} B (${kib(s.budget)})`;
      console.log(
        `| ${name} | ${entries[name].what} | ${s.jsGzip.toLocaleString('en')} B | ${s.wasmGzip.toLocaleString('en')} B | **${s.gzip.toLocaleString('en')} B** (${kib(s.gzip)}) | ${budget} |`,
      );
    }
  }
}
