/** A module worker in real workerd (Miniflare), reachable over HTTP; always dispose() it. */
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { bundle, wasmBytes } from './bundle.ts';

export interface RunningWorker {
  url: string;
  mf: Miniflare;
  dispose(): Promise<void>;
}

export async function startWorker(
  entry: URL | string,
  bindings: Record<string, string> = {},
): Promise<RunningWorker> {
  const script = await bundle(String(entry));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        {
          name: 'tideq-edge-test',
          modules: [
            { type: 'ESModule', path: 'worker.js', contents: script },
            { type: 'CompiledWasm', path: 'tideq_core.wasm', contents: wasmBytes() },
          ],
          compatibilityDate: '2025-09-01',
          bindings,
        },
      ],
      unsafeTriggerHandlers: true,
    }),
  );
  try {
    const url = (await mf.ready).toString().replace(/\/$/, '');
    return { url, mf, dispose: () => mf.dispose() };
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw error;
  }
}
