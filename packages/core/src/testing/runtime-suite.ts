/**
 * The runtime suite: QueueManager, SchedulerManager and waitFor against a real adapter. An adapter
 * joins with one line:
 *
 * @example
 * defineRuntimeSuite('reference', async ({ clock }) => createReferenceQueue({ clock }));
 *
 * Scenarios where time matters get a ManualClock (shared with the store) and {@link ManualTimers}
 * driven by it; the throughput and concurrency scenarios run on the wall clock without sleeping.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { InvalidArgumentError, StorageUnavailableError, TimeoutError } from '../errors.js';
import type { QueueRepository } from '../port.js';
import { jsonCodec } from '../runtime/codec.js';
import { waitFor } from '../runtime/completion.js';
import { QueueManager } from '../runtime/queue-manager.js';
import { SchedulerManager } from '../runtime/scheduler-manager.js';
import { yieldToEventLoop } from '../runtime/timers.js';
import type {
  ExecutionOutcome,
  QueueManagerOptions,
  RunOptions,
  ScheduleContext,
  Timers,
} from '../runtime/types.js';
import type { Job, JobStatus } from '../types.js';

/**
 * Creates a fresh, empty repository reading time from `ctx.clock`. Time-sensitive scenarios pass a
 * ManualClock; the others pass one that follows the wall clock, so a conformance factory fits as is.
 */
export type RuntimeRepositoryFactory = (ctx: { clock: ManualClock }) => Promise<QueueRepository>;

/** A ManualClock that reads the wall clock: for scenarios that run in real time. */
class WallClock extends ManualClock {
  override now(): number {
    return Date.now();
  }
}

/** Options of `defineRuntimeSuite`. */
export interface RuntimeSuiteOptions {
  /** Timeout of each scenario, ms (default 20000). */
  timeout?: number;
  /** Jobs in the drain-exactly-once scenario (default 10000). */
  drainJobs?: number;
}

/**
 * Timers that fire only when {@link ManualTimers.advance} moves the ManualClock, in time order,
 * letting the runtime react between them. Give managers that share a store the same instance; a
 * manager with its own instance that is never advanced behaves like a frozen process.
 */
export class ManualTimers implements Timers {
  readonly clock: ManualClock;
  readonly #settle: () => Promise<void>;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();
  #nextId = 1;

  /**
   * @param clock the store's ManualClock
   * @param settle resolves once the code under test has finished reacting (default: 20 event-loop turns)
   */
  constructor(clock: ManualClock, settle: () => Promise<void> = () => turns(20)) {
    this.clock = clock;
    this.#settle = settle;
  }

  /** Fires `callback` once the clock is advanced `ms` past now. */
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.clock.now() + Math.max(0, Math.floor(ms)), callback });
    return id;
  }

  /** Drops a pending timer. */
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not fired yet. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Move the clock forward by `ms`, firing each timer due on the way at its time. */
  async advance(ms: number): Promise<void> {
    await this.#settle(); // timers armed by work still under way count from the current time
    const target = this.clock.now() + ms;
    for (;;) {
      let nextId = 0;
      let nextAt = Number.POSITIVE_INFINITY;
      for (const [id, t] of this.#timers) {
        if (t.at <= target && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId === 0) break;
      if (nextAt > this.clock.now()) this.clock.set(nextAt);
      const timer = this.#timers.get(nextId)!;
      this.#timers.delete(nextId);
      timer.callback();
      await this.#settle();
    }
    if (target > this.clock.now()) this.clock.set(target);
    await this.#settle();
  }
}

/** Let promise chains and macrotask yields run (no real time passes). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await yieldToEventLoop();
}

/**
 * Counts the store calls in flight, so a scenario can wait until the runtime has finished
 * reacting (memory stores answer in a turn; network stores take milliseconds).
 */
class StoreTracker {
  inFlight = 0;
  /** Moving average of call latency, ms: sets the grace given to pushed events (LISTEN/NOTIFY). */
  latency = 0;

  wrap(repo: QueueRepository): QueueRepository {
    return new Proxy(repo, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        if (key === 'close') return value.bind(target);
        return (...args: unknown[]) => {
          this.inFlight++;
          const t = performance.now();
          const done = (): void => {
            this.inFlight--;
            this.latency = 0.8 * this.latency + 0.2 * (performance.now() - t);
          };
          const result = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          result.then(done, done);
          return result;
        };
      },
    });
  }

  /** Resolves once no call has been in flight for 10 turns, plus a grace for pushed events. */
  async settle(): Promise<void> {
    const deadline = performance.now() + 5000;
    for (let round = 0; round < 2; round++) {
      let calm = 0;
      while (calm < 10 && performance.now() < deadline) {
        await yieldToEventLoop();
        calm = this.inFlight === 0 ? calm + 1 : 0;
      }
      const grace = Math.min(50, Math.ceil(this.latency * 3));
      if (grace < 2) return; // an in-memory store: delivery happens within the turns above
      await new Promise((resolve) => setTimeout(resolve, grace));
    }
  }
}

/** Wait (yielding, not sleeping) until `check` holds; fails after `ms` of real time. */
async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await yieldToEventLoop();
  }
}

const T0 = 1_700_000_000_000;
const never = (): Promise<never> => new Promise<never>(() => {});
const json = <T>() => jsonCodec<T>();

async function jobOf(repo: QueueRepository, id: number): Promise<Job> {
  const [job] = await repo.getJobs([id]);
  if (!job) throw new Error(`job ${id} is not held by the store`);
  return job;
}

/** Register the runtime scenarios for one adapter. */
export function defineRuntimeSuite(
  name: string,
  factory: RuntimeRepositoryFactory,
  options: RuntimeSuiteOptions = {},
): void {
  const timeout = options.timeout ?? 20_000;
  const drainJobs = options.drainJobs ?? 10_000;

  describe(`runtime on ${name}`, { timeout }, () => {
    const repos: QueueRepository[] = [];
    const stops: AbortController[] = [];
    const runs: Promise<unknown>[] = [];
    let tracker = new StoreTracker();
    /** Wait until the runtime has finished reacting to the last change (see StoreTracker). */
    const settle = (): Promise<void> => tracker.settle();

    afterEach(async () => {
      for (const c of stops.splice(0)) c.abort();
      await settle();
      runs.length = 0;
      for (const r of repos.splice(0)) await r.close().catch(() => {});
    });

    async function manual(): Promise<{ repo: QueueRepository; clock: ManualClock; timers: ManualTimers }> {
      const clock = new ManualClock(T0);
      tracker = new StoreTracker();
      const repo = tracker.wrap(await factory({ clock }));
      repos.push(repo);
      return { repo, clock, timers: new ManualTimers(clock, settle) };
    }

    async function real(): Promise<QueueRepository> {
      tracker = new StoreTracker();
      const repo = tracker.wrap(await factory({ clock: new WallClock() }));
      repos.push(repo);
      return repo;
    }

    function managerOptions(extra: QueueManagerOptions = {}): QueueManagerOptions {
      return { logger: 'silent', ...extra };
    }

    /** Start a run; `stop()` aborts it and resolves with the run's result; `done` settles with it. */
    function start(qm: QueueManager, run: RunOptions = {}) {
      const controller = new AbortController();
      stops.push(controller);
      const result = qm.run({ signal: controller.signal, ...run }).then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      runs.push(result);
      return {
        controller,
        done: result,
        async stop() {
          controller.abort();
          return result;
        },
      };
    }

    describe('QueueManager: throughput and global limits', () => {
      it(`drains ${drainJobs} jobs exactly once with maxConcurrentTasks 100`, async () => {
        const repo = await real();
        const seen = new Map<number, number>();
        const qm = new QueueManager(repo, managerOptions()).entrypoint('work', async ({ job }) => {
          seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
        });
        const ids: number[] = [];
        for (let i = 0; i < drainJobs; i += 5000) {
          const n = Math.min(5000, drainJobs - i);
          ids.push(
            ...((await repo.enqueue(Array.from({ length: n }, () => ({ entrypoint: 'work' })))) as number[]),
          );
        }
        await qm.run({ mode: 'drain', batchSize: 100, maxConcurrentTasks: 100 });
        expect(seen.size).toBe(drainJobs);
        expect([...seen.values()].every((n) => n === 1)).toBe(true);
        expect(await repo.queueSize()).toEqual([]);
        const statuses = await repo.jobStatus(ids);
        expect(statuses.every((s) => s === 'successful')).toBe(true);
        expect(qm.stats().work).toMatchObject({ picked: drainJobs, successful: drainJobs, running: 0 });
      });

      it('never exceeds the global concurrencyLimit across two managers (measured by the handlers)', async () => {
        const repo = await real();
        let current = 0;
        let max = 0;
        const byManager = [0, 0];
        const make = (index: number) =>
          new QueueManager(repo, managerOptions({ id: `m${index}` })).entrypoint(
            'limited',
            { concurrencyLimit: 3 },
            async () => {
              current++;
              max = Math.max(max, current);
              byManager[index]!++;
              // Hold the slot across several event-loop turns so the other manager tries to take it.
              for (let i = 0; i < 3; i++) await yieldToEventLoop();
              current--;
            },
          );
        await repo.enqueue(Array.from({ length: 300 }, () => ({ entrypoint: 'limited' })));
        const a = make(0);
        const b = make(1);
        await Promise.all([
          a.run({ mode: 'drain', maxConcurrentTasks: 10, batchSize: 10 }),
          b.run({ mode: 'drain', maxConcurrentTasks: 10, batchSize: 10 }),
        ]);
        expect(max).toBe(3);
        expect(byManager[0]! + byManager[1]!).toBe(300);
        expect(await repo.queueSize()).toEqual([]);
      });

      it('holds requestsPerSecond within 10% over 4 s across two managers', async () => {
        const { repo, timers } = await manual();
        let picks = 0;
        const make = (id: string) =>
          new QueueManager(repo, managerOptions({ id, clock: timers.clock, timers })).entrypoint(
            'rated',
            { requestsPerSecond: 20 },
            async () => {
              picks++;
            },
          );
        await repo.enqueue(Array.from({ length: 1000 }, () => ({ entrypoint: 'rated' })));
        const a = start(make('a'));
        const b = start(make('b'));
        await settle();
        // 2 tokens at start (capacity rps/10), then 20 per second; blocked managers retry every 50 ms.
        await timers.advance(4000);
        const ceiling = 2 + 20 * 4;
        expect(picks).toBeLessThanOrEqual(ceiling);
        expect(picks).toBeGreaterThanOrEqual(Math.floor(ceiling * 0.9));
        expect((await a.stop()).ok).toBe(true);
        expect((await b.stop()).ok).toBe(true);
      });

      it('serializedDispatch runs one job at a time in priority then id order', async () => {
        const repo = await real();
        const order: number[] = [];
        let current = 0;
        let max = 0;
        const qm = new QueueManager(repo, managerOptions()).entrypoint(
          'serial',
          { serializedDispatch: true },
          async ({ job }) => {
            current++;
            max = Math.max(max, current);
            order.push(job.id);
            await yieldToEventLoop();
            current--;
          },
        );
        const ids = (await repo.enqueue([
          { entrypoint: 'serial' },
          { entrypoint: 'serial', priority: 5 },
          { entrypoint: 'serial' },
        ])) as number[];
        await qm.run({ mode: 'drain', maxConcurrentTasks: 10 });
        expect(max).toBe(1);
        expect(order).toEqual([ids[1], ids[0], ids[2]]);
      });
    });

    describe('QueueManager: waking and draining', () => {
      it('sleeps while idle (no dequeue polling) and wakes on an enqueue event', async () => {
        const { repo, timers } = await manual();
        const done: number[] = [];
        const qm = new QueueManager(repo, managerOptions({ clock: timers.clock, timers })).entrypoint(
          'wake',
          async ({ job }) => {
            done.push(job.id);
          },
        );
        const run = start(qm);
        await settle();
        const before = (await repo.metrics()).ops.dequeue?.count ?? 0;
        await turns(200); // many event-loop turns, no timer fired: an idle manager makes no calls
        expect((await repo.metrics()).ops.dequeue?.count ?? 0).toBe(before);
        const [id] = (await repo.enqueue([{ entrypoint: 'wake' }])) as number[];
        await eventually(() => done.length === 1, 'the woken manager to run the job');
        expect(done).toEqual([id]);
        expect(await waitFor(repo, [id!])).toEqual(['successful']);
        expect((await run.stop()).ok).toBe(true);
      });

      it('wakes for a deferred job at its executeAfter, not before', async () => {
        const { repo, clock, timers } = await manual();
        const ranAt: number[] = [];
        const qm = new QueueManager(repo, managerOptions({ clock, timers })).entrypoint('later', async () => {
          ranAt.push(clock.now());
        });
        await repo.enqueue([{ entrypoint: 'later', executeAfter: T0 + 5000 }]);
        const run = start(qm);
        await timers.advance(4999);
        expect(ranAt).toEqual([]);
        await timers.advance(1);
        await eventually(() => ranAt.length === 1, 'the deferred job');
        expect(ranAt).toEqual([T0 + 5000]);
        expect((await run.stop()).ok).toBe(true);
      });

      it('drain waits for deferred jobs, then returns', async () => {
        const { repo, clock, timers } = await manual();
        const qm = new QueueManager(repo, managerOptions({ clock, timers })).entrypoint('d', async () => {});
        const [now, later] = (await repo.enqueue([
          { entrypoint: 'd' },
          { entrypoint: 'd', executeAfter: T0 + 60_000 },
        ])) as number[];
        let finished = false;
        const drained = qm.run({ mode: 'drain' }).then(() => {
          finished = true;
        });
        await settle();
        expect(await repo.jobStatus([now!, later!])).toEqual(['successful', 'queued']);
        expect(finished).toBe(false);
        await timers.advance(60_000);
        await drained;
        expect(await repo.jobStatus([later!])).toEqual(['successful']);
      });

      it('yields to the event loop between batches: timers still fire during a long drain', async () => {
        const repo = await real();
        const qm = new QueueManager(repo, managerOptions()).entrypoint('busy', async () => {});
        await repo.enqueue(Array.from({ length: 2000 }, () => ({ entrypoint: 'busy' })));
        // A ticker on the same macrotask queue (setImmediate in Node, MessageChannel in browsers).
        let ticks = 0;
        let stop = false;
        const ticker = (async () => {
          while (!stop) {
            await yieldToEventLoop();
            ticks++;
          }
        })();
        await qm.run({ mode: 'drain', batchSize: 10, maxConcurrentTasks: 10 });
        stop = true;
        await ticker;
        // 200 batches: a loop that never yielded would let the ticker run only after it ended.
        expect(ticks).toBeGreaterThan(100);
      });
    });

    describe('QueueManager: failures, retries, dead letters', () => {
      it('retries with exponential backoff, then records a dead letter with the last error', async () => {
        const { repo, clock, timers } = await manual();
        const attempts: number[] = [];
        const qm = new QueueManager(repo, managerOptions({ clock, timers })).entrypoint(
          'flaky',
          { maxAttempts: 3, retry: { baseDelay: 100, factor: 2, jitter: 0 } },
          async ({ attempt }) => {
            attempts.push(attempt);
            throw new Error(`boom ${attempt}`);
          },
        );
        const [id] = (await repo.enqueue([{ entrypoint: 'flaky' }])) as number[];
        const run = start(qm);
        await eventually(async () => (await jobOf(repo, id!)).lastError === 'boom 1', 'retry 1');
        expect((await jobOf(repo, id!)).executeAfter).toBe(T0 + 100);
        await timers.advance(100);
        await eventually(async () => (await jobOf(repo, id!)).lastError === 'boom 2', 'retry 2');
        expect((await jobOf(repo, id!)).executeAfter).toBe(T0 + 300);
        await timers.advance(200);
        expect(await waitFor(repo, [id!])).toEqual(['failed']);
        expect(attempts).toEqual([1, 2, 3]);
        const dead = await jobOf(repo, id!);
        expect(dead).toMatchObject({ status: 'failed', attempts: 3, lastError: 'boom 3' });
        expect((await repo.failedJobs()).map((j) => j.id)).toEqual([id]);
        const kinds = (await repo.log()).filter((e) => e.jobId === id).map((e) => `${e.kind}@${e.at - T0}`);
        expect(kinds).toEqual([
          'enqueued@0',
          'picked@0',
          'retried@0',
          'picked@100',
          'retried@100',
          'picked@300',
          'failed@300',
        ]);
        expect(qm.stats().flaky).toMatchObject({ picked: 3, retried: 2, failed: 1, successful: 0 });
        expect(clock.now()).toBe(T0 + 300);
        expect((await run.stop()).ok).toBe(true);
      });

      it('succeeds on a later attempt; non-retryable errors dead-letter at once; deadLetter false ends as exception', async () => {
        const { repo, clock, timers } = await manual();
        class Permanent extends Error {
          override name = 'Permanent';
        }
        const qm = new QueueManager(repo, managerOptions({ clock, timers }))
          .entrypoint('second', { retry: { baseDelay: 10, jitter: 0 } }, async ({ attempt }) => {
            if (attempt === 1) throw new Error('transient');
          })
          .entrypoint(
            'permanent',
            { maxAttempts: 5, retry: { retryable: (e) => !(e instanceof Permanent) } },
            async () => {
              throw new Permanent('bad input');
            },
          )
          .entrypoint('gone', { maxAttempts: 1, deadLetter: false }, () => {
            throw 'a string';
          });
        const [a, b, c] = (await repo.enqueue([
          { entrypoint: 'second' },
          { entrypoint: 'permanent' },
          { entrypoint: 'gone' },
        ])) as number[];
        const run = start(qm);
        await eventually(
          async () => (await repo.jobStatus([b!, c!])).every((s) => s !== 'queued' && s !== 'picked'),
          'b, c',
        );
        await timers.advance(10);
        expect(await waitFor(repo, [a!, b!, c!])).toEqual(['successful', 'failed', 'exception']);
        expect(await jobOf(repo, b!)).toMatchObject({ attempts: 1, lastError: 'Permanent: bad input' });
        const goneEvent = (await repo.log()).find((e) => e.jobId === c && e.kind === 'completed');
        expect(goneEvent).toMatchObject({ status: 'exception', error: 'a string' });
        expect((await run.stop()).ok).toBe(true);
      });

      it('a custom executor decides the outcome', async () => {
        const { repo, clock, timers } = await manual();
        const seen: string[] = [];
        const qm = new QueueManager(repo, managerOptions({ clock, timers })).entrypoint(
          'custom',
          {
            codec: json<{ n: number }>(),
            maxAttempts: 1, // applies to failures of the executor itself, not to the outcomes it returns
            executor: async (ctx, run) => {
              try {
                await run();
                return { status: 'successful' };
              } catch (error) {
                seen.push(`${ctx.payload.n}:${(error as Error).message}`);
                if (ctx.payload.n === 3) return { status: 'bogus' } as unknown as ExecutionOutcome;
                return ctx.payload.n === 1
                  ? { status: 'exception', error: 'custom says no' }
                  : { status: 'retry', executeAfter: clock.now() + 1000, error: 'later' };
              }
            },
          },
          async ({ payload }) => {
            if (payload.n > 0) throw new Error('nope');
          },
        );
        const [ok, no, later, bogus] = await qm.enqueueMany([
          { entrypoint: 'custom', payload: { n: 0 } },
          { entrypoint: 'custom', payload: { n: 1 } },
          { entrypoint: 'custom', payload: { n: 2 } },
          { entrypoint: 'custom', payload: { n: 3 } },
        ]);
        const run = start(qm);
        expect(await waitFor(repo, [ok!, no!, bogus!])).toEqual(['successful', 'exception', 'failed']);
        await eventually(async () => (await jobOf(repo, later!)).lastError === 'later', 'custom retry');
        expect((await jobOf(repo, bogus!)).lastError).toMatch(
          /TypeError: executor of custom returned .*bogus.*not an ExecutionOutcome/,
        );
        expect(await jobOf(repo, later!)).toMatchObject({
          executeAfter: T0 + 1000,
          lastError: 'later',
          attempts: 1,
        });
        expect(seen).toEqual(['1:nope', '2:nope', '3:nope']);
        expect((await run.stop()).ok).toBe(true);
      });

      it('times a run out: the signal aborts with a TimeoutError and the attempt fails', async () => {
        const { repo, clock, timers } = await manual();
        let reason: unknown;
        const qm = new QueueManager(repo, managerOptions({ clock, timers })).entrypoint(
          'slow',
          { timeout: 500, maxAttempts: 1 },
          ({ signal }) =>
            new Promise((_, reject) => {
              signal.addEventListener('abort', () => {
                reason = signal.reason;
                reject(signal.reason);
              });
            }),
        );
        const [id] = (await repo.enqueue([{ entrypoint: 'slow' }])) as number[];
        const run = start(qm);
        await eventually(async () => (await repo.jobStatus([id!]))[0] === 'picked', 'the pick');
        await timers.advance(499);
        expect(await repo.jobStatus([id!])).toEqual(['picked']);
        await timers.advance(1);
        expect(await waitFor(repo, [id!])).toEqual(['failed']);
        expect(reason).toBeInstanceOf(TimeoutError);
        expect((await jobOf(repo, id!)).lastError).toMatch(
          /TimeoutError: job \d+ \(slow\) ran longer than 500 ms/,
        );
        expect(qm.stats().slow).toMatchObject({ timedOut: 1, failed: 1, running: 0 });
        expect((await run.stop()).ok).toBe(true);
      });
    });

    describe('QueueManager: cancellation and shutdown', () => {
      it('cancels a queued job and a running one held by another manager', async () => {
        const repo = await real();
        let reason: unknown;
        let started = false;
        const worker = new QueueManager(repo, managerOptions({ id: 'worker' })).entrypoint(
          'long',
          ({ signal }) =>
            new Promise((_, reject) => {
              started = true;
              signal.addEventListener('abort', () => {
                reason = signal.reason;
                reject(signal.reason);
              });
            }),
        );
        const producer = new QueueManager(repo, managerOptions({ id: 'producer' })).entrypoint(
          'long',
          async () => {},
        );
        const [running, queued] = (await repo.enqueue([
          { entrypoint: 'long' },
          { entrypoint: 'long', executeAfter: Date.now() + 3_600_000 },
        ])) as number[];
        const run = start(worker, { shutdownTimeout: 0 });
        await eventually(() => started, 'the worker to start the job');
        expect(await producer.cancel([running!, queued!])).toEqual([true, true]);
        await eventually(() => reason !== undefined, 'the running handler to see its signal abort');
        expect((reason as DOMException).name).toBe('AbortError');
        expect(await waitFor(repo, [running!, queued!])).toEqual(['canceled', 'canceled']);
        expect(worker.stats().long).toMatchObject({ cancelled: 1, running: 0 });
        // The slot is free again: the next job runs.
        reason = undefined;
        started = false;
        await repo.enqueue([{ entrypoint: 'long' }]);
        await eventually(() => started, 'the next job');
        expect((await run.stop()).ok).toBe(true);
      });

      it('graceful shutdown lets running jobs finish and completes them', async () => {
        const repo = await real();
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        let started = 0;
        const qm = new QueueManager(repo, managerOptions()).entrypoint('finish', async () => {
          started++;
          await gate;
        });
        const ids = (await repo.enqueue([{ entrypoint: 'finish' }, { entrypoint: 'finish' }])) as number[];
        const run = start(qm, { shutdownTimeout: 60_000 });
        await eventually(() => started === 2, 'both jobs to start');
        const stopped = run.stop();
        await settle();
        expect(await repo.jobStatus(ids)).toEqual(['picked', 'picked']);
        release();
        expect((await stopped).ok).toBe(true);
        expect(await repo.jobStatus(ids)).toEqual(['successful', 'successful']);
      });

      it('after shutdownTimeout aborts running jobs and puts them back to queued for another manager', async () => {
        const { repo, clock, timers } = await manual();
        let reason: unknown;
        const qm = new QueueManager(repo, managerOptions({ id: 'leaving', clock, timers })).entrypoint(
          'stubborn',
          ({ signal }) => {
            signal.addEventListener('abort', () => {
              reason = signal.reason;
            });
            return never(); // ignores its signal
          },
        );
        const [id] = (await repo.enqueue([{ entrypoint: 'stubborn' }])) as number[];
        const run = start(qm, { shutdownTimeout: 1000 });
        await eventually(async () => (await repo.jobStatus([id!]))[0] === 'picked', 'the pick');
        run.controller.abort();
        await settle(); // the shutdown starts its 1000 ms grace period on the manual timers
        await timers.advance(999);
        expect(await repo.jobStatus([id!])).toEqual(['picked']);
        await timers.advance(1);
        expect((await run.done).ok).toBe(true);
        expect((reason as DOMException).name).toBe('AbortError');
        expect(await jobOf(repo, id!)).toMatchObject({ status: 'queued', attempts: 1, queueManagerId: null });
        expect((await jobOf(repo, id!)).lastError).toMatch(/^shutdown/);
        const next = new QueueManager(repo, managerOptions({ clock, timers })).entrypoint(
          'stubborn',
          async () => {},
        );
        await next.run({ mode: 'drain' });
        expect(await repo.jobStatus([id!])).toEqual(['successful']);
      });
    });

    describe('QueueManager: lost workers', () => {
      it('re-runs the jobs of a manager that died mid-job after retryTimer', async () => {
        const { repo, clock, timers } = await manual();
        const limits = { retryTimer: 1000, maxAttempts: 5 };
        // The dead manager's timers never advance: no heartbeats, as if its process froze.
        const dead = new QueueManager(
          repo,
          managerOptions({ id: 'dead', clock, timers: new ManualTimers(clock, settle) }),
        );
        const deadRun = start(
          dead.entrypoint('job', limits, () => never()),
          { maxConcurrentTasks: 1 },
        );
        const [id] = (await repo.enqueue([{ entrypoint: 'job' }])) as number[];
        await eventually(
          async () => (await jobOf(repo, id!)).queueManagerId === 'dead',
          'the dead manager to pick',
        );
        const ran: number[] = [];
        const alive = new QueueManager(repo, managerOptions({ id: 'alive', clock, timers })).entrypoint(
          'job',
          limits,
          async ({ attempt }) => {
            ran.push(attempt);
          },
        );
        const run = start(alive);
        await settle();
        // Idle managers look for stale jobs every retryTimer, so the job is re-run within 2 x retryTimer.
        await timers.advance(1000);
        expect(ran).toEqual([]);
        await timers.advance(1001);
        expect(await waitFor(repo, [id!])).toEqual(['successful']);
        expect(ran).toEqual([2]);
        expect((await run.stop()).ok).toBe(true);
        void deadRun; // abandoned on purpose
      });

      it('keeps a long job alive with batched heartbeats: no re-pick while it runs', async () => {
        const { repo, clock, timers } = await manual();
        const limits = { retryTimer: 1000 };
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const attempts: number[] = [];
        const handler = async ({ attempt }: { attempt: number }) => {
          attempts.push(attempt);
          await gate;
        };
        const a = new QueueManager(repo, managerOptions({ id: 'a', clock, timers })).entrypoint(
          'long',
          limits,
          handler,
        );
        const b = new QueueManager(repo, managerOptions({ id: 'b', clock, timers })).entrypoint(
          'long',
          limits,
          handler,
        );
        const [id] = (await repo.enqueue([{ entrypoint: 'long' }])) as number[];
        const runA = start(a);
        await eventually(() => attempts.length === 1, 'the first pick');
        const runB = start(b);
        await timers.advance(5000);
        expect(attempts).toEqual([1]);
        expect((await jobOf(repo, id!)).heartbeat).toBeGreaterThan(clock.now() - 1000);
        release();
        expect(await waitFor(repo, [id!])).toEqual(['successful']);
        expect((await runA.stop()).ok).toBe(true);
        expect((await runB.stop()).ok).toBe(true);
      });

      it('heartbeats jobs without a retryTimer too, so scan/recover never take a running job for lost', async () => {
        const { repo, clock, timers } = await manual();
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const qm = new QueueManager(
          repo,
          managerOptions({ clock, timers, heartbeatInterval: 1000 }),
        ).entrypoint('plain', () => gate);
        const [id] = (await repo.enqueue([{ entrypoint: 'plain' }])) as number[];
        const run = start(qm);
        await eventually(async () => (await repo.jobStatus([id!]))[0] === 'picked', 'the pick');
        await timers.advance(5000);
        expect((await repo.scan({ staleAfter: 2000 })).stalePicked).toEqual([]);
        release();
        expect(await waitFor(repo, [id!])).toEqual(['successful']);
        expect((await run.stop()).ok).toBe(true);
      });

      it('a job that keeps crashing its manager ends failed after maxAttempts', async () => {
        const { repo, clock, timers } = await manual();
        const limits = { retryTimer: 1000, maxAttempts: 3 };
        const [id] = (await repo.enqueue([{ entrypoint: 'crash' }])) as number[];
        for (let attempt = 1; attempt <= 3; attempt++) {
          // Each manager picks the job and "crashes": its handler never returns and it never heartbeats.
          const qm = new QueueManager(
            repo,
            managerOptions({ id: `crashed-${attempt}`, clock, timers: new ManualTimers(clock, settle) }),
          );
          start(
            qm.entrypoint('crash', limits, () => never()),
            { maxConcurrentTasks: 1 },
          );
          await eventually(async () => (await jobOf(repo, id!)).attempts === attempt, `pick ${attempt}`);
          clock.advance(1001);
        }
        const last = new QueueManager(repo, managerOptions({ id: 'survivor', clock, timers })).entrypoint(
          'crash',
          limits,
          async () => {
            throw new Error('must not run again');
          },
        );
        const run = start(last);
        expect(await waitFor(repo, [id!])).toEqual(['failed']);
        expect((await jobOf(repo, id!)).lastError).toMatch(
          /worker lost: no heartbeat for 1000 ms after 3 attempts/,
        );
        expect(last.stats().crash?.picked).toBe(0);
        expect((await run.stop()).ok).toBe(true);
      });
    });

    describe('QueueManager: payloads, context, observability', () => {
      it('decodes typed payloads, shares resources, reports stats and job events', async () => {
        const repo = await real();
        const resources = { greeting: 'hello' };
        const got: string[] = [];
        const qm = new QueueManager(repo, managerOptions({ resources })).entrypoint(
          'greet',
          { codec: json<{ name: string }>() },
          async ({ payload, resources: r, job, attempt }) => {
            got.push(`${r.greeting} ${payload.name} #${job.id} a${attempt}`);
          },
        );
        const outcomes: string[] = [];
        const off = qm.on('job', (e) => outcomes.push(`${e.id}:${e.outcome}`));
        const id = await qm.enqueue('greet', { name: 'Ada' }, { priority: 3 });
        // @ts-expect-error the payload type comes from the entrypoint's codec
        await expect(qm.enqueue('greet', { nom: 'x' })).resolves.toBeTypeOf('number');
        // @ts-expect-error unregistered entrypoints are rejected at compile time and run time
        await expect(qm.enqueue('nope', null)).rejects.toBeInstanceOf(InvalidArgumentError);
        await qm.run({ mode: 'drain' });
        off();
        expect(got[0]).toBe(`hello Ada #${id} a1`);
        expect(outcomes).toContain(`${id}:successful`);
        const stats = qm.stats().greet!;
        expect(stats).toMatchObject({ picked: 2, successful: 2, running: 0 });
        expect(stats.runMs.p95).toBeGreaterThanOrEqual(stats.runMs.p50);
      });

      it('a payload the codec cannot decode fails the job, not the manager', async () => {
        const repo = await real();
        const qm = new QueueManager(repo, managerOptions()).entrypoint(
          'parse',
          { codec: json<unknown>(), maxAttempts: 1 },
          async ({ payload }) => {
            void payload;
          },
        );
        const [id] = (await repo.enqueue([
          { entrypoint: 'parse', payload: new Uint8Array([123, 0]) },
        ])) as number[];
        await qm.run({ mode: 'drain' });
        expect(await repo.jobStatus([id!])).toEqual(['failed']);
        expect((await jobOf(repo, id!)).lastError).toMatch(/SyntaxError/);
      });

      it('rides out a store that is briefly unavailable, resending unsent results; other store errors end the run', async () => {
        const { repo, clock, timers } = await manual();
        // Fault injection in front of the real store: the first two dequeues and the first complete fail.
        const failures = { dequeue: 2, complete: 1 };
        const flaky = new Proxy(repo, {
          get(target, key, receiver) {
            const value = Reflect.get(target, key, receiver);
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              const left = failures[key as keyof typeof failures];
              if (left !== undefined && left > 0) {
                failures[key as keyof typeof failures]--;
                return Promise.reject(new StorageUnavailableError('connection reset by peer'));
              }
              return value.apply(target, args);
            };
          },
        });
        const seen = new Map<number, number>();
        const qm = new QueueManager(flaky, managerOptions({ clock, timers })).entrypoint(
          'x',
          async ({ job }) => {
            seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
          },
        );
        const errors: string[] = [];
        qm.on('error', ({ error }) => errors.push(error.message));
        const ids = (await repo.enqueue(Array.from({ length: 5 }, () => ({ entrypoint: 'x' })))) as number[];
        const drained = qm.run({ mode: 'drain' });
        await timers.advance(10_000);
        await drained;
        expect(await repo.jobStatus(ids)).toEqual(ids.map(() => 'successful'));
        expect([...seen.values()]).toEqual([1, 1, 1, 1, 1]);
        expect(errors).toEqual(Array.from({ length: 3 }, () => 'connection reset by peer'));

        const broken = new Proxy(repo, {
          get(target, key, receiver) {
            const value = Reflect.get(target, key, receiver);
            if (key === 'dequeue') return () => Promise.reject(new InvalidArgumentError('schema mismatch'));
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        await repo.enqueue([{ entrypoint: 'x' }]);
        const doomed = new QueueManager(broken, managerOptions({ clock, timers })).entrypoint(
          'x',
          async () => {},
        );
        await expect(doomed.run({ mode: 'drain' })).rejects.toThrow('schema mismatch');
        expect(doomed.running).toBe(false);
      });

      it('rejects bad options with InvalidArgumentError', async () => {
        const repo = await real();
        const qm = new QueueManager(repo, managerOptions());
        expect(() => qm.entrypoint('bad name!', async () => {})).toThrow(InvalidArgumentError);
        expect(() => qm.entrypoint('x', { maxAttempts: -1 }, async () => {})).toThrow(InvalidArgumentError);
        await expect(qm.run()).rejects.toBeInstanceOf(InvalidArgumentError);
        qm.entrypoint('ok', async () => {});
        await expect(qm.run({ batchSize: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      });
    });

    describe('SchedulerManager', () => {
      it('two schedulers on one store run each tick exactly once', async () => {
        const { repo, clock, timers } = await manual();
        const ticks: number[] = [];
        const runsBy: Record<string, number> = { s1: 0, s2: 0 };
        const make = (id: string) =>
          new SchedulerManager(repo, { id, clock, timers, logger: 'silent' }).schedule(
            'every-minute',
            '* * * * *',
            ({ scheduledAt }: ScheduleContext) => {
              ticks.push(scheduledAt);
              runsBy[id]!++;
            },
          );
        const stop = new AbortController();
        stops.push(stop);
        const r1 = make('s1').run({ signal: stop.signal });
        const r2 = make('s2').run({ signal: stop.signal });
        await settle();
        await timers.advance(5 * 60_000);
        const minute = 60_000;
        const first = Math.ceil((T0 + 1) / minute) * minute;
        expect(ticks).toEqual([0, 1, 2, 3, 4].map((i) => first + i * minute));
        expect(runsBy.s1! + runsBy.s2!).toBe(5);
        stop.abort();
        await Promise.all([r1, r2]);
      });

      it("after downtime, 'runOnce' runs an overdue tick once and 'skip' drops it", async () => {
        const { repo, clock, timers } = await manual();
        const runs: Record<string, number[]> = { catchup: [], skipper: [] };
        const make = () =>
          new SchedulerManager(repo, { clock, timers, logger: 'silent' })
            .schedule('catchup', '*/5 * * * *', ({ scheduledAt }) => void runs.catchup!.push(scheduledAt))
            .schedule('skipper', '*/5 * * * *', ({ scheduledAt }) => void runs.skipper!.push(scheduledAt), {
              missed: 'skip',
            });
        const first = new AbortController();
        const r1 = make().run({ signal: first.signal });
        await settle();
        first.abort();
        await r1;
        const due = (await repo.listSchedules()).map((s) => s.nextRunAt);
        clock.advance(60 * 60_000); // an hour down: twelve ticks missed
        const second = new AbortController();
        stops.push(second);
        const r2 = make().run({ signal: second.signal });
        await settle();
        expect(runs.catchup).toEqual([due[0]]);
        expect(runs.skipper).toEqual([]);
        const next = Math.ceil((clock.now() + 1) / 300_000) * 300_000;
        expect((await repo.listSchedules()).map((s) => s.nextRunAt)).toEqual([next, next]);
        await timers.advance(next - clock.now());
        expect(runs.catchup).toEqual([due[0], next]);
        expect(runs.skipper).toEqual([next]);
        second.abort();
        await r2;
      });

      it('a throwing schedule handler is logged and the schedule goes on', async () => {
        const { repo, clock, timers } = await manual();
        const logged: string[] = [];
        const logger = {
          debug() {},
          info() {},
          warn() {},
          error: (message: string) => void logged.push(message),
        };
        const ticks: number[] = [];
        const stop = new AbortController();
        stops.push(stop);
        const scheduler = new SchedulerManager(repo, { clock, timers, logger }).schedule(
          'fragile',
          '* * * * *',
          ({ scheduledAt }) => {
            ticks.push(scheduledAt);
            if (ticks.length === 1) throw new Error('first tick breaks');
          },
        );
        const r = scheduler.run({ signal: stop.signal });
        await timers.advance(2 * 60_000);
        expect(ticks).toHaveLength(2);
        expect(ticks[1]! - ticks[0]!).toBe(60_000);
        expect(logged).toEqual(['schedule fragile failed: first tick breaks']);
        stop.abort();
        await r;
      });

      it('evaluates expressions in their time zone and rejects invalid ones by name', async () => {
        const { repo, clock, timers } = await manual();
        const s = new SchedulerManager(repo, { clock, timers, logger: 'silent' }).schedule(
          'ny-morning',
          '0 9 * * *',
          () => {},
          { timezone: 'America/New_York' },
        );
        expect(() => s.schedule('broken', '61 * * * *', () => {})).toThrow(/"61 \* \* \* \*"/);
        expect(() => s.schedule('broken', '61 * * * *', () => {})).toThrow(InvalidArgumentError);
        expect(() => s.schedule('nowhere', '* * * * *', () => {}, { timezone: 'Nope/Nowhere' })).toThrow(
          InvalidArgumentError,
        );
        const stop = new AbortController();
        stops.push(stop);
        const r = s.run({ signal: stop.signal });
        await settle();
        const [stored] = await repo.listSchedules();
        // T0 is 2023-11-14T22:13:20Z; 9:00 in New York (EST, UTC-5) the next day is 14:00Z.
        expect(new Date(stored!.nextRunAt).toISOString()).toBe('2023-11-15T14:00:00.000Z');
        expect(stored).toMatchObject({
          timezone: 'America/New_York',
          expression: '0 9 * * *',
          entrypoint: 'ny-morning',
        });
        stop.abort();
        await r;
      });
    });

    describe('waitFor', () => {
      it('resolves with terminal statuses, including jobs finished before the call', async () => {
        const repo = await real();
        const [a, b, c] = (await repo.enqueue([
          { entrypoint: 'w' },
          { entrypoint: 'w' },
          { entrypoint: 'w' },
        ])) as number[];
        await repo.cancel([a!]);
        const waiting = waitFor(repo, [a!, b!, c!]);
        const [pb, pc] = await repo.dequeue({ batchSize: 2, entrypoints: { w: {} }, queueManagerId: 'x' });
        await repo.complete([
          { id: pb!.id, status: 'successful' },
          { id: pc!.id, status: 'failed', error: 'dead' },
        ]);
        expect(await waiting).toEqual(['canceled', 'successful', 'failed'] satisfies JobStatus[]);
        await expect(waitFor(repo, [999_999])).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it('rejects with TimeoutError after its timeout, and with the reason on abort', async () => {
        const { repo, timers } = await manual();
        const [id] = (await repo.enqueue([{ entrypoint: 'w' }])) as number[];
        const timed = waitFor(repo, [id!], { timeout: 1000, timers });
        const outcome = timed.then(
          () => 'resolved',
          (e: unknown) => e,
        );
        await timers.advance(999);
        await settle();
        await timers.advance(1);
        expect(await outcome).toBeInstanceOf(TimeoutError);
        const controller = new AbortController();
        const aborted = waitFor(repo, [id!], { signal: controller.signal });
        const reason = new Error('user gave up');
        controller.abort(reason);
        await expect(aborted).rejects.toBe(reason);
        expect(await repo.jobStatus([id!])).toEqual(['queued']);
      });
    });
  });
}
