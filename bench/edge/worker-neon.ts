/** The same entry with the Neon driver and the Postgres adapter bundled in (for the size figure). */
import { neon } from '@neondatabase/serverless';
import { createMemoryQueue, QueueManager } from '@tideq/core';
import { createEdgeHandler } from '@tideq/edge';
import { createPostgresQueue, neonHttpDriver } from '@tideq/postgres';
// @ts-expect-error: a CompiledWasm module in workerd (bundled as an external module)
import wasm from '../../packages/core/wasm/tideq_core.wasm';

export default createEdgeHandler<{ TOKEN: string; DATABASE_URL?: string }>({
  store: (env) =>
    env.DATABASE_URL
      ? createPostgresQueue({ driver: neonHttpDriver(neon(env.DATABASE_URL, { fullResults: true })) })
      : createMemoryQueue({ wasm: wasm as WebAssembly.Module }),
  manager: (store) => new QueueManager(store, { logger: 'silent' }).entrypoint('noop', async () => {}),
  auth: (env) => ({ tokens: [env.TOKEN] }),
});
