/**
 * The same handler under Deno (Deno.serve), Bun (Bun.serve), Vercel's edge-runtime (the Vercel
 * adapter) and Node (node:http), each from npm, each answering the same real HTTP requests. A
 * runtime that cannot run here fails its test with the reason (never a skip).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveNode } from '@tideq/edge/node';
import { EdgeRuntime, runServer } from 'edge-runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { smokeHandler } from './fixtures/smoke-app.ts';
import { bundle, WASM_PATH, wasmBytes } from './support/bundle.ts';
import { serve } from './support/process.ts';
import { smoke } from './support/smoke.ts';

const dir = mkdtempSync(join(tmpdir(), 'tideq-edge-runtimes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function binary(name: string): string {
  const path = fileURLToPath(new URL(`../../../node_modules/.bin/${name}`, import.meta.url));
  if (!existsSync(path)) {
    throw new Error(
      `${name} is not installed at ${path}: run \`npm ci\` (it is a devDependency of @tideq/edge)`,
    );
  }
  return path;
}

async function bundled(entry: string, format: 'esm' | 'iife' = 'esm'): Promise<string> {
  const file = join(dir, `${entry}.${format === 'esm' ? 'mjs' : 'js'}`);
  writeFileSync(file, await bundle(new URL(`./fixtures/${entry}.ts`, import.meta.url).href, { format }));
  return file;
}

describe('the same handler on other runtimes', () => {
  it('Deno (Deno.serve, .wasm as bytes)', async () => {
    const deno = binary('deno');
    const server = await serve(deno, dir, [
      'run',
      '--quiet',
      '--allow-read',
      '--allow-net',
      await bundled('deno-entry'),
      WASM_PATH,
    ]);
    try {
      await smoke(server.url);
    } finally {
      await server.stop();
    }
  });

  it('Bun (Bun.serve, .wasm as bytes)', async () => {
    const bun = binary('bun');
    const server = await serve(bun, dir, ['run', await bundled('bun-entry'), WASM_PATH]);
    try {
      await smoke(server.url);
    } finally {
      await server.stop();
    }
  });

  it("Vercel's edge-runtime (the Vercel adapter, .wasm bytes given to the script)", async () => {
    const code = readFileSync(await bundled('edge-runtime-entry', 'iife'), 'utf8');
    const bytes = wasmBytes();
    const runtime = new EdgeRuntime({
      initialCode: code,
      extend: (context) => Object.assign(context, { TIDEQ_WASM: bytes }),
    });
    const server = await runServer({ runtime, port: 0, host: '127.0.0.1' });
    try {
      expect(String(runtime.evaluate('typeof Deno + typeof Bun'))).toBe('undefinedundefined');
      await smoke(server.url.replace(/\/$/, ''));
    } finally {
      await server.close();
    }
  });

  it('Node (node:http, the default .wasm location)', async () => {
    const server = await serveNode(smokeHandler(wasmBytes()));
    try {
      await smoke(server.url);
    } finally {
      await server.close();
    }
  });
});
