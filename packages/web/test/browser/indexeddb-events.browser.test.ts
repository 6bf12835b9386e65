// Events between a page and a dedicated Worker on one IndexedDB queue, in real Chromium: each
// side's subscriber gets the other side's commits through BroadcastChannel (polling a minute away),
// every event once and in seq order.
import { describe, expect, it } from 'vitest';
import { createIndexedDbQueue } from '../../src/index.ts';

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('IndexedDB events across a page and a Worker', () => {
  it('delivers commits of either side to the other, once each, in seq order', async () => {
    const name = `events-worker-${Date.now()}`;
    const worker = new Worker(new URL('./indexeddb-subscriber.worker.ts', import.meta.url), {
      type: 'module',
    });
    const page = await createIndexedDbQueue({ name, pollInterval: 60_000 });
    try {
      const inWorker: number[] = [];
      let ready = false;
      worker.onmessage = (event: MessageEvent<{ ready?: boolean; seqs?: number[] }>) => {
        if (event.data.ready) ready = true;
        if (event.data.seqs) inWorker.push(...event.data.seqs);
      };
      worker.postMessage({ open: name });
      await until(() => ready, 'the worker');
      const inPage: number[] = [];
      await page.subscribe((events) => inPage.push(...events.map((e) => e.seq)));

      await page.enqueue([{ entrypoint: 'from-page' }, { entrypoint: 'from-page' }]);
      await until(() => inWorker.length >= 2, "the page's events in the worker");
      worker.postMessage({ enqueue: 3 });
      await until(() => inPage.length >= 5, "the worker's events in the page");
      await page.dequeue({ batchSize: 10, entrypoints: { 'from-worker': {} }, queueManagerId: 'page' });
      await until(() => inWorker.length >= 8, 'the picks in the worker');

      const seqs = (await page.log()).map((e) => e.seq);
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(inPage).toEqual(seqs);
      expect(inWorker).toEqual(seqs);
    } finally {
      worker.terminate();
      await page.close();
    }
  });
});
