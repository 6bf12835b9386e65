/**
 * The same handler under Deno (Deno.serve), Bun (Bun.serve), Vercel's edge-runtime (the Vercel
 * adapter) and Node (node:http), each from npm, each answering the same real HTTP requests. A
 * runtime that cannot run here fails its test with the reason (never a skip).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveNode } from '@tideq/edge/node';
import { EdgeRuntime, runServer } from 'edge-runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { smokeHandler } from './fixtures/smoke-app.ts';
import { bundle, WASM_PATH, wasmBytes } from './support/bundle.ts';
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

/** Starts a server process that prints `LISTEN <port>`; fails with its output if it does not. */
async function serve(command: string, args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DENO_DIR: join(dir, 'deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  };
  let output = '';
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no LISTEN line within 30 s:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /LISTEN (\d+)/.exec(output);
        if (match !== null) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`${command} could not start: ${error.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${command} exited with ${code} before listening:\n${output}`));
      });
    });
    return { url: `http://127.0.0.1:${port}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

describe('the same handler on other runtimes', () => {
  it('Deno (Deno.serve, .wasm as bytes)', async () => {
    const deno = binary('deno');
    const server = await serve(deno, [
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
    const server = await serve(bun, ['run', await bundled('bun-entry'), WASM_PATH]);
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
