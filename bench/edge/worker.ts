/** The benchmarked edge entry: the memory queue created on the first request (so cold start includes it). */
import { createMemoryQueue, QueueManager } from '@tideq/core';
import { createEdgeHandler } from '@tideq/edge';
// @ts-expect-error: a CompiledWasm module in workerd (bundled as an external module)
import wasm from '../../packages/core/wasm/tideq_core.wasm';

export default createEdgeHandler<{ TOKEN: string }>({
  store: () => createMemoryQueue({ wasm: wasm as WebAssembly.Module }),
  manager: (store) => new QueueManager(store, { logger: 'silent' }).entrypoint('noop', async () => {}),
  auth: (env) => ({ tokens: [env.TOKEN] }),
});
