import { Worker } from 'node:worker_threads';
import { DuplicateJobError, InvalidArgumentError, type JobEvent, StorageUnavailableError } from '@tideq/core';
import { connectQueue } from '@tideq/web';
import { afterEach, describe, expect, it } from 'vitest';
import { codecs } from './fixtures/facade-node/codecs.ts';
import type { ReplayQueue } from './fixtures/facade-node/replay-worker.ts';
import type { NodeQueue } from './fixtures/facade-node/worker.ts';

// The same host and facade over a Node worker_threads Worker (Comlink's node adapter): a server
// keeps the WASM queue off its request thread the same way a page does.
const workers: Worker[] = [];

function start(): Worker {
  const worker = new Worker(new URL('./fixtures/facade-node/worker.ts', import.meta.url), {
    execArgv: ['--import', 'tsx', '--conditions=source'],
  });
  workers.push(worker);
  return worker;
}

afterEach(async () => {
  for (const w of workers.splice(0)) await w.terminate();
});

describe('hostQueue + connectQueue over Node worker_threads', () => {
  it('enqueues a packed batch, runs it, reports events and stats', async () => {
    const queue = connectQueue<NodeQueue>(start(), { codecs });
    const events: JobEvent[] = [];
    // Only 'add' completions: the scheduler's 'ticked' jobs complete too.
    const unsubscribe = await queue.subscribe(
      (batch) => events.push(...batch.filter((e) => e.entrypoint === 'add')),
      {
        kinds: ['completed'],
      },
    );
    const jobs = Array.from({ length: 500 }, (_, i) => ({
      entrypoint: 'add' as const,
      payload: { a: i, b: i },
    }));
    const ids = (await queue.enqueueMany(jobs)) as number[];
    expect(ids).toHaveLength(500);
    expect(await queue.waitFor(ids, { timeout: 30_000 })).toEqual(ids.map(() => 'successful'));
    for (let i = 0; i < 1000 && events.length < 500; i++) await new Promise((r) => setTimeout(r, 20));
    expect(events.map((e) => e.jobId).sort((a, b) => a - b)).toEqual(ids);
    expect((await queue.stats()).entrypoints.add.successful).toBe(500);
    await unsubscribe();
    expect((await queue.info()).subscribers).toBe(0);
  });

  it('keeps error classes and codes; dead letters come back with their bytes', async () => {
    const queue = connectQueue<NodeQueue>(start(), { codecs });
    // @ts-expect-error not an entrypoint of the worker
    const unknown = await queue.enqueue('nope', null).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(InvalidArgumentError);
    await queue.enqueueMany([{ entrypoint: 'hang', payload: null, dedupeKey: 'k' }]);
    const dup = await queue
      .enqueueMany([{ entrypoint: 'hang', payload: null, dedupeKey: 'k' }])
      .catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(DuplicateJobError);
    expect((dup as DuplicateJobError).code).toBe('DUPLICATE_JOB');
    expect((dup as DuplicateJobError).keys).toEqual(['k']);
    const booms = (await queue.enqueueMany(
      [1, 2, 3].map((n) => ({ entrypoint: 'boom' as const, payload: new Uint8Array([n, n, n]) })),
    )) as number[];
    expect(await queue.waitFor(booms, { timeout: 30_000 })).toEqual(['failed', 'failed', 'failed']);
    // The store returns the three payloads as views into one buffer: it is transferred once.
    const failed = await queue.failedJobs();
    expect(failed.map((j) => [j.id, Array.from(j.payload ?? [])])).toEqual([
      [booms[0], [1, 1, 1]],
      [booms[1], [2, 2, 2]],
      [booms[2], [3, 3, 3]],
    ]);
    expect(await queue.requeue(booms)).toEqual([true, true, true]);
  });

  it('rejects pending calls with a typed error when the worker is terminated', async () => {
    const worker = start();
    const queue = connectQueue<NodeQueue>(worker, { codecs });
    const id = await queue.enqueue('hang', null);
    const pending = queue.waitFor([id]).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await worker.terminate();
    const error = await pending;
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as StorageUnavailableError).code).toBe('STORAGE_UNAVAILABLE');
    await expect(queue.status([id])).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it('cancels a running job and aborts a wait from the page', async () => {
    const queue = connectQueue<NodeQueue>(start(), { codecs });
    const id = await queue.enqueue('hang', null);
    for (let i = 0; i < 200 && (await queue.status([id]))[0] !== 'picked'; i++)
      await new Promise((r) => setTimeout(r, 20));
    const abort = new AbortController();
    const waiting = queue.waitFor([id], { signal: abort.signal }).catch((e: unknown) => e);
    abort.abort(new Error('the page stopped waiting'));
    expect(await waiting).toMatchObject({ message: 'the page stopped waiting' });
    expect(await queue.cancel([id])).toEqual([true]);
    expect(await queue.waitFor([id], { timeout: 30_000 })).toEqual(['canceled']);
    expect((await queue.stats()).entrypoints.hang.cancelled).toBe(1);
  });

  it('close() releases the subscriptions of the page in the worker; later calls reject', async () => {
    const worker = start();
    const closing = connectQueue<NodeQueue>(worker, { codecs });
    const other = connectQueue<NodeQueue>(worker, { codecs });
    await closing.subscribe(() => {});
    await other.subscribe(() => {});
    expect((await other.info()).subscribers).toBe(2);
    await closing.close();
    expect((await other.info()).subscribers).toBe(1);
    await expect(closing.stats()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(await closing.closed).toBeInstanceOf(StorageUnavailableError);
  });

  it('runs the optional SchedulerManager beside the QueueManager', async () => {
    const queue = connectQueue<NodeQueue>(start(), { codecs });
    const ticked: JobEvent[] = [];
    const unsubscribe = await queue.subscribe(
      (batch) => ticked.push(...batch.filter((e) => e.entrypoint === 'ticked')),
      {
        kinds: ['completed'],
      },
    );
    for (let i = 0; i < 200 && ticked.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(ticked.length).toBeGreaterThan(0);
    expect(ticked[0]).toMatchObject({ kind: 'completed', status: 'successful' });
    await unsubscribe();
  });

  it('pauses and resumes the run loop', async () => {
    const queue = connectQueue<NodeQueue>(start(), { codecs });
    await queue.pause();
    expect((await queue.stats()).state).toBe('paused');
    const id = await queue.enqueue('add', { a: 1, b: 2 });
    await new Promise((r) => setTimeout(r, 100));
    expect(await queue.status([id])).toEqual(['queued']);
    await queue.resume();
    expect(await queue.waitFor([id], { timeout: 30_000 })).toEqual(['successful']);
    expect(await queue.cancel([id])).toEqual([false]);
  });

  it('replay() wakes a sleeping QueueManager: a job that became due meanwhile runs at once', async () => {
    const skew = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(new URL('./fixtures/facade-node/replay-worker.ts', import.meta.url), {
      execArgv: ['--import', 'tsx', '--conditions=source'],
      workerData: { skew: skew.buffer },
    });
    workers.push(worker);
    const queue = connectQueue<ReplayQueue>(worker);
    const later = await queue.enqueue('later', null, { executeAfter: Date.now() + 3_600_000 });
    // A job that runs: the loop then finds 'later' an hour away and sleeps (its poll is an hour too).
    expect(await queue.waitFor([await queue.enqueue('now', null)], { timeout: 30_000 })).toEqual([
      'successful',
    ]);
    await new Promise((r) => setTimeout(r, 500));
    Atomics.store(skew, 0, 2 * 3600); // the store's clock moves two hours on: 'later' is due, no event says so
    await new Promise((r) => setTimeout(r, 200));
    expect(await queue.status([later])).toEqual(['queued']);
    await queue.replay();
    expect(await queue.waitFor([later], { timeout: 30_000 })).toEqual(['successful']);
  });
});
