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

/** The stores as schema-2 code (picks in the job records' `picked` index) or schema-3 code (picks in `leases`) made them. */
function createOldLayout(d: IDBDatabase, schema: 2 | 3): void {
  const jobs = d.createObjectStore('jobs', { keyPath: 'id' });
  jobs.createIndex('ready', 'r');
  jobs.createIndex('timed', 'x');
  if (schema === 2) jobs.createIndex('picked', 'p');
  jobs.createIndex('failed', 'f');
  jobs.createIndex('dedupe', 'd', { unique: true });
  d.createObjectStore('log', { keyPath: 'last' });
  d.createObjectStore('meta');
  d.createObjectStore('stats', { keyPath: ['second', 'entrypoint', 'status', 'priority', 'seq'] });
  d.createObjectStore('statuses');
  d.createObjectStore('schedules', { keyPath: 'name' });
  if (schema === 3) d.createObjectStore('leases', { keyPath: 'n' });
}

/**
 * A database exactly as schema-2 code left it (IndexedDB version 1, the first layout, picks in the
 * job records under the `picked` index): jobs 1-3 queued, 4 and 5 picked by "old-tab" at
 * `heartbeat` (attempts 1), 6 queued holding dedupe key "k". Payload bytes [id].
 */
async function writeSchema2(name: string, heartbeat: number): Promise<void> {
  const db = await rawOpen(name, 1, (d) => createOldLayout(d, 2));
  const created = heartbeat - 1000;
  const job = (id: number, picked: boolean) => ({
    id,
    entrypoint: 'a',
    payload: new Uint8Array([id]),
    priority: 0,
    executeAfter: created,
    dedupeKey: id === 6 ? 'k' : null,
    headers: null,
    status: picked ? 'picked' : 'queued',
    attempts: picked ? 1 : 0,
    heartbeat: picked ? heartbeat : created,
    created,
    updated: picked ? heartbeat : created,
    queueManagerId: picked ? 'old-tab' : null,
    lastError: null,
    ...(picked ? { p: ['a', heartbeat, id] } : { r: ['a', 0, id] }),
    ...(id === 6 ? { d: 'k' } : {}),
  });
  const event = (seq: number, kind: string, jobId: number, at: number, queueManagerId: string | null) => ({
    seq,
    kind,
    jobId,
    entrypoint: 'a',
    priority: 0,
    status: kind === 'picked' ? 'picked' : 'queued',
    at,
    queueManagerId,
    error: null,
  });
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction(['jobs', 'log', 'meta'], 'readwrite');
    for (let id = 1; id <= 6; id++) tx.objectStore('jobs').put(job(id, id === 4 || id === 5));
    const enqueued = [1, 2, 3, 4, 5, 6].map((id) => event(id, 'enqueued', id, created, null));
    tx.objectStore('log').put({ first: 1, last: 6, rows: enqueued });
    tx.objectStore('log').put({
      first: 7,
      last: 8,
      rows: [event(7, 'picked', 4, heartbeat, 'old-tab'), event(8, 'picked', 5, heartbeat, 'old-tab')],
    });
    tx.objectStore('meta').put(
      {
        schema: 2,
        nextId: 7,
        nextSeq: 9,
        logRows: 8,
        sizes: new Map([
          [['a', 'queued', 0].join('\0'), 4],
          [['a', 'picked', 0].join('\0'), 2],
        ]),
        picked: new Map([['a', 2]]),
        waiting: new Map(),
        owned: new Map([['old-tab', 2]]),
        buckets: new Map(),
        readyFrom: new Map([['a', [0, 1]]]),
        pickedFrom: new Map([['a', [heartbeat, 4]]]),
      },
      'state',
    );
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

/**
 * A database as schema-3 code left it (job records in `jobs`, picks in `leases`, no `chunks`):
 * jobs 1 and 2 queued at priority 0, 3 picked by "old-tab" at `heartbeat` (its queued record stays
 * under its lease), 4 queued at priority 1.
 */
async function writeSchema3(name: string, heartbeat: number): Promise<void> {
  const db = await rawOpen(name, 1, (d) => createOldLayout(d, 3));
  const created = heartbeat - 1000;
  const job = (id: number, priority: number) => ({
    id,
    entrypoint: 'a',
    payload: new Uint8Array([id]),
    priority,
    executeAfter: created,
    dedupeKey: null,
    headers: null,
    status: 'queued',
    attempts: 0,
    heartbeat: created,
    created,
    updated: created,
    queueManagerId: null,
    lastError: null,
    r: ['a', -priority, id],
  });
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction(['jobs', 'log', 'meta', 'leases'], 'readwrite');
    for (const [id, priority] of [
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 1],
    ] as const)
      tx.objectStore('jobs').put(job(id, priority));
    tx.objectStore('leases').put({ n: 1, m: 'old-tab', h: heartbeat, jobs: [{ id: 3, e: 'a', p: 0, a: 1 }] });
    const row = (seq: number, kind: string, jobId: number, priority: number) => ({
      seq,
      kind,
      jobId,
      entrypoint: 'a',
      priority,
      status: kind === 'picked' ? 'picked' : 'queued',
      at: kind === 'picked' ? heartbeat : created,
      queueManagerId: kind === 'picked' ? 'old-tab' : null,
      error: null,
    });
    tx.objectStore('log').put({
      first: 1,
      last: 5,
      rows: [
        row(1, 'enqueued', 1, 0),
        row(2, 'enqueued', 2, 0),
        row(3, 'enqueued', 3, 0),
        row(4, 'enqueued', 4, 1),
        row(5, 'picked', 3, 0),
      ],
    });
    tx.objectStore('meta').put(
      {
        schema: 3,
        nextId: 5,
        nextSeq: 6,
        logRows: 5,
        sizes: new Map([
          [['a', 'queued', 0].join('\0'), 2],
          [['a', 'picked', 0].join('\0'), 1],
          [['a', 'queued', 1].join('\0'), 1],
        ]),
        picked: new Map([['a', 1]]),
        waiting: new Map(),
        owned: new Map([['old-tab', 1]]),
        buckets: new Map(),
        readyFrom: new Map([['a', [-1, 4]]]),
        nextLease: 2,
      },
      'state',
    );
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
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

    it('two connections enqueueing in turn get consecutive ids, none reused (a stale id guess runs again)', async () => {
      const name = fresh('enqueue2');
      const [a, b] = [await open(name), await open(name)];
      const ids: number[] = [];
      for (let round = 0; round < 6; round++) {
        // Each connection's last-seen next id is stale whenever the other one enqueued in between.
        ids.push(...((await a.enqueue([{ entrypoint: 'a' }, { entrypoint: 'a' }])) as number[]));
        ids.push(...((await b.enqueue([{ entrypoint: 'b' }])) as number[]));
      }
      const both = await Promise.all([
        a.enqueue(Array.from({ length: 20 }, () => ({ entrypoint: 'a' }))),
        b.enqueue(Array.from({ length: 20 }, () => ({ entrypoint: 'b' }))),
      ]);
      ids.push(...(both.flat() as number[]));
      expect([...ids].sort((x, y) => x - y)).toEqual(Array.from({ length: 58 }, (_, i) => i + 1));
      const jobs = await b.getJobs(ids);
      expect(jobs.map((job) => job?.id)).toEqual(ids);
      expect(await a.queueSize()).toEqual([
        { entrypoint: 'a', status: 'queued', priority: 0, count: 32 },
        { entrypoint: 'b', status: 'queued', priority: 0, count: 26 },
      ]);
      const log = await a.log();
      expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 58 }, (_, i) => i + 1));
      expect(log.map((e) => e.jobId).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 58 }, (_, i) => i + 1),
      );
      expect(await a.scan({ staleAfter: 0 })).toMatchObject({ orphans: [] });
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

    it('keeps the fresh jobs of an enqueue as chunk records; jobs leave them one by one and keep dequeue order', async () => {
      const name = fresh('chunks');
      const queue = await open(name);
      const now = Date.now();
      const ids = await queue.enqueue([
        ...Array.from({ length: 140 }, (_, i) => ({ entrypoint: 'a', payload: new Uint8Array([i % 256]) })),
        { entrypoint: 'a', dedupeKey: 'k' }, // a dedupe key: its own record
        { entrypoint: 'a', headers: { n: 1 } },
        { entrypoint: 'a', headers: null },
        { entrypoint: 'b', priority: 5 },
        { entrypoint: 'b', priority: 5 },
        { entrypoint: 'a', executeAfter: now - 1 }, // a chosen time: its own record
      ]);
      expect(ids).toEqual(Array.from({ length: 146 }, (_, i) => i + 1));
      const raw = async () => {
        const db = await rawOpen(name);
        const read = (store: string) =>
          new Promise<{ id: number; ids?: number[] }[]>((resolve, reject) => {
            const request = db.transaction(store).objectStore(store).getAll();
            request.onsuccess = () => resolve(request.result);
            request.onerror = () => reject(request.error);
          });
        const [chunks, jobs] = await Promise.all([read('chunks'), read('jobs')]);
        db.close();
        return { chunks: chunks.map((c) => [c.id, c.ids!.length]), jobs: jobs.map((j) => j.id) };
      };
      // Runs of one entrypoint and priority, at most 128 jobs each.
      expect(await raw()).toEqual({
        chunks: [
          [1, 128],
          [129, 12],
          [142, 2],
          [144, 2],
        ],
        jobs: [141, 146],
      });
      expect((await queue.getJobs([142]))[0]).toMatchObject({
        headers: { n: 1 },
        status: 'queued',
        attempts: 0,
      });
      expect((await queue.getJobs([2]))[0]).toMatchObject({
        payload: new Uint8Array([1]),
        executeAfter: expect.any(Number),
      });

      const a = { batchSize: 10, entrypoints: { a: { retryTimer: 60_000 } }, queueManagerId: 'm' };
      expect((await queue.dequeue(a)).map((j) => j.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // A retried job leaves its chunk for a record of its own, and comes back in id order.
      expect(await queue.retry([{ id: 5, executeAfter: now - 1 }])).toEqual([true]);
      expect((await queue.dequeue({ ...a, batchSize: 3 })).map((j) => [j.id, j.attempts])).toEqual([
        [5, 2],
        [11, 1],
        [12, 1],
      ]);
      expect(
        await queue.complete(
          [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((id) => ({ id, status: 'successful' as const })),
        ),
      ).toEqual(Array(11).fill(true));
      expect(await queue.cancel([130, 12])).toEqual([true, true]);
      expect(await queue.jobStatus([1, 5, 12, 13, 130, 131, 999])).toEqual([
        'successful',
        'successful',
        'canceled',
        'queued',
        'canceled',
        'queued',
        null,
      ]);
      expect(await raw()).toEqual({
        chunks: [
          [1, 128 - 12],
          [129, 11],
          [142, 2],
          [144, 2],
        ],
        jobs: [141, 146],
      });
      // b has the higher priority; a goes on in id order.
      const both = { ...a, batchSize: 4, entrypoints: { a: {}, b: {} } };
      expect((await queue.dequeue(both)).map((j) => j.id)).toEqual([144, 145, 13, 14]);
      expect(await queue.queueSize()).toEqual([
        { entrypoint: 'a', status: 'queued', priority: 0, count: 146 - 2 - 11 - 2 - 2 },
        { entrypoint: 'a', status: 'picked', priority: 0, count: 2 },
        { entrypoint: 'b', status: 'picked', priority: 5, count: 2 },
      ]);
      expect(await queue.clear()).toBe(146 - 11 - 2);
      expect(await raw()).toEqual({ chunks: [], jobs: [] });
      expect(await queue.scan({ staleAfter: 0 })).toMatchObject({ stalePicked: [], orphans: [] });
    });

    it('upgrades a schema-2 database in place: queued and picked jobs are kept and complete', async () => {
      const name = fresh('upgrade2');
      const heartbeat = Date.now() - 10_000;
      await writeSchema2(name, heartbeat);
      const queue = await open(name); // createIndexedDbQueue upgrades it
      expect(await queue.verify()).toMatchObject({ version: INDEXEDDB_SCHEMA_VERSION, current: true });
      expect(await queue.getJobs([4])).toEqual([
        expect.objectContaining({
          id: 4,
          status: 'picked',
          attempts: 1,
          heartbeat,
          queueManagerId: 'old-tab',
          payload: new Uint8Array([4]),
        }),
      ]);
      expect(await queue.queueSize()).toEqual([
        { entrypoint: 'a', status: 'queued', priority: 0, count: 4 },
        { entrypoint: 'a', status: 'picked', priority: 0, count: 2 },
      ]);
      // The dedupe key of a queued job is still held.
      expect((await rejection(queue.enqueue([{ entrypoint: 'a', dedupeKey: 'k' }]))).code).toBe(
        'DUPLICATE_JOB',
      );
      // The old tab's manager still holds job 4 and finishes it (fenced).
      expect(await queue.complete([{ id: 4, status: 'successful' }], { queueManagerId: 'old-tab' })).toEqual([
        true,
      ]);
      // The rest: 1-3 and 6 are due, 5 is stale (heartbeat 10 s old) and is picked again.
      const picked = await queue.dequeue({
        batchSize: 10,
        entrypoints: { a: { retryTimer: 1000 } },
        queueManagerId: 'new-tab',
      });
      expect(picked.map((job) => [job.id, job.attempts, [...job.payload!]])).toEqual([
        [1, 1, [1]],
        [2, 1, [2]],
        [3, 1, [3]],
        [5, 2, [5]],
        [6, 1, [6]],
      ]);
      const done = await queue.complete(picked.map((job) => ({ id: job.id, status: 'successful' as const })));
      expect(done).toEqual([true, true, true, true, true]);
      expect(await queue.jobStatus([1, 2, 3, 4, 5, 6, 7])).toEqual([
        'successful',
        'successful',
        'successful',
        'successful',
        'successful',
        'successful',
        null,
      ]);
      expect(await queue.queueSize()).toEqual([]);
      expect(await queue.scan({ staleAfter: 0 })).toMatchObject({ stalePicked: [], orphans: [] });
      // The log goes on from where schema 2 left it.
      const log = await queue.log();
      expect(log.slice(0, 8).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(log.slice(8).map((e) => [e.seq, e.kind, e.jobId])).toEqual([
        [9, 'completed', 4],
        [10, 'picked', 1],
        [11, 'picked', 2],
        [12, 'picked', 3],
        [13, 'picked', 5],
        [14, 'picked', 6],
        [15, 'completed', 1],
        [16, 'completed', 2],
        [17, 'completed', 3],
        [18, 'completed', 5],
        [19, 'completed', 6],
      ]);
    });

    it('upgrades a schema-3 database in place: its records and leases stay, new jobs go to chunks, dequeue merges both', async () => {
      const name = fresh('upgrade3');
      const heartbeat = Date.now() - 1000;
      await writeSchema3(name, heartbeat);
      const queue = await open(name);
      expect(await queue.verify()).toMatchObject({ version: INDEXEDDB_SCHEMA_VERSION, current: true });
      expect(await queue.enqueue([{ entrypoint: 'a' }, { entrypoint: 'a' }, { entrypoint: 'a' }])).toEqual([
        5, 6, 7,
      ]);
      expect(await queue.enqueue([{ entrypoint: 'a', priority: 1 }])).toEqual([8]);
      const db = await rawOpen(name);
      const chunks = await new Promise<{ id: number; ids: number[] }[]>((resolve, reject) => {
        const request = db.transaction('chunks').objectStore('chunks').getAll();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      db.close();
      expect(chunks.map((c) => c.ids)).toEqual([[5, 6, 7]]);
      // Priority 1 first (an old record, then a new one), then priority 0 in id order across both
      // stores; job 3 stays with the old tab (its heartbeat is fresh).
      const picked = await queue.dequeue({
        batchSize: 10,
        entrypoints: { a: { retryTimer: 60_000 } },
        queueManagerId: 'new-tab',
      });
      expect(picked.map((job) => job.id)).toEqual([4, 8, 1, 2, 5, 6, 7]);
      expect(await queue.complete([{ id: 3, status: 'successful' }], { queueManagerId: 'old-tab' })).toEqual([
        true,
      ]);
      expect(
        await queue.complete(picked.map((job) => ({ id: job.id, status: 'successful' as const }))),
      ).toEqual(Array(7).fill(true));
      expect(await queue.queueSize()).toEqual([]);
      expect(await queue.jobStatus([1, 2, 3, 4, 5, 6, 7, 8])).toEqual(Array(8).fill('successful'));
      expect(await queue.scan({ staleAfter: 0 })).toMatchObject({ stalePicked: [], orphans: [] });
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
