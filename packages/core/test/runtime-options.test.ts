// Issue #11 on the runtime: options checked up front with errors naming them (item 6), the
// default retention applied once per store (item 4), and fenced results (item 5), on real stores.
import {
  createMemoryQueue,
  createReferenceQueue,
  ManualClock,
  QueueManager,
  type QueueRepository,
  SchedulerManager,
} from '@tideq/core';
import { describe, expect, it } from 'vitest';

const T0 = 1_700_000_000_000;
const noop = (): void => {};

function invalid(call: () => unknown, option: RegExp): void {
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected INVALID_ARGUMENT for ${option}`).toMatchObject({ code: 'INVALID_ARGUMENT' });
  expect(String((caught as Error).message)).toMatch(option);
}

describe('runtime options are checked at registration', () => {
  const repo = {} as QueueRepository; // never called: every check happens before any store call

  it('rejects wrong entrypoint option values instead of falling back to a default', () => {
    const qm = () => new QueueManager(repo, { logger: 'silent' });
    invalid(
      () => qm().entrypoint('a', { deadLetter: 'delete' as never }, noop),
      /entrypoint a: deadLetter must be true or false/,
    );
    invalid(
      () => qm().entrypoint('a', { serializedDispatch: 'no' as never }, noop),
      /serializedDispatch must be true or false/,
    );
    invalid(() => qm().entrypoint('a', { concurency: 2 } as never, noop), /unknown option "concurency"/);
    invalid(
      () => qm().entrypoint('a', { retry: { jiter: 0.5 } } as never, noop),
      /entrypoint a: retry: unknown option "jiter"/,
    );
    invalid(() => qm().entrypoint('a', { retry: 'often' } as never, noop), /retry must be an object/);
    invalid(() => qm().entrypoint('a', { codec: {} } as never, noop), /codec/);
    invalid(() => qm().entrypoint('a', [] as never, noop), /options of entrypoint a must be an object/);
    // the valid forms still register
    expect(() =>
      qm().entrypoint('a', { deadLetter: false, serializedDispatch: false, retry: { jitter: 0 } }, noop),
    ).not.toThrow();
  });

  it('rejects wrong manager options', () => {
    invalid(
      () => new QueueManager(repo, { logger: 'verbose' as never }),
      /logger must be 'console', 'silent'/,
    );
    invalid(() => new QueueManager(repo, { clock: {} as never }), /clock must be an object with now\(\)/);
    invalid(
      () => new QueueManager(repo, { timers: { setTimeout: noop } as never }),
      /timers .* missing clearTimeout/,
    );
    invalid(() => new QueueManager(repo, { resources: 'db' as never }), /resources must be an object/);
    invalid(() => new QueueManager(repo, { id: 'a\u0000b' }), /QueueManager id/);
    invalid(() => new QueueManager(repo, { pollIntervall: 5 } as never), /unknown option "pollIntervall"/);
    invalid(
      () => new QueueManager(repo, { retention: { maxRecord: 5 } } as never),
      /retention: unknown option "maxRecord"/,
    );
    invalid(() => new QueueManager(repo, { retention: { maxAge: -1 } }), /retention.maxAge/);
    expect(() => new QueueManager(repo, { retention: false, logger: 'silent' })).not.toThrow();
  });

  it('rejects wrong run options before touching the store', async () => {
    const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('a', noop);
    await expect(qm.run({ mode: 'fast' as never })).rejects.toThrow(/mode must be 'continuous' or 'drain'/);
    await expect(qm.run({ signal: {} as never })).rejects.toThrow(/signal must be an AbortSignal/);
    await expect(qm.run({ batchsize: 5 } as never)).rejects.toThrow(/unknown option "batchsize"/);
  });

  it('rejects wrong scheduler options', () => {
    invalid(() => new SchedulerManager(repo, { claimStale: 5 } as never), /unknown option "claimStale"/);
    invalid(() => new SchedulerManager(repo, { logger: 42 as never }), /logger/);
    const s = new SchedulerManager(repo, { logger: 'silent' });
    invalid(
      () => s.schedule('x', '* * * * *', noop, { timezon: 'UTC' } as never),
      /unknown option "timezon"/,
    );
  });
});

describe('default retention', () => {
  it('keeps the log bounded while managers run, with one compactor for the store however many managers', async () => {
    const repo = await createMemoryQueue();
    const jobs = 3000;
    await repo.enqueue(Array.from({ length: jobs }, () => ({ entrypoint: 'a' })));
    const managers = [1, 2, 3].map((i) =>
      new QueueManager(repo, { id: `qm${i}`, logger: 'silent', retention: { maxRecords: 100 } }).entrypoint(
        'a',
        noop,
      ),
    );
    await Promise.all(managers.map((qm) => qm.run({ mode: 'drain', batchSize: 50 })));
    // rows written: 3 per job (enqueued, picked, completed); a compaction every 1000 rows
    const { compactions } = await repo.metrics();
    expect(compactions).toBeGreaterThanOrEqual(3);
    expect(compactions).toBeLessThanOrEqual(Math.ceil((3 * jobs) / 1000) + 1);
    const log = await repo.log({ after: 0, limit: 100_000 });
    expect(log[0]!.seq).toBeGreaterThan(1); // history was dropped: seq 1 is gone
    expect(log.length).toBeLessThan(3 * jobs);
    await repo.compact({ maxRecords: 100 });
    expect(await repo.log({ after: 0, limit: 100_000 })).toHaveLength(100);
    await repo.close();
  });

  it('counts rows across short-lived managers (one per edge drain) until they add up to a compaction', async () => {
    const repo = await createMemoryQueue();
    for (let run = 0; run < 4; run++) {
      await repo.enqueue(Array.from({ length: 300 }, () => ({ entrypoint: 'a' })));
      const qm = new QueueManager(repo, { logger: 'silent', retention: { maxRecords: 100 } }).entrypoint(
        'a',
        noop,
      );
      await qm.run({ mode: 'drain' });
    }
    // 4 x 300 jobs x 3 rows = 3600 rows: at least one compaction although no run wrote 1000 rows
    await expect.poll(async () => (await repo.metrics()).compactions, { timeout: 10_000 }).toBeGreaterThan(0);
    await repo.close();
  });

  it('can be turned off', async () => {
    const repo = await createMemoryQueue();
    await repo.enqueue(Array.from({ length: 1000 }, () => ({ entrypoint: 'a' })));
    const qm = new QueueManager(repo, { logger: 'silent', retention: false }).entrypoint('a', noop);
    await qm.run({ mode: 'drain' });
    expect((await repo.metrics()).compactions).toBe(0);
    expect((await repo.log({ after: 0, limit: 1 }))[0]!.seq).toBe(1);
    await repo.close();
  });
});

describe('fenced results', () => {
  it("ignores a manager's late result for a job another manager re-picked after retryTimer", async () => {
    const clock = new ManualClock(T0);
    const repo = await createReferenceQueue({ clock });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    // A's heartbeats are far apart: it is the worker presumed lost
    const a = new QueueManager(repo, { id: 'A', clock, logger: 'silent', heartbeatInterval: 1e9 }).entrypoint(
      'a',
      { retryTimer: 1e9 },
      async () => {
        started();
        await released;
      },
    );
    const [id] = await repo.enqueue([{ entrypoint: 'a' }]);
    const stop = new AbortController();
    const runA = a.run({ signal: stop.signal, shutdownTimeout: 1 });
    await running;
    clock.advance(5000);
    const repicked = await repo.dequeue({
      batchSize: 1,
      entrypoints: { a: { retryTimer: 1000 } },
      queueManagerId: 'B',
    });
    expect(repicked.map((j) => j.id)).toEqual([id]);
    release();
    // A finishes and flushes its result; the store must keep B's run
    await expect.poll(() => a.stats().a!.successful, { timeout: 10_000 }).toBe(1);
    stop.abort();
    await runA;
    expect(await repo.jobStatus([id!])).toEqual(['picked']);
    expect((await repo.getJobs([id!]))[0]).toMatchObject({ queueManagerId: 'B', attempts: 2 });
    expect((await repo.log()).filter((e) => e.kind === 'completed' || e.kind === 'retried')).toEqual([]);
    expect(await repo.complete([{ id: id!, status: 'successful' }], { queueManagerId: 'B' })).toEqual([true]);
    await repo.close();
  });
});
