/**
 * The examples as users run them: the Cloudflare worker bundled offline by `wrangler deploy
 * --dry-run` and that very output served by workerd; the Deno, Node and Vercel Edge examples on
 * their runtimes. Each answers a signed enqueue and a drain.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeRuntime, runServer } from 'edge-runtime';
import type { Plugin } from 'esbuild';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { afterAll, describe, expect, it } from 'vitest';
import { bundle, WASM_PATH, wasmBytes } from './support/bundle.ts';
import { call } from './support/client.ts';
import { serve } from './support/process.ts';

const KEY = 'example-key-0123456789abcdef';
const root = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'tideq-edge-examples-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A signed email.send job, then a drain that runs it. */
async function enqueueAndDrain(base: string): Promise<void> {
  const posted = await call(base, 'POST', '/jobs', {
    body: { entrypoint: 'email.send', payload: { to: 'ada@example.com' } },
    key: KEY,
  });
  expect(posted.status, JSON.stringify(posted.body)).toBe(201);
  const drained = await call(base, 'POST', '/drain', { key: KEY });
  expect(drained.body).toMatchObject({ processed: 1, succeeded: 1, remaining: 0 });
  const [id] = posted.body.ids as number[];
  expect((await call(base, 'GET', `/jobs/${id}`, { key: KEY })).body).toMatchObject({ status: 'successful' });
}

function wranglerDryRun(config: string, outdir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        join(root, 'node_modules/wrangler/bin/wrangler.js'),
        'deploy',
        '--dry-run',
        '--outdir',
        outdir,
        '-c',
        config,
      ],
      {
        cwd: join(root, 'examples/edge-cloudflare'),
        timeout: 120_000,
        // Workspace packages from their TypeScript sources (published ones resolve to dist/).
        env: {
          ...process.env,
          WRANGLER_BUILD_CONDITIONS: 'source,workerd,worker,browser',
          WRANGLER_SEND_METRICS: 'false',
        },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

describe('examples/edge-cloudflare', () => {
  it('bundles offline with wrangler deploy --dry-run, with and without Neon', async () => {
    const neonOut = join(scratch, 'cf-neon');
    const neon = await wranglerDryRun('wrangler.neon.toml', neonOut);
    expect(neon.code, neon.output).toBe(0);
    expect(readdirSync(neonOut)).toContain('worker-neon.js');
  }, 180_000);

  it('the wrangler output runs in workerd: signed enqueue, drain, the cron trigger', async () => {
    const out = join(scratch, 'cf');
    const built = await wranglerDryRun('wrangler.toml', out);
    expect(built.code, built.output).toBe(0);
    const files = readdirSync(out);
    expect(files).toContain('worker.js');
    const wasm = files.find((f) => f.endsWith('tideq_core.wasm'));
    expect(wasm).toBeDefined();
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        // Exactly the files wrangler would upload.
        modulesRoot: out,
        modules: [
          { type: 'ESModule', path: join(out, 'worker.js') },
          { type: 'CompiledWasm', path: join(out, wasm!) },
        ],
        compatibilityDate: '2025-09-01',
        bindings: { TIDEQ_SIGNING_KEY: KEY },
        unsafeTriggerHandlers: true,
      }),
    );
    try {
      const base = (await mf.ready).toString().replace(/\/$/, '');
      await enqueueAndDrain(base);
      const worker = (await mf.getWorker()) as unknown as {
        scheduled(o: { cron: string }): Promise<{ outcome: string }>;
      };
      expect((await worker.scheduled({ cron: '* * * * *' })).outcome).toBe('ok');
    } finally {
      await mf.dispose();
    }
  }, 180_000);
});

describe('examples/edge-deno', () => {
  it('serves on Deno', async () => {
    const file = join(scratch, 'deno-main.mjs');
    writeFileSync(file, await bundle(new URL('../../../examples/edge-deno/main.ts', import.meta.url).href));
    const server = await serve(
      join(root, 'node_modules/.bin/deno'),
      scratch,
      ['run', '--quiet', '-A', file],
      {
        TIDEQ_WASM: WASM_PATH,
        TIDEQ_SIGNING_KEY: KEY,
        PORT: '0',
      },
    );
    try {
      await enqueueAndDrain(server.url);
    } finally {
      await server.stop();
    }
  });
});

describe('examples/edge-node', () => {
  it('serves on node:http', async () => {
    const server = await serve(
      process.execPath,
      scratch,
      ['--conditions=source', '--import', 'tsx', join(root, 'examples/edge-node/server.ts')],
      { TIDEQ_SIGNING_KEY: KEY, PORT: '0' },
    );
    try {
      await enqueueAndDrain(server.url);
    } finally {
      await server.stop();
    }
  });
});

describe('examples/edge-vercel', () => {
  it("serves /api/queue/* on Vercel's edge-runtime", async () => {
    // What Vercel's bundler does with `?module` (a WebAssembly.Module there; bytes here, since a
    // Module from this realm is not one in the runtime's realm).
    const wasmModule: Plugin = {
      name: 'vercel-wasm-module',
      setup(b) {
        b.onResolve({ filter: /\.wasm\?module$/ }, () => ({ path: 'wasm', namespace: 'vercel-wasm' }));
        b.onLoad({ filter: /.*/, namespace: 'vercel-wasm' }, () => ({
          contents: 'export default globalThis.TIDEQ_WASM_BYTES;',
        }));
      },
    };
    const entry = join(scratch, 'vercel-entry.ts');
    writeFileSync(
      entry,
      `import route from ${JSON.stringify(join(root, 'examples/edge-vercel/api/queue/[...path].ts'))};
addEventListener('fetch', (event) => event.respondWith(route(event.request, event)));`,
    );
    const code = await bundle(`file://${entry}`, { format: 'iife', plugins: [wasmModule] });
    const runtime = new EdgeRuntime({
      initialCode: code,
      extend: (context) =>
        Object.assign(context, {
          TIDEQ_WASM_BYTES: wasmBytes(),
          process: { env: { TIDEQ_SIGNING_KEY: KEY } },
        }),
    });
    const server = await runServer({ runtime, port: 0, host: '127.0.0.1' });
    try {
      await enqueueAndDrain(`${server.url.replace(/\/$/, '')}/api/queue`);
    } finally {
      await server.close();
    }
  });
});
