// The bench worker: a paused host (enqueues are measured, not the run loop) and the core lifecycle.
import { bytesCodec, createMemoryQueue, QueueManager } from '@tideq/core';
import { hostQueue } from '@tideq/web/worker';
import { lifecycle } from './lifecycle.ts';

export const host = hostQueue({
  store: () => createMemoryQueue(),
  manager: (store) =>
    new QueueManager(store, { logger: 'silent' }).entrypoint('bench', { codec: bytesCodec }, () => {}),
  autoStart: false,
});

export type BenchQueue = typeof host;

addEventListener('message', (event: MessageEvent) => {
  if (event.data?.bench !== 'lifecycle') return;
  void lifecycle(event.data.options).then(
    (jobsPerSec) => postMessage({ bench: 'lifecycle', jobsPerSec }),
    (error: unknown) => postMessage({ bench: 'lifecycle', error: String(error) }),
  );
});
