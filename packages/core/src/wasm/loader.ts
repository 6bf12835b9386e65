/**
 * Loads the tideq WASM core in any runtime: Node, browsers, workerd, Deno, Bun. The source may be
 * a compiled WebAssembly.Module (workerd imports .wasm as modules), bytes, a URL or a Response;
 * by default the bundled `packages/core/wasm/tideq_core.wasm` next to this package.
 */
import { InvalidArgumentError } from '../errors.js';
import { ABI_VERSION } from './abi.generated.js';

/**
 * `WebAssembly.Module` and `WebAssembly.Memory` where the program's lib declares them (DOM,
 * WebWorker), else `never`: Node's types have no WebAssembly namespace, and these declarations
 * must type-check in a Node project without the DOM lib (test/consumers, node16 consumer).
 */
type WasmNamespace = typeof globalThis extends { WebAssembly: infer W } ? W : never;
type WasmModule = WasmNamespace extends { Module: { prototype: infer M } } ? M : never;
type WasmMemory = WasmNamespace extends { Memory: { prototype: infer M } } ? M : never;

/** Where the core's bytes come from. */
export type WasmSource =
  | WasmModule
  | ArrayBuffer
  | ArrayBufferView
  | URL
  | string
  | Response
  | PromiseLike<Response>;

/** The ABI version this adapter speaks (wasm-core/abi.json). */
export const CORE_ABI_VERSION = ABI_VERSION;

/** The raw exports of one core instance. */
export interface CoreExports {
  memory: WasmMemory;
  tq_abi_version(): number;
  tq_in_reserve(size: number): number;
  tq_call(op: number, len: number, now: number): number;
  tq_out_ptr(): number;
  tq_out_len(): number;
  /** Memory budget in bytes (0 = none): batches that add jobs beyond it fail with QUEUE_FULL. */
  tq_set_budget(bytes: number): void;
  /** Heap bytes the core holds (what the budget is checked against). */
  tq_heap_bytes(): number;
}

/**
 * The bundled module's location, resolved relative to this file in src/ and in dist/. Computed
 * on first use: some runtimes (workerd) give modules no usable `import.meta.url`, and importing
 * this package there must still work (pass `wasm` explicitly).
 */
export function defaultWasmUrl(): URL {
  try {
    return new URL('../../wasm/tideq_core.wasm', import.meta.url);
  } catch (error) {
    throw new InvalidArgumentError(
      'this runtime gives modules no import.meta.url to find tideq_core.wasm; pass it as options.wasm ' +
        "(a WebAssembly.Module, bytes, a URL or a Response; the file ships as '@tideq/core/tideq_core.wasm')",
      { reason: String(error) },
    );
  }
}

let defaultModule: Promise<WebAssembly.Module> | undefined;

function isResponse(value: unknown): value is Response {
  return typeof Response !== 'undefined' && value instanceof Response;
}

async function fromResponse(response: Response): Promise<WebAssembly.Module> {
  if (!response.ok) {
    throw new InvalidArgumentError(`fetching the tideq core failed: HTTP ${response.status} ${response.url}`);
  }
  // compileStreaming needs the application/wasm content type; fall back to bytes otherwise.
  if (
    typeof WebAssembly.compileStreaming === 'function' &&
    response.headers.get('content-type')?.startsWith('application/wasm')
  ) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

async function fromUrl(url: URL): Promise<WebAssembly.Module> {
  if (url.protocol === 'file:') {
    // Node/Bun/Deno: read the file. The specifier is a variable so browser bundlers never try
    // to resolve node:fs.
    const specifier = 'node:fs/promises';
    const fs = (await import(/* @vite-ignore */ specifier)) as typeof import('node:fs/promises');
    return WebAssembly.compile(await fs.readFile(url));
  }
  return fromResponse(await fetch(url));
}

/** Compile the core from any {@link WasmSource}; the default module is compiled once per process. */
export async function compileCore(source?: WasmSource): Promise<WasmModule> {
  if (source === undefined) {
    defaultModule ??= Promise.resolve()
      .then(() => fromUrl(defaultWasmUrl()))
      .catch((error: unknown) => {
        defaultModule = undefined;
        throw error;
      });
    return defaultModule;
  }
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer) return WebAssembly.compile(source);
  if (ArrayBuffer.isView(source)) {
    return WebAssembly.compile(
      new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice() as Uint8Array<ArrayBuffer>,
    );
  }
  if (source instanceof URL) return fromUrl(source);
  if (typeof source === 'string') return fromUrl(new URL(source, import.meta.url));
  if (isResponse(source)) return fromResponse(source);
  if (typeof (source as PromiseLike<Response>).then === 'function') return fromResponse(await source);
  throw new InvalidArgumentError('wasm must be a WebAssembly.Module, bytes, a URL or a Response');
}

/** A fresh core instance (one per queue), checked for the ABI version this adapter speaks. */
export async function instantiateCore(source?: WasmSource): Promise<CoreExports> {
  const module = await compileCore(source);
  const instance = await WebAssembly.instantiate(module, {});
  const exports = instance.exports as unknown as CoreExports;
  if (typeof exports.tq_abi_version !== 'function' || typeof exports.tq_call !== 'function') {
    throw new InvalidArgumentError('the given WebAssembly module is not a tideq core (missing tq_* exports)');
  }
  const version = exports.tq_abi_version();
  if (version !== CORE_ABI_VERSION) {
    throw new InvalidArgumentError(
      `the tideq core speaks ABI version ${version}; this adapter needs ${CORE_ABI_VERSION} (rebuild with npm run build:wasm)`,
    );
  }
  return exports;
}
