/** The queue handler shared by the routes: the WASM memory queue per isolate. */

import { createMemoryQueue, jsonCodec, QueueManager } from '@tideq/core';
import wasm from '@tideq/core/tideq_core.wasm?module';
import { createEdgeHandler } from '@tideq/edge';

interface Env {
  TIDEQ_SIGNING_KEY?: string;
  TIDEQ_TOKEN?: string;
}

export const handler = createEdgeHandler<Env>({
  store: createMemoryQueue({ wasm }),
  manager: (store) =>
    new QueueManager(store, { logger: 'silent' }).entrypoint(
      'email.send',
      { codec: jsonCodec<{ to: string }>(), retryTimer: 30_000 },
      async ({ payload }) => console.log('sending to', payload.to),
    ),
  auth: (env) => ({
    signingKeys: env.TIDEQ_SIGNING_KEY ? { current: env.TIDEQ_SIGNING_KEY } : undefined,
    tokens: env.TIDEQ_TOKEN ? [env.TIDEQ_TOKEN] : [],
  }),
  basePath: '/api/queue',
  // Vercel Edge must start its response within 25 s.
  budget: { ms: 15_000 },
});
