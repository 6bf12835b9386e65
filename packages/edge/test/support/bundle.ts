/**
 * Bundles a worker entry with esbuild the way wrangler does (ESM, browser platform, workspace
 * packages from their TypeScript sources), leaving `tideq_core.wasm` as a separate module: workerd
 * gets it as a CompiledWasm module (a `WebAssembly.Module` import), other runtimes as bytes.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const WASM_PATH = fileURLToPath(new URL('../../../core/wasm/tideq_core.wasm', import.meta.url));

export function wasmBytes(): Uint8Array<ArrayBuffer> {
  try {
    return new Uint8Array(readFileSync(WASM_PATH));
  } catch (error) {
    throw new Error(`${WASM_PATH} is missing: build it with \`npm run build:wasm\` (${String(error)})`);
  }
}

/** Every `*.wasm` import becomes the external module `tideq_core.wasm`. */
const wasmExternal: Plugin = {
  name: 'tideq-wasm-external',
  setup(b) {
    b.onResolve({ filter: /\.wasm$/ }, () => ({ path: 'tideq_core.wasm', external: true }));
  },
};

export async function bundle(
  entry: string,
  options: { format?: 'esm' | 'iife'; minify?: boolean; conditions?: string[]; plugins?: Plugin[] } = {},
): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    write: false,
    format: options.format ?? 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? false,
    conditions: options.conditions ?? ['source', 'worker', 'browser'],
    plugins: [...(options.plugins ?? []), wasmExternal],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
