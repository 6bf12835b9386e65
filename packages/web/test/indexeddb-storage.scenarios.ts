/**
 * What the IndexedDB store adds beyond the port, as scenarios that run on fake-indexeddb in Node
 * (indexeddb-storage.test.ts) and in real Chromium (browser/indexeddb-storage.browser.test.ts):
 * upgrades blocked by another connection, closing on versionchange, the schema gate, several
 * connections on one database, and event catch-up after a missed broadcast.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createIndexedDbQueue,
  INDEXEDDB_SCHEMA_VERSION,
  type IndexedDbQueueRepository,
} from '../src/index.ts';

let names = 0;
const fresh = (what: string) => `storage-${what}-${Date.now()}-${names++}`;

function rawOpen(name: string, version?: number, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, version);
    request.onupgradeneeded = () => upgrade?.(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function waitUntil(check: () => boolean, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

export function defineStorageScenarios(label: string): void {
  describe(`${label}: IndexedDB storage`, { timeout: 30_000 }, () => {
    const opened: IndexedDbQueueRepository[] = [];
    const open = async (name: string, options: { blockedTimeout?: number; pollInterval?: number } = {}) => {
      const queue = await createIndexedDbQueue({ name, ...options });
      opened.push(queue);
      return queue;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
    });

    it('a blocked install fails with STORAGE_UNAVAILABLE saying what to do, and changes nothing', async () => {
      const name = fresh('blocked');
      // Another tab's connection that never closes on versionchange (older or foreign code).
      const blocker = await rawOpen(name, 1);
      const error = await rejection(createIndexedDbQueue({ name, blockedTimeout: 300 }));
      expect(error.code).toBe('STORAGE_UNAVAILABLE');
      expect(error.message).toMatch(/another tab or worker keeps version 1 open/);
      expect(error.message).toMatch(/Close or reload the other tabs/);
      blocker.close();
      await new Promise((resolve) => setTimeout(resolve, 200)); // the late upgrade, if any, ran and aborted
      const after = await rawOpen(name);
      expect(after.version).toBe(1);
      expect([...after.objectStoreNames]).toEqual([]);
      after.close();
      const queue = await open(name);
      expect(await queue.enqueue([{ entrypoint: 'a' }])).toEqual([1]);
    });

    it('an open queue closes itself on versionchange (another tab upgrades) and reopens on its next call', async () => {
      const name = fresh('versionchange');
      const tab1 = await open(name);
      const tab2 = await open(name);
      await tab1.enqueue([{ entrypoint: 'a' }]);
      // tab2's uninstall is an upgrade: tab1's connection must get out of its way, not block it.
      await tab2.uninstall();
      expect((await rejection(tab1.enqueue([{ entrypoint: 'a' }]))).code).toBe('NOT_INSTALLED');
      expect(await tab1.verify()).toMatchObject({ installed: false, current: false });
      await tab2.install();
      expect(await tab1.enqueue([{ entrypoint: 'a' }])).toEqual([1]);
      expect(await tab2.getJobs([1])).toMatchObject([{ id: 1, status: 'queued' }]);
    });

    it('refuses a store written by newer code with SCHEMA_OUTDATED and never migrates it down', async () => {
      const name = fresh('schema');
      const queue = await open(name);
      expect(await queue.verify()).toMatchObject({ version: INDEXEDDB_SCHEMA_VERSION, current: true });
      const raw = await rawOpen(name);
      await new Promise<void>((resolve, reject) => {
        const tx = raw.transaction('meta', 'readwrite');
        const meta = tx.objectStore('meta');
        const read = meta.get('state');
        read.onsuccess = () => meta.put({ ...read.result, schema: INDEXEDDB_SCHEMA_VERSION + 1 }, 'state');
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
      raw.close();
      const error = await rejection(queue.enqueue([{ entrypoint: 'a' }]));
      expect(error.code).toBe('SCHEMA_OUTDATED');
      expect(error.message).toMatch(/reload this page/);
      expect((await rejection(queue.upgrade())).code).toBe('SCHEMA_OUTDATED');
      expect(await queue.verify()).toMatchObject({ version: INDEXEDDB_SCHEMA_VERSION + 1, current: false });
    });

    it('two connections on one database never dequeue the same job', async () => {
      const name = fresh('two');
      const [a, b] = [await open(name), await open(name)];
      await a.enqueue(Array.from({ length: 500 }, () => ({ entrypoint: 'a' })));
      const batches = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 === 0 ? a : b).dequeue({ batchSize: 50, entrypoints: { a: {} }, queueManagerId: `m${i}` }),
        ),
      );
      const ids = batches.flat().map((job) => job.id);
      expect(ids).toHaveLength(500);
      expect(new Set(ids).size).toBe(500);
    });

    it('out-of-order completions remove exactly the finished jobs (range deletes skip only gone ids)', async () => {
      const queue = await open(fresh('scattered'));
      await queue.enqueue(Array.from({ length: 30 }, () => ({ entrypoint: 'a' })));
      await queue.dequeue({ batchSize: 30, entrypoints: { a: {} }, queueManagerId: 'm' });
      const odd = Array.from({ length: 15 }, (_, i) => 2 * i + 1);
      const byFour = [2, 6, 10, 14, 18, 22, 26, 30];
      await queue.complete(odd.map((id) => ({ id, status: 'successful' as const })));
      // Between these, the odd jobs are gone and 4, 8, ... are still held.
      await queue.complete([
        ...byFour.map((id) => ({ id, status: 'successful' as const })),
        { id: 12, status: 'failed' as const, error: 'kept as a dead letter' },
      ]);
      // 16, 20 and 24 with only gone jobs between them: one range delete over 16..24.
      await queue.complete([16, 24, 20].map((id) => ({ id, status: 'successful' as const })));
      const held = [4, 8, 12, 28];
      const jobs = await queue.getJobs(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(jobs.flatMap((job) => (job === null ? [] : [job.id]))).toEqual(held);
      expect((await queue.getJobs([12]))[0]).toMatchObject({
        status: 'failed',
        lastError: 'kept as a dead letter',
      });
      expect(await queue.queueSize()).toEqual([
        { entrypoint: 'a', status: 'picked', priority: 0, count: 3 },
        { entrypoint: 'a', status: 'failed', priority: 0, count: 1 },
      ]);
    });

    it('a subscriber that missed a broadcast catches up from the log: every event once, in order', async () => {
      const name = fresh('catchup');
      // No safety-net poll within the test: only broadcasts and the log read they trigger.
      const producer = await open(name, { pollInterval: 60_000 });
      const consumer = await open(name, { pollInterval: 60_000 });
      const seen: number[] = [];
      await consumer.subscribe((events) => seen.push(...events.map((e) => e.seq)));
      const channel = globalThis.BroadcastChannel;
      try {
        // The producer's first commit reaches nobody (as if the message was lost).
        (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel = undefined;
        await producer.enqueue([{ entrypoint: 'a' }, { entrypoint: 'a' }]);
      } finally {
        globalThis.BroadcastChannel = channel;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).toEqual([]);
      await producer.enqueue([{ entrypoint: 'a' }]); // broadcast seq 3: a gap after the cursor
      await waitUntil(() => seen.length >= 3, 10_000, 'three events');
      await producer.complete([{ id: 1, status: 'successful' }]);
      await waitUntil(() => seen.length >= 4, 10_000, 'the fourth event');
      expect(seen).toEqual([1, 2, 3, 4]);
    });
  });
}
