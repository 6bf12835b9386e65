/** tideq on Cloudflare Workers: the WASM memory queue, kept per isolate. */

import { createMemoryQueue } from '@tideq/core';
import wasm from '@tideq/core/tideq_core.wasm';
import { createEdgeHandler } from '@tideq/edge';
import { manager } from './jobs.ts';

interface Env {
  TIDEQ_SIGNING_KEY: string;
  /** Set during a key rotation: accepted next to the current key. */
  TIDEQ_SIGNING_KEY_NEXT?: string;
  TIDEQ_TOKEN?: string;
}

export default createEdgeHandler<Env>({
  store: createMemoryQueue({ wasm }),
  manager,
  auth: (env) => ({
    signingKeys: { current: env.TIDEQ_SIGNING_KEY, next: env.TIDEQ_SIGNING_KEY_NEXT },
    tokens: env.TIDEQ_TOKEN ? [env.TIDEQ_TOKEN] : [],
  }),
  budget: { ms: 20_000 },
});
