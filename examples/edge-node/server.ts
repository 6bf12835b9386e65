/** tideq behind node:http (also Bun): the WASM memory queue, a drain every 5 s, Ctrl-C to stop. */
import { createMemoryQueue, jsonCodec, QueueManager } from '@tideq/core';
import { createEdgeHandler } from '@tideq/edge';
import { serveNode } from '@tideq/edge/node';

const handler = createEdgeHandler({
  store: createMemoryQueue(), // Node and Bun find the bundled .wasm themselves
  manager: (store) =>
    new QueueManager(store, { logger: 'silent' }).entrypoint(
      'email.send',
      { codec: jsonCodec<{ to: string }>(), retryTimer: 30_000 },
      async ({ payload }) => console.log('sending to', payload.to),
    ),
  auth: {
    signingKeys: { current: process.env.TIDEQ_SIGNING_KEY ?? '' },
    tokens: process.env.TIDEQ_TOKEN ? [process.env.TIDEQ_TOKEN] : [],
  },
});

const server = await serveNode(handler, { port: Number(process.env.PORT ?? 3000) });
const timer = setInterval(() => {
  handler.drain().catch((error: unknown) => console.error('drain failed:', error));
}, 5000);
console.log(`listening on ${server.url}`);

process.once('SIGINT', () => {
  clearInterval(timer);
  void server.close().then(() => process.exit(0));
});
