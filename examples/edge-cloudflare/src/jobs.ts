/** The handlers this worker runs (shared by both entries). */
import { jsonCodec, QueueManager, type QueueRepository } from '@tideq/core';

export const manager = (store: QueueRepository) =>
  new QueueManager(store, { logger: 'silent' }).entrypoint(
    'email.send',
    // retryTimer: a job picked by an isolate that died mid-drain comes back after 30 s.
    { codec: jsonCodec<{ to: string }>(), retryTimer: 30_000, maxAttempts: 5 },
    async ({ payload }) => {
      console.log('sending to', payload.to); // your side effect here
    },
  );
