/**
 * tideq on Deno (Deno Deploy or `deno run`): the WASM memory queue, Deno.serve, and a drain every
 * minute with Deno.cron where it exists (Deno Deploy; `--unstable-cron` locally).
 */
import { createMemoryQueue, jsonCodec, QueueManager } from '@tideq/core';
import { createEdgeHandler } from '@tideq/edge';
import { serveDeno } from '@tideq/edge/deno';

declare const Deno: {
  env: { get(name: string): string | undefined };
  readFile(path: string | URL): Promise<Uint8Array>;
  cron?: (name: string, schedule: string, run: () => Promise<unknown>) => unknown;
};

const env = {
  key: Deno.env.get('TIDEQ_SIGNING_KEY') ?? '',
  token: Deno.env.get('TIDEQ_TOKEN'),
};
// Deno reads the .wasm as bytes: from TIDEQ_WASM, else from the installed @tideq/core package.
const wasm = await Deno.readFile(
  Deno.env.get('TIDEQ_WASM') ?? new URL(import.meta.resolve('@tideq/core/tideq_core.wasm')),
);

const handler = createEdgeHandler({
  store: createMemoryQueue({ wasm }),
  manager: (store) =>
    new QueueManager(store, { logger: 'silent' }).entrypoint(
      'email.send',
      { codec: jsonCodec<{ to: string }>(), retryTimer: 30_000 },
      async ({ payload }) => console.log('sending to', payload.to),
    ),
  auth: { signingKeys: { current: env.key }, tokens: env.token ? [env.token] : [] },
});

if (typeof Deno.cron === 'function') Deno.cron('tideq drain', '* * * * *', () => handler.drain());

serveDeno(handler, {
  port: Number(Deno.env.get('PORT') ?? 8000),
  hostname: '127.0.0.1',
  onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}`),
});
