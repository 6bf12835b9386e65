/**
 * The page side of pair.ts: the same lifecycle as main.ts for two builds of the IndexedDB store
 * (`@pair/before`: the store's sources at a git commit; after: the working tree's), and the
 * raw-put floor, in one page of one on-disk profile.
 */
// @ts-expect-error: pair.ts resolves it to the store's sources at the --before commit
import * as before from '@pair/before';
import * as after from '../../../packages/web/src/indexeddb/index.ts';

type Store = typeof after;
const stores: Record<string, Store> = { before: before as unknown as Store, after };
const PAYLOAD = new Uint8Array(64).fill(7);
let runs = 0;

async function deleteDb(name: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/** Rounds of enqueue B / dequeue B / complete B; jobs/s and mean ms per call of the timed rounds. */
async function lifecycle(variant: string, batch: number, jobs: number, durability: 'relaxed' | 'strict') {
  const name = `pair-${variant}-${Date.now()}-${runs++}`;
  const queue = await stores[variant]!.createIndexedDbQueue({ name, durability });
  const ms = { enqueue: 0, dequeue: 0, complete: 0 };
  const round = async () => {
    let t = performance.now();
    await queue.enqueue(Array.from({ length: batch }, () => ({ entrypoint: 'bench', payload: PAYLOAD })));
    ms.enqueue += performance.now() - t;
    t = performance.now();
    const picked = await queue.dequeue({
      batchSize: batch,
      entrypoints: { bench: {} },
      queueManagerId: 'bench',
    });
    ms.dequeue += performance.now() - t;
    t = performance.now();
    await queue.complete(picked.map((job) => ({ id: job.id, status: 'successful' as const })));
    ms.complete += performance.now() - t;
    if (picked.length !== batch) throw new Error(`dequeued ${picked.length} of ${batch}`);
  };
  for (let i = 0; i < Math.max(3, 300 / batch); i++) await round(); // warm-up
  ms.enqueue = ms.dequeue = ms.complete = 0;
  const rounds = Math.max(1, Math.round(jobs / batch));
  const started = performance.now();
  for (let i = 0; i < rounds; i++) await round();
  const seconds = (performance.now() - started) / 1000;
  await queue.close();
  await deleteDb(name);
  return {
    jobsPerSec: (rounds * batch) / seconds,
    enqueueMs: ms.enqueue / rounds,
    dequeueMs: ms.dequeue / rounds,
    completeMs: ms.complete / rounds,
  };
}

/** Plain puts of job-sized records, 100 per transaction, no indexes (as main.ts). */
async function rawPuts(puts: number, durability: 'relaxed' | 'strict'): Promise<number> {
  const name = `pair-raw-${Date.now()}-${runs++}`;
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('jobs', { keyPath: 'id' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  let id = 1;
  const started = performance.now();
  for (let b = 0; b < puts / 100; b++) {
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('jobs', 'readwrite', { durability });
      const store = tx.objectStore('jobs');
      for (let i = 0; i < 100; i++) {
        store.put({ id, entrypoint: 'bench', payload: PAYLOAD, priority: 0, status: 'queued', attempts: 0 });
        id++;
      }
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  await deleteDb(name);
  return puts / seconds;
}

Object.assign(globalThis, { tideqIdbPair: { lifecycle, rawPuts } });
