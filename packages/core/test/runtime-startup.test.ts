// Issue #11 item 1 on the runtime: a store that is out of reach when a QueueManager starts is
// waited out like a later outage (logged, retried with the loop's backoff) until it answers or the
// signal aborts; a bug (TypeError, INVALID_ARGUMENT) still ends run() at once. The store is the
// real WASM core; a wrapper injects the faults around it, since the QueueManager is under test.
import {
  createMemoryQueue,
  InvalidArgumentError,
  QueueManager,
  type QueueRepository,
  SchedulerManager,
  StorageUnavailableError,
} from '@tideq/core';
import { describe, expect, it } from 'vitest';

interface Faults {
  /** How many `subscribe` calls fail before it delegates. */
  subscribe: number;
  /** How many `dequeue` calls fail (after a subscribe has gone through) before it delegates. */
  dequeue: number;
  /** What a failing call throws. */
  error: () => Error;
}

/** The real store, with its first `subscribe`/`dequeue` calls failing as `faults` says. */
function flaky(
  store: QueueRepository,
  faults: Faults,
): { repo: QueueRepository; calls: Record<string, number> } {
  const calls = { subscribe: 0, dequeue: 0 };
  const repo = new Proxy(store, {
    get(target, prop) {
      if (prop === 'subscribe' || prop === 'dequeue') {
        return async (...args: unknown[]) => {
          const n = ++calls[prop];
          if (n <= faults[prop]) throw faults.error();
          return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { repo, calls };
}

const outage = () => new StorageUnavailableError('connect ECONNREFUSED 127.0.0.1:5432');

async function queueWithJobs(n: number): Promise<{ store: QueueRepository; ids: number[] }> {
  const store = await createMemoryQueue();
  const ids = (await store.enqueue(Array.from({ length: n }, () => ({ entrypoint: 'work' })))) as number[];
  return { store, ids };
}

describe('QueueManager start-up meets an outage', () => {
  it('waits out a store that fails subscribe and the first dequeue, then drains every job', async () => {
    const { store, ids } = await queueWithJobs(50);
    const { repo, calls } = flaky(store, { subscribe: 2, dequeue: 2, error: outage });
    const ran = new Set<number>();
    const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('work', async ({ job }) => {
      ran.add(job.id);
    });
    const errors: string[] = [];
    qm.on('error', ({ error, where }) => errors.push(`${(error as { code?: string }).code} ${where}`));

    await qm.run({ mode: 'drain', batchSize: 10 });

    expect([...ran].sort((a, b) => a - b)).toEqual(ids);
    expect(await store.jobStatus(ids)).toEqual(ids.map(() => 'successful'));
    expect(calls.subscribe).toBe(3);
    expect(errors).toEqual([1, 2, 3, 4].map((n) => `STORAGE_UNAVAILABLE store call at start (retry ${n})`));
  });

  it('keeps waiting past the ten tries a running manager allows, with the backoff capped at 5 s', async () => {
    const { store, ids } = await queueWithJobs(5);
    const { repo, calls } = flaky(store, { subscribe: 14, dequeue: 0, error: outage });
    // The backoff's delays are recorded and shortened to 1 ms (longer timers, such as the
    // heartbeat and the poll interval, run as asked), so 14 tries take milliseconds.
    const backoffs: number[] = [];
    const timers = {
      setTimeout: (callback: () => void, ms: number) => {
        if (ms > 5000) return setTimeout(callback, ms);
        backoffs.push(ms);
        return setTimeout(callback, 1);
      },
      clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    let runs = 0;
    const qm = new QueueManager(repo, { logger: 'silent', timers }).entrypoint('work', async () => {
      runs++;
    });

    await qm.run({ mode: 'drain' });

    expect(calls.subscribe).toBe(15);
    expect(runs).toBe(5);
    expect(await store.jobStatus(ids)).toEqual(ids.map(() => 'successful'));
    expect(backoffs.slice(0, 14)).toEqual([100, 200, 400, 800, 1600, 3200, ...Array(8).fill(5000)]);
  });

  it('stops cleanly when the signal aborts while the store is still out of reach', async () => {
    const { store, ids } = await queueWithJobs(3);
    const { repo, calls } = flaky(store, { subscribe: Number.POSITIVE_INFINITY, dequeue: 0, error: outage });
    const stop = new AbortController();
    const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('work', async () => {});
    let tries = 0;
    qm.on('error', () => {
      if (++tries === 2) stop.abort();
    });

    await qm.run({ signal: stop.signal }); // resolves: nothing was lost

    expect(calls.subscribe).toBe(2);
    expect(calls.dequeue).toBe(0);
    expect(qm.running).toBe(false);
    expect(await store.jobStatus(ids)).toEqual(ids.map(() => 'queued'));
  });

  it('rejects at once when start-up meets a bug instead of an outage', async () => {
    const { store, ids } = await queueWithJobs(3);
    const bug = new TypeError('cannot read properties of undefined');
    const { repo, calls } = flaky(store, { subscribe: 1, dequeue: 0, error: () => bug });
    const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('work', async () => {});

    await expect(qm.run({ mode: 'drain' })).rejects.toBe(bug);
    expect(calls.subscribe).toBe(1);
    expect(calls.dequeue).toBe(0);
    expect(qm.running).toBe(false);

    // The same on the first dequeue, and for a typed non-outage error.
    const invalid = new InvalidArgumentError('batchSize must be a positive integer');
    const second = flaky(store, { subscribe: 0, dequeue: 1, error: () => invalid });
    const qm2 = new QueueManager(second.repo, { logger: 'silent' }).entrypoint('work', async () => {});
    await expect(qm2.run({ mode: 'drain' })).rejects.toBe(invalid);
    expect(second.calls.dequeue).toBe(1);
    expect(await store.jobStatus(ids)).toEqual(ids.map(() => 'queued'));
  });
});

describe('SchedulerManager start-up meets an outage', () => {
  /** The real store, with its first `listSchedules` calls (the start-up sync) failing. */
  function flakyListing(store: QueueRepository, failures: number, error: () => Error) {
    const calls = { listSchedules: 0 };
    const repo = new Proxy(store, {
      get(target, prop) {
        if (prop === 'listSchedules') {
          return async () => {
            if (++calls.listSchedules <= failures) throw error();
            return target.listSchedules();
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { repo, calls };
  }

  it('waits out more than ten failed start-up calls, then stores its schedules and runs a due tick', async () => {
    const store = await createMemoryQueue();
    const { repo, calls } = flakyListing(store, 13, outage);
    const timers = {
      setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms > 5000 ? ms : 1),
      clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    const stop = new AbortController();
    const ticks: number[] = [];
    const errors: string[] = [];
    const scheduler = new SchedulerManager(repo, {
      timers,
      logger: { error: (m: string) => errors.push(m), warn: () => {}, info: () => {}, debug: () => {} },
    }).schedule('every-second', '* * * * * *', async ({ scheduledAt }) => {
      ticks.push(scheduledAt);
      stop.abort();
    });

    await scheduler.run({ signal: stop.signal });

    expect(calls.listSchedules).toBeGreaterThan(13);
    expect(errors.slice(0, 13)).toEqual(
      Array.from({ length: 13 }, (_, i) => expect.stringContaining(`at start failed (retry ${i + 1})`)),
    );
    expect(ticks).toHaveLength(1);
    expect((await store.listSchedules()).map((s) => s.name)).toEqual(['every-second']);
  });

  it('rejects at once when start-up meets a bug instead of an outage', async () => {
    const store = await createMemoryQueue();
    const bug = new TypeError('cannot read properties of undefined');
    const { repo, calls } = flakyListing(store, 1, () => bug);
    const scheduler = new SchedulerManager(repo, { logger: 'silent' }).schedule(
      's',
      '* * * * *',
      async () => {},
    );
    await expect(scheduler.run()).rejects.toBe(bug);
    expect(calls.listSchedules).toBe(1);
  });
});
