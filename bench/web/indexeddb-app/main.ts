/**
 * The page side of bench/web/run.ts: IndexedDB lifecycle throughput, a raw-put baseline on the
 * same profile, and the durable memory queue's snapshot time. Driven by page.evaluate.
 */
import { createDurableMemoryQueue, createIndexedDbQueue, type Durability } from '@tideq/web';

const PAYLOAD = new Uint8Array(64).fill(7);
let runs = 0;
const fresh = (what: string) => `bench-${what}-${Date.now()}-${runs++}`;

async function deleteDb(name: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/** Rounds of enqueue B / dequeue B / complete B on a fresh queue; jobs per second of the timed rounds. */
async function lifecycle(batch: number, jobs: number, durability: Durability): Promise<number> {
  const name = fresh('lifecycle');
  const queue = await createIndexedDbQueue({ name, durability });
  const limits = { bench: {} };
  const round = async () => {
    await queue.enqueue(Array.from({ length: batch }, () => ({ entrypoint: 'bench', payload: PAYLOAD })));
    const picked = await queue.dequeue({ batchSize: batch, entrypoints: limits, queueManagerId: 'bench' });
    await queue.complete(picked.map((job) => ({ id: job.id, status: 'successful' as const })));
    if (picked.length !== batch) throw new Error(`dequeued ${picked.length} of ${batch}`);
  };
  for (let i = 0; i < Math.max(3, 300 / batch); i++) await round(); // warm-up
  const rounds = Math.max(1, Math.round(jobs / batch));
  const started = performance.now();
  for (let i = 0; i < rounds; i++) await round();
  const seconds = (performance.now() - started) / 1000;
  await queue.close();
  await deleteDb(name);
  return (rounds * batch) / seconds;
}

/** The floor under everything: plain puts of job-sized records, 100 per transaction, no indexes. */
async function rawPuts(puts: number, durability: Durability): Promise<number> {
  const name = fresh('raw');
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

/** Enqueue `jobs` queued jobs into a durable memory queue, then time one snapshot write (flush). */
async function snapshot(jobs: number): Promise<{ ms: number; bytes: number }> {
  const name = fresh('durable');
  const queue = await createDurableMemoryQueue({ name, snapshotInterval: 0, snapshotEvery: 0 });
  for (let i = 0; i < jobs; i += 1000) {
    await queue.enqueue(
      Array.from({ length: Math.min(1000, jobs - i) }, () => ({ entrypoint: 'bench', payload: PAYLOAD })),
    );
  }
  const bytes = (await queue.memory.snapshot()).byteLength;
  const started = performance.now();
  await queue.flush();
  const ms = performance.now() - started;
  await queue.close();
  await deleteDb(name);
  return { ms, bytes };
}

/** Mean ms per call of enqueue, dequeue and complete over `rounds` lifecycle rounds (where the time goes). */
async function profile(batch: number, rounds: number): Promise<Record<string, number>> {
  const name = fresh('profile');
  const queue = await createIndexedDbQueue({ name });
  for (let i = 0; i < rounds; i++) {
    await queue.enqueue(Array.from({ length: batch }, () => ({ entrypoint: 'bench', payload: PAYLOAD })));
    const picked = await queue.dequeue({
      batchSize: batch,
      entrypoints: { bench: {} },
      queueManagerId: 'bench',
    });
    await queue.complete(picked.map((job) => ({ id: job.id, status: 'successful' as const })));
  }
  const { ops } = await queue.metrics();
  await queue.close();
  await deleteDb(name);
  const perCall = (op: string) => Math.round((ops[op]!.totalMs / ops[op]!.count) * 100) / 100;
  return { enqueue: perCall('enqueue'), dequeue: perCall('dequeue'), complete: perCall('complete') };
}

Object.assign(globalThis, { tideqIdbBench: { lifecycle, rawPuts, snapshot, profile } });
