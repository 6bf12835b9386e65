/**
 * Tests specific to the reference adapter: its data structures (heap, status bytes), its dequeue
 * against a literal, scan-everything reading of the spec, memory release, metrics, event delivery
 * and lifecycle. The behaviour every adapter shares is checked by the conformance suite.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { bucketCapacity } from '../src/adapter/index.js';
import {
  createReferenceQueue,
  type DequeueOptions,
  type EntrypointLimits,
  type Job,
  type JobEvent,
  ManualClock,
  type QueueRepository,
} from '../src/index.js';
import { Heap } from '../src/reference/heap.js';
import { StatusArray } from '../src/reference/status-array.js';

const T0 = 1_700_000_000_000;

function setup(limits?: Parameters<typeof createReferenceQueue>[0]) {
  const clock = new ManualClock(T0);
  const repo = createReferenceQueue({ clock, ...limits });
  return { clock, repo };
}

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}

async function allJobs(repo: QueueRepository, maxId: number): Promise<Job[]> {
  if (maxId === 0) return [];
  const jobs = await repo.getJobs(Array.from({ length: maxId }, (_, i) => i + 1));
  return jobs.filter((j): j is Job => j !== null);
}

async function logAfter(repo: QueueRepository, after: number): Promise<JobEvent[]> {
  return repo.log({ after, limit: 1_000_000 });
}

describe('Heap', () => {
  it('pops in comparator order under many random pushes, pops and retains, like a sorted array', () => {
    const r = rng(7);
    type Item = { priority: number; id: number };
    const before = (a: Item, b: Item) =>
      a.priority > b.priority || (a.priority === b.priority && a.id < b.id);
    const heap = new Heap<Item>(before);
    let model: Item[] = [];
    let nextId = 1;
    const sortModel = () => model.sort((a, b) => b.priority - a.priority || a.id - b.id);
    for (let step = 0; step < 20_000; step++) {
      const op = r.int(10);
      if (op < 5) {
        const item = { priority: r.int(8) - 4, id: nextId++ };
        heap.push(item);
        model.push(item);
      } else if (op < 9) {
        sortModel();
        expect(heap.peek()).toBe(model[0]);
        expect(heap.pop()).toBe(model.shift());
      } else {
        const drop = r.int(3);
        heap.retain((item) => item.id % 3 !== drop);
        model = model.filter((item) => item.id % 3 !== drop);
      }
      expect(heap.size).toBe(model.length);
    }
    sortModel();
    const drained: Item[] = [];
    for (let item = heap.pop(); item !== undefined; item = heap.pop()) drained.push(item);
    expect(drained).toEqual(model);
    expect(heap.pop()).toBeUndefined();
  });
});

describe('StatusArray', () => {
  it('keeps one byte per id, grows on demand and answers null for ids never set', () => {
    const statuses = new StatusArray();
    expect(statuses.get(5)).toBeNull();
    statuses.set(5, 'picked');
    statuses.set(100_000, 'failed');
    expect(statuses.get(5)).toBe('picked');
    expect(statuses.get(100_000)).toBe('failed');
    expect(statuses.get(99_999)).toBeNull();
    expect(statuses.get(10_000_000)).toBeNull();
    expect(statuses.byteLength).toBeGreaterThan(100_000);
    expect(statuses.byteLength).toBeLessThanOrEqual(2 * 131_072);
  });
});

// ---- dequeue against the spec read literally -------------------------------------------------

interface ModelBucket {
  tokens: number;
  updatedAt: number;
}

/**
 * The dequeue rules of docs/ARCHITECTURE.md applied by brute force to every job (sort all,
 * visit all): the heaps, lazy deletion and stream exclusion of the adapter must give the same.
 */
function literalDequeue(
  before: readonly Job[],
  options: DequeueOptions,
  now: number,
  buckets: Map<string, ModelBucket>,
): { failed: number[]; picked: number[] } {
  const eps = options.entrypoints;
  const lim = (e: string) => ({
    concurrencyLimit: eps[e]?.concurrencyLimit ?? 0,
    requestsPerSecond: eps[e]?.requestsPerSecond ?? 0,
    retryTimer: eps[e]?.retryTimer ?? 0,
    maxAttempts: eps[e]?.maxAttempts ?? 0,
  });
  for (const e of Object.keys(eps)) {
    const rps = lim(e).requestsPerSecond;
    if (rps <= 0) continue;
    const capacity = bucketCapacity(rps);
    const b = buckets.get(e);
    if (b === undefined) buckets.set(e, { tokens: capacity, updatedAt: now });
    else {
      b.tokens = Math.min(capacity, b.tokens + (Math.max(0, now - b.updatedAt) * rps) / 1000);
      b.updatedAt = now;
    }
  }
  const requested = (j: Job) => Object.hasOwn(eps, j.entrypoint);
  const isStale = (j: Job) =>
    j.status === 'picked' &&
    lim(j.entrypoint).retryTimer > 0 &&
    j.heartbeat < now - lim(j.entrypoint).retryTimer;
  const failed = before
    .filter((j) => requested(j) && isStale(j) && lim(j.entrypoint).maxAttempts > 0)
    .filter((j) => j.attempts >= lim(j.entrypoint).maxAttempts)
    .map((j) => j.id)
    .sort((a, b) => a - b);
  const jobs = before.filter((j) => !failed.includes(j.id));
  const candidates = jobs
    .filter((j) => requested(j) && ((j.status === 'queued' && j.executeAfter <= now) || isStale(j)))
    .sort((a, b) => b.priority - a.priority || a.id - b.id);
  let owned = jobs.filter((j) => j.status === 'picked' && j.queueManagerId === options.queueManagerId).length;
  const pickedOf = new Map<string, number>();
  for (const j of jobs)
    if (j.status === 'picked') pickedOf.set(j.entrypoint, (pickedOf.get(j.entrypoint) ?? 0) + 1);
  const maxOwned = options.maxOwned ?? Number.MAX_SAFE_INTEGER;
  const picked: number[] = [];
  for (const c of candidates) {
    if (picked.length >= options.batchSize) break;
    const stale = c.status === 'picked';
    const adds = !(stale && c.queueManagerId === options.queueManagerId);
    if (adds && owned >= maxOwned) break;
    const l = lim(c.entrypoint);
    const bucket = l.requestsPerSecond > 0 ? buckets.get(c.entrypoint)! : undefined;
    if (bucket !== undefined && bucket.tokens < 1) continue;
    if (!stale && l.concurrencyLimit > 0 && (pickedOf.get(c.entrypoint) ?? 0) >= l.concurrencyLimit) continue;
    if (adds) owned++;
    if (!stale) pickedOf.set(c.entrypoint, (pickedOf.get(c.entrypoint) ?? 0) + 1);
    if (bucket !== undefined) bucket.tokens -= 1;
    picked.push(c.id);
  }
  return { failed, picked };
}

describe('reference dequeue vs the literal spec', () => {
  const ENTRYPOINTS = ['a', 'b', 'c'];
  const MANAGERS = ['m1', 'm2', 'm3'];

  function randomLimits(r: ReturnType<typeof rng>): EntrypointLimits {
    return {
      concurrencyLimit: r.pick([0, 0, 1, 2, 3]),
      requestsPerSecond: r.pick([0, 0, 0.5, 2, 5, 20]),
      retryTimer: r.pick([0, 0, 100, 400]),
      maxAttempts: r.pick([0, 0, 1, 2, 3]),
    };
  }

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`agrees on picks, failures and log rows over random operations (seed ${seed})`, async () => {
      const r = rng(seed);
      const { clock, repo } = setup();
      const buckets = new Map<string, ModelBucket>();
      let maxId = 0;
      let dequeues = 0;
      for (let step = 0; step < 400; step++) {
        const op = r.int(100);
        const now = clock.now();
        const held = await allJobs(repo, maxId);
        const picked = held.filter((j) => j.status === 'picked');
        if (op < 30) {
          const jobs = Array.from({ length: 1 + r.int(5) }, () => ({
            entrypoint: r.pick(ENTRYPOINTS),
            priority: r.pick([-1, 0, 0, 1, 2]),
            executeAfter: now + r.pick([-500, 0, 0, 0, 300, 2000]),
          }));
          const ids = await repo.enqueue(jobs);
          maxId = Math.max(maxId, ...(ids as number[]));
        } else if (op < 70) {
          const names = ENTRYPOINTS.filter(() => r.next() < 0.6);
          if (names.length === 0) names.push(r.pick(ENTRYPOINTS));
          const options: DequeueOptions = {
            batchSize: 1 + r.int(6),
            entrypoints: Object.fromEntries(names.map((e) => [e, randomLimits(r)])),
            queueManagerId: r.pick(MANAGERS),
          };
          if (r.next() < 0.4) options.maxOwned = r.int(5);
          const lastSeq = (await logAfter(repo, 0)).at(-1)?.seq ?? 0;
          const expected = literalDequeue(held, options, now, buckets);
          const got = await repo.dequeue(options);
          const context = `seed ${seed} step ${step}: ${JSON.stringify(options)}`;
          expect(
            got.map((j) => j.id),
            context,
          ).toEqual(expected.picked);
          const rows = await logAfter(repo, lastSeq);
          expect(
            rows.map((e) => `${e.kind}:${e.jobId}`),
            context,
          ).toEqual([
            ...expected.failed.map((id) => `failed:${id}`),
            ...expected.picked.map((id) => `picked:${id}`),
          ]);
          for (const job of got) {
            const old = held.find((j) => j.id === job.id)!;
            expect(job).toMatchObject({ status: 'picked', attempts: old.attempts + 1, heartbeat: now });
            expect(job.queueManagerId).toBe(options.queueManagerId);
          }
          dequeues++;
        } else if (op < 78 && picked.length > 0) {
          await repo.heartbeat([r.pick(picked).id]);
        } else if (op < 86 && held.length > 0) {
          const target = r.pick(held);
          await repo.complete([
            { id: target.id, status: r.pick(['successful', 'failed', 'canceled'] as const) },
          ]);
        } else if (op < 90 && picked.length > 0) {
          await repo.retry([{ id: r.pick(picked).id, executeAfter: now + r.pick([0, 200, 1000]) }]);
        } else if (op < 93 && held.length > 0) {
          // Jobs re-entering `queued` get a new generation: their old heap entries must stay dead.
          const failed = held.filter((j) => j.status === 'failed');
          if (failed.length > 0) await repo.requeue([r.pick(failed).id]);
          else await repo.recover({ staleAfter: r.pick([0, 200]) });
        } else if (op < 95 && held.length > 0) {
          await repo.cancel([r.pick(held).id]);
        } else {
          clock.advance(r.pick([0, 50, 100, 150, 300, 600]));
        }
      }
      expect(dequeues).toBeGreaterThan(100);
    });
  }

  it('lets a caller at maxOwned re-pick its own stale job unless a skipped fresh job sits in between', async () => {
    for (const blockerPriority of [9, 1]) {
      const { clock, repo } = setup();
      const stale = (await repo.enqueue([{ entrypoint: 'b', priority: 0 }]))[0]!; // id 1, m1's
      await repo.dequeue({ batchSize: 1, entrypoints: { b: {} }, queueManagerId: 'm1' });
      await repo.enqueue([{ entrypoint: 'a', priority: 5 }]); // id 2, taken by m2: 'a' is at its limit
      await repo.dequeue({ batchSize: 1, entrypoints: { a: {} }, queueManagerId: 'm2' });
      await repo.enqueue([
        { entrypoint: 'a', priority: 8 }, // id 3: visited first, skipped by concurrency
        { entrypoint: 'c', priority: 3 }, // id 4: fresh, brings m1 to maxOwned
        { entrypoint: 'a', priority: blockerPriority }, // id 5: skipped, but before or after id 4
      ]);
      clock.advance(1_000);
      const got = await repo.dequeue({
        batchSize: 10,
        entrypoints: { a: { concurrencyLimit: 1 }, b: { retryTimer: 500 }, c: {} },
        queueManagerId: 'm1',
        maxOwned: 2,
      });
      // Priority 1 lies between id 4 (3) and the stale job (0): visiting it at maxOwned stops the pass.
      expect(got.map((j) => j.id)).toEqual(blockerPriority === 9 ? [4, stale] : [4]);
      // The skipped jobs went back to the ready heap intact.
      const next = await repo.dequeue({ batchSize: 10, entrypoints: { a: {} }, queueManagerId: 'm3' });
      expect(next.map((j) => j.id)).toEqual(blockerPriority === 9 ? [5, 3] : [3, 5]);
    }
  });
});

describe('reference lazy deletion', () => {
  it('never revives a heap entry of an earlier queued generation of the same job', async () => {
    const { clock, repo } = setup();
    const [id] = (await repo.enqueue([{ entrypoint: 'a' }])) as number[];
    // queued -> failed leaves entry 1 in the ready heap; requeue adds entry 2.
    await repo.complete([{ id: id!, status: 'failed', error: 'x' }]);
    await repo.requeue([id!]);
    const take = () => repo.dequeue({ batchSize: 5, entrypoints: { a: {} }, queueManagerId: 'm' });
    expect((await take()).map((j) => j.id)).toEqual([id]);
    // Back to queued, not due for 5 s: entry 1 has the job's id and status but an old generation.
    await repo.retry([{ id: id!, executeAfter: clock.now() + 5_000 }]);
    expect(await take()).toEqual([]);
    expect(await repo.nextDueAt(['a'])).toBe(clock.now() + 5_000);
    clock.advance(5_000);
    expect((await take()).map((j) => j.id)).toEqual([id]);
    expect(await take()).toEqual([]);
  });
});

// ---- scale: dequeue must not scan ---------------------------------------------------------------

describe('reference dequeue at scale', () => {
  it('dequeues past 100k blocked jobs without visiting them', async () => {
    const { repo } = setup();
    await repo.enqueue(Array.from({ length: 100_000 }, () => ({ entrypoint: 'busy', priority: 5 })));
    await repo.dequeue({ batchSize: 1, entrypoints: { busy: {} }, queueManagerId: 'holder' });
    await repo.enqueue(Array.from({ length: 500 }, () => ({ entrypoint: 'idle' })));
    const started = performance.now();
    for (let i = 0; i < 500; i++) {
      const got = await repo.dequeue({
        batchSize: 1,
        entrypoints: { busy: { concurrencyLimit: 1 }, idle: {} },
        queueManagerId: 'm',
      });
      expect(got[0]!.entrypoint).toBe('idle');
    }
    // A scan-and-sort of 100k jobs per call would take seconds for 500 calls.
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('keeps nextDueAt and dequeue right after most queued jobs left through complete/cancel', async () => {
    const { clock, repo } = setup();
    const ids = (await repo.enqueue(
      Array.from({ length: 5_000 }, (_, i) => ({ entrypoint: 'a', executeAfter: T0 + 1 + (i % 100) })),
    )) as number[];
    const survivors = new Set([ids[4_321]!, ids[4_999]!]);
    await repo.cancel(ids.filter((id) => !survivors.has(id)));
    expect(await repo.nextDueAt(['a'])).toBe(T0 + 1 + (4_321 % 100));
    clock.advance(1_000);
    const got = await repo.dequeue({ batchSize: 10, entrypoints: { a: {} }, queueManagerId: 'm' });
    expect(got.map((j) => j.id)).toEqual([ids[4_321], ids[4_999]]);
    expect(await repo.nextDueAt(['a'])).toBeNull();
  });
});

// ---- memory, copies -------------------------------------------------------------------------

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('reference memory', () => {
  it('really releases compacted log rows (they become garbage)', async () => {
    const gc = exposeGc();
    const { clock, repo } = setup();
    await repo.enqueue(Array.from({ length: 1_000 }, () => ({ entrypoint: 'a' })));
    const firstRow = new WeakRef((await repo.log({ limit: 1 }))[0]!);
    clock.advance(10_000);
    await repo.enqueue([{ entrypoint: 'a' }]);
    expect(await repo.scan({ staleAfter: 0, retention: { maxAge: 5_000 } })).toMatchObject({
      logBeyondRetention: 1_000,
    });
    expect(await repo.compact({ maxAge: 5_000 })).toEqual({ removed: 1_000 });
    expect((await repo.log()).map((e) => e.jobId)).toEqual([1_001]);
    // WeakRef targets stay alive until the current job ends; collect in a later task.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(firstRow.deref()).toBeUndefined();
  });

  it('keeps the newest maxRecords rows and statistics buckets younger than maxAge', async () => {
    const { clock, repo } = setup();
    const [id1] = (await repo.enqueue([{ entrypoint: 'a' }])) as number[];
    await repo.complete([{ id: id1!, status: 'successful' }]);
    clock.advance(60_000);
    const [id2] = (await repo.enqueue([{ entrypoint: 'a' }])) as number[];
    await repo.complete([{ id: id2!, status: 'exception', error: 'boom' }]);
    expect(await repo.compact({ maxRecords: 1, maxAge: 30_000 })).toEqual({ removed: 3 });
    expect(await repo.log()).toMatchObject([
      { jobId: id2, kind: 'completed', status: 'exception', error: 'boom' },
    ]);
    expect(await repo.statistics()).toEqual([
      { entrypoint: 'a', status: 'exception', priority: 0, second: T0 + 60_000, count: 1 },
    ]);
    // jobStatus forgets ids older than every retained row's job (and every held job): bounded history.
    expect(await repo.jobStatus([id1!, id2!])).toEqual([null, 'exception']);
  });

  it('stores and returns copies of payloads and headers', async () => {
    const { repo } = setup();
    const payload = Uint8Array.from([1, 2, 3]);
    const headers = { trace: { id: 'x' } };
    const [id] = (await repo.enqueue([{ entrypoint: 'a', payload, headers }])) as number[];
    payload[0] = 99;
    headers.trace.id = 'changed';
    const [picked] = await repo.dequeue({ batchSize: 1, entrypoints: { a: {} }, queueManagerId: 'm' });
    expect(Array.from(picked!.payload!)).toEqual([1, 2, 3]);
    picked!.payload![1] = 77;
    (picked!.headers!.trace as { id: string }).id = 'mutated';
    const [again] = await repo.getJobs([id!]);
    expect(Array.from(again!.payload!)).toEqual([1, 2, 3]);
    expect(again!.headers).toEqual({ trace: { id: 'x' } });
  });
});

// ---- metrics ----------------------------------------------------------------------------------

describe('reference metrics', () => {
  it('counts ops, errors, records, bytes, scans, recoveries and compactions; resetMetrics zeroes them', async () => {
    const { clock, repo } = setup();
    await repo.enqueue([
      { entrypoint: 'a', payload: Uint8Array.from([1, 2, 3]), headers: { k: 1 } }, // 3 + 7 bytes
      { entrypoint: 'a' },
    ]);
    await repo.dequeue({ batchSize: 2, entrypoints: { a: {} }, queueManagerId: 'm' });
    await expect(repo.enqueue([{ entrypoint: '' }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    clock.advance(1_000);
    await repo.scan({ staleAfter: 500 });
    expect(await repo.recover({ staleAfter: 500 })).toEqual([1, 2]);
    await repo.compact({ maxRecords: 2 });

    const m = await repo.metrics();
    // 2 inserts + 2 enqueued rows, 2 picks + 2 picked rows, 2 recovered + 2 requeued rows.
    expect(m.recordsWritten).toBe(12);
    expect(m.bytesWritten).toBe(10);
    expect(m).toMatchObject({ scans: 1, recoveries: 2, compactions: 1, compactedRecords: 4, errors: 1 });
    expect(m.ops.enqueue).toMatchObject({ count: 2, errors: 1 });
    expect(m.ops.dequeue!.count).toBe(1);
    expect(m.ops.dequeue!.totalMs).toBeGreaterThan(0);
    expect(m.ops.dequeue!.maxMs).toBeLessThanOrEqual(m.ops.dequeue!.totalMs);
    expect(m.ops.retry).toEqual({ count: 0, errors: 0, totalMs: 0, maxMs: 0 });

    await repo.resetMetrics();
    const zero = await repo.metrics();
    expect(zero).toMatchObject({ recordsWritten: 0, bytesWritten: 0, scans: 0, recoveries: 0, errors: 0 });
    expect(zero.ops.enqueue).toEqual({ count: 0, errors: 0, totalMs: 0, maxMs: 0 });
  });
});

// ---- events -------------------------------------------------------------------------------------

describe('reference event delivery', () => {
  it('delivers after the call returns, batching what commits in the same tick, in seq order', async () => {
    const { repo } = setup();
    const batches: number[][] = [];
    await repo.subscribe((events) => batches.push(events.map((e) => e.seq)));
    const first = repo.enqueue([{ entrypoint: 'a' }, { entrypoint: 'a' }]);
    const second = repo.enqueue([{ entrypoint: 'b' }]);
    expect(batches).toEqual([]); // not inside the calls
    await Promise.all([first, second]);
    await Promise.resolve();
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('replays retained rows after `after`, then live ones, exactly once', async () => {
    const { repo } = setup();
    await repo.enqueue([{ entrypoint: 'a' }, { entrypoint: 'a' }, { entrypoint: 'a' }]);
    const seqs: number[] = [];
    await repo.subscribe((events) => seqs.push(...events.map((e) => e.seq)), { after: 1 });
    await repo.enqueue([{ entrypoint: 'a' }]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seqs).toEqual([2, 3, 4]);
  });

  it('reports a throwing listener with console.error and keeps it subscribed', async () => {
    const { repo } = setup();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const seen: number[] = [];
      await repo.subscribe((events) => {
        seen.push(...events.map((e) => e.seq));
        throw new Error('listener bug');
      });
      await repo.enqueue([{ entrypoint: 'a' }]);
      await new Promise((resolve) => setTimeout(resolve, 0));
      await repo.enqueue([{ entrypoint: 'a' }]);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(seen).toEqual([1, 2]);
      expect(errors).toHaveBeenCalledTimes(2);
    } finally {
      errors.mockRestore();
    }
  });

  it('stops delivery once unsubscribe resolves, also for rows already committed', async () => {
    const { repo } = setup();
    const seen: number[] = [];
    const unsubscribe = await repo.subscribe((events) => seen.push(...events.map((e) => e.seq)));
    void repo.enqueue([{ entrypoint: 'a' }]);
    await unsubscribe();
    await repo.enqueue([{ entrypoint: 'a' }]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seen).toEqual([]);
  });
});

// ---- lifecycle ----------------------------------------------------------------------------------

describe('reference lifecycle', () => {
  it('is created installed; uninstall drops everything; install restarts ids at 1', async () => {
    const { repo } = setup();
    expect(await repo.verify()).toEqual({
      installed: true,
      version: 1,
      expectedVersion: 1,
      current: true,
      problems: [],
    });
    await repo.enqueue([{ entrypoint: 'a' }, { entrypoint: 'a' }]);
    await repo.uninstall();
    expect(await repo.verify()).toMatchObject({ installed: false, version: null, current: false });
    await expect(repo.queueSize()).rejects.toMatchObject({ code: 'NOT_INSTALLED' });
    await expect(repo.upgrade()).rejects.toMatchObject({ code: 'NOT_INSTALLED' });
    await repo.install();
    await repo.install(); // idempotent
    expect(await repo.queueSize()).toEqual([]);
    expect(await repo.jobStatus([1, 2])).toEqual([null, null]);
    expect(await repo.enqueue([{ entrypoint: 'a' }])).toEqual([1]);
  });

  it('rejects every call after close with STORAGE_UNAVAILABLE; close is idempotent', async () => {
    const { repo } = setup();
    await repo.close();
    await repo.close();
    await expect(repo.enqueue([{ entrypoint: 'a' }])).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(repo.verify()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(repo.install()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });

  it('rejects bad factory limits', () => {
    expect(() => createReferenceQueue({ limits: { maxBatch: 0 } })).toThrow(/maxBatch/);
  });
});
