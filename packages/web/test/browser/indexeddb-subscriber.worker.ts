// A dedicated Worker for indexeddb-events.browser.test.ts: opens the queue the page names,
// subscribes, reports the seqs it receives, and enqueues when asked.
import { createIndexedDbQueue } from '../../src/index.ts';

let queue: Awaited<ReturnType<typeof createIndexedDbQueue>> | undefined;

self.onmessage = async (event: MessageEvent<{ open?: string; enqueue?: number }>) => {
  if (event.data.open !== undefined) {
    queue = await createIndexedDbQueue({ name: event.data.open, pollInterval: 60_000 });
    await queue.subscribe((events) => postMessage({ seqs: events.map((e) => e.seq) }));
    postMessage({ ready: true });
  } else if (event.data.enqueue !== undefined && queue !== undefined) {
    await queue.enqueue(Array.from({ length: event.data.enqueue }, () => ({ entrypoint: 'from-worker' })));
  }
};
