/**
 * Differential testing of a QueueRepository against the reference adapter: a fast-check generator
 * of port commands (`commands`), a runner that turns each into a call and its result or error code
 * (`runCommand`), and `compareWithReference`, which runs one sequence on both stores with the same
 * clock and expects identical results after every command and identical final state and metrics.
 * Used by the WASM store's test (packages/core) and the IndexedDB store's (packages/web).
 */
import {
  createReferenceQueue,
  type DequeueOptions,
  ManualClock,
  type NewJob,
  type QueueRepository,
} from '@tideq/core';
import { dumpRepository } from '@tideq/core/testing';
import fc from 'fast-check';
import { expect } from 'vitest';

export const T0 = 1_700_000_000_000;
const EPS = ['a', 'b', 'c'] as const;

/** complete/retry/heartbeat's fencing manager id (m3 never dequeues), or unfenced. */
export type Fence = string | undefined;
const fence = fc.constantFrom<Fence>(undefined, undefined, 'm1', 'm2', 'm3');
const fenceOf = (f: Fence) => (f === undefined ? undefined : { queueManagerId: f });

export type Cmd =
  | { op: 'enqueue'; jobs: NewJob[]; skip: boolean }
  | { op: 'dequeue'; options: DequeueOptions }
  | { op: 'complete'; results: { id: number; status: string; error: string | null }[]; fence: Fence }
  | { op: 'retry'; requests: { id: number; delay: number; error: string | null }[]; fence: Fence }
  | { op: 'requeue' | 'heartbeat' | 'cancel' | 'jobStatus' | 'getJobs'; ids: number[]; fence: Fence }
  | { op: 'clear'; entrypoints: string[] | undefined }
  | { op: 'advance'; ms: number }
  | { op: 'compact'; maxRecords: number | undefined; maxAge: number | undefined }
  | { op: 'recover'; staleAfter: number }
  | { op: 'scan'; staleAfter: number; maxRecords: number | undefined }
  | { op: 'nextDueAt'; entrypoints: string[] }
  | { op: 'reads' }
  | { op: 'schedules'; name: string; claimer: string; next: number }
  | { op: 'snapshot' };

/** Options of `commands`; the defaults are the plain mix the WASM store's test uses. */
export interface CommandOptions {
  /**
   * Bias toward stores that group the fresh jobs of one enqueue (IndexedDB chunks): enqueue mostly
   * writes runs of 2..12 jobs with one entrypoint and priority, no executeAfter and no dedupe key
   * (mixed with the plain random jobs), enqueue, dequeue, complete and retry come more often,
   * dequeue picks up to 12, and id lists are often consecutive ranges, so whole runs are
   * completed, cancelled or retried as well as single jobs of them.
   */
  chunkable?: boolean;
  /** The highest id commands name (default 30); raise it with `chunkable`, which assigns more. */
  maxId?: number;
}

const errorText = fc.option(fc.constantFrom('boom', '', 'e\u{1F600}x', 'lone \uD800 surrogate'), {
  nil: null,
});
const entrypoint = fc.constantFrom(...EPS);
const validPriority = fc.constantFrom(-1, 0, 1, 2);
const payload = fc.option(fc.uint8Array({ maxLength: 16 }), { nil: null });
const headers = fc.option(fc.record({ x: fc.integer(), s: fc.string({ maxLength: 4 }) }), { nil: null });

const newJob: fc.Arbitrary<NewJob> = fc.record(
  {
    entrypoint,
    priority: fc.oneof(validPriority, fc.constant(0.5)),
    executeAfter: fc.option(fc.integer({ min: -2000, max: 5000 }), { nil: undefined }),
    dedupeKey: fc.option(fc.constantFrom('k1', 'k2', 'k3', '\uDC00'), { nil: null }),
    payload,
    headers,
  },
  { requiredKeys: ['entrypoint'] },
);

/**
 * 2..12 valid fresh jobs one store may keep as one chunk (the plain `newJob` often makes the whole
 * enqueue fail: a priority of 0.5, a lone surrogate dedupe key); payload and headers vary per job.
 */
const chunkableRun: fc.Arbitrary<NewJob[]> = fc
  .record({
    entrypoint,
    priority: fc.option(validPriority, { nil: undefined }),
    bodies: fc.array(fc.record({ payload, headers }, { requiredKeys: [] }), { minLength: 2, maxLength: 12 }),
  })
  .map(({ entrypoint, priority, bodies }) =>
    bodies.map((body) =>
      priority === undefined ? { entrypoint, ...body } : { entrypoint, priority, ...body },
    ),
  );

const limits = fc.record(
  {
    concurrencyLimit: fc.integer({ min: 0, max: 3 }),
    requestsPerSecond: fc.constantFrom(0, 0, 5, 15, 0.5),
    retryTimer: fc.constantFrom(0, 0, 500, 2000),
    maxAttempts: fc.integer({ min: 0, max: 3 }),
  },
  { requiredKeys: [] },
);

/** One random port command (see CommandOptions). */
export function commands(options: CommandOptions = {}): fc.Arbitrary<Cmd> {
  const chunkable = options.chunkable ?? false;
  const id = fc.integer({ min: 1, max: options.maxId ?? 30 });
  // A consecutive range of 1..12 ids from `id` (chunkable): a whole run, or part of one.
  const range = fc.tuple(id, fc.integer({ min: 1, max: 12 }));
  const plainIds = fc.array(id, { maxLength: 5 });
  const ids = chunkable
    ? fc.oneof(
        plainIds,
        range.map(([first, n]) => Array.from({ length: n }, (_, i) => first + i)),
      )
    : plainIds;
  /** Per-id requests: `fields` plus an id (from a range, with chunkable, as often as not). */
  const perId = <T extends object>(
    fields: { [K in keyof T]: fc.Arbitrary<T[K]> },
    maxLength: number,
  ): fc.Arbitrary<(T & { id: number })[]> => {
    const plain = fc.array(fc.record({ id, ...fields }) as fc.Arbitrary<T & { id: number }>, { maxLength });
    if (!chunkable) return plain;
    const ranged = fc
      .tuple(range, fc.array(fc.record(fields) as fc.Arbitrary<T>, { minLength: 12, maxLength: 12 }))
      .map(([[first, n], items]) => items.slice(0, n).map((item, i) => ({ id: first + i, ...item })));
    return fc.oneof(plain, ranged);
  };
  const enqueueJobs = chunkable
    ? fc
        .array(
          fc.oneof({ weight: 4, arbitrary: chunkableRun }, { weight: 1, arbitrary: newJob.map((j) => [j]) }),
          { minLength: 1, maxLength: 3 },
        )
        .map((runs) => runs.flat())
    : fc.array(newJob, { maxLength: 5 });
  return fc.oneof(
    {
      weight: chunkable ? 7 : 5,
      arbitrary: fc.record({ op: fc.constant('enqueue' as const), jobs: enqueueJobs, skip: fc.boolean() }),
    },
    {
      weight: chunkable ? 6 : 5,
      arbitrary: fc
        .record({
          batchSize: fc.integer({ min: 1, max: chunkable ? 12 : 5 }),
          eps: fc.uniqueArray(entrypoint, { minLength: 1, maxLength: 3 }),
          lims: fc.array(limits, { minLength: 3, maxLength: 3 }),
          queueManagerId: fc.constantFrom('m1', 'm2', 'm\uD801'),
          maxOwned: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
        })
        .map(({ batchSize, eps, lims, queueManagerId, maxOwned }) => {
          const options: DequeueOptions = {
            batchSize,
            queueManagerId,
            entrypoints: Object.fromEntries(eps.map((e, i) => [e, lims[i]!])),
          };
          if (maxOwned !== undefined) options.maxOwned = maxOwned;
          return { op: 'dequeue' as const, options };
        }),
    },
    {
      weight: chunkable ? 5 : 3,
      arbitrary: fc.record({
        op: fc.constant('complete' as const),
        results: perId(
          {
            status: fc.constantFrom(
              'successful',
              'exception',
              'canceled',
              'deleted',
              'failed',
              'failed',
              'bogus',
            ),
            error: errorText,
          },
          4,
        ),
        fence,
      }),
    },
    {
      weight: chunkable ? 3 : 2,
      arbitrary: fc.record({
        op: fc.constant('retry' as const),
        requests: perId({ delay: fc.integer({ min: -500, max: 3000 }), error: errorText }, 3),
        fence,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constantFrom('requeue', 'heartbeat', 'cancel', 'jobStatus', 'getJobs'),
        ids,
        fence,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('clear' as const),
        entrypoints: fc.option(fc.array(entrypoint, { maxLength: 2 }), { nil: undefined }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2500 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('compact' as const),
        maxRecords: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
        maxAge: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('recover' as const),
        staleAfter: fc.integer({ min: 0, max: 3000 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('scan' as const),
        staleAfter: fc.integer({ min: 0, max: 3000 }),
        maxRecords: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('nextDueAt' as const),
        entrypoints: fc.array(entrypoint, { maxLength: 3 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'reads' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('schedules' as const),
        name: fc.constantFrom('s1', 's2', '\u{1F600}', '\uFF00'),
        claimer: fc.constantFrom('c1', 'c2'),
        next: fc.integer({ min: -1000, max: 3000 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'snapshot' as const }) },
  );
}

/** Run one command on `repo` at time `now`; returns its result or `{ error: code, keys? }`. */
export async function runCommand(repo: QueueRepository, c: Cmd, now: number): Promise<unknown> {
  try {
    switch (c.op) {
      case 'enqueue':
        return await repo.enqueue(
          c.jobs.map((j) =>
            j.executeAfter === undefined ? j : { ...j, executeAfter: now + (j.executeAfter as number) },
          ),
          { onConflict: c.skip ? 'skip' : 'raise' },
        );
      case 'dequeue':
        return await repo.dequeue(c.options);
      case 'complete':
        return await repo.complete(c.results as never, fenceOf(c.fence));
      case 'retry':
        return await repo.retry(
          c.requests.map((r) => ({ id: r.id, executeAfter: now + r.delay, error: r.error })),
          fenceOf(c.fence),
        );
      case 'heartbeat':
        return await repo.heartbeat(c.ids, fenceOf(c.fence));
      case 'requeue':
      case 'cancel':
      case 'jobStatus':
      case 'getJobs':
        return await repo[c.op](c.ids);
      case 'clear':
        return await repo.clear(c.entrypoints);
      case 'compact': {
        const r: { maxRecords?: number; maxAge?: number } = {};
        if (c.maxRecords !== undefined) r.maxRecords = c.maxRecords;
        if (c.maxAge !== undefined) r.maxAge = c.maxAge;
        return await repo.compact(r);
      }
      case 'recover':
        return await repo.recover({ staleAfter: c.staleAfter });
      case 'scan':
        return await repo.scan({
          staleAfter: c.staleAfter,
          retention: c.maxRecords === undefined ? {} : { maxRecords: c.maxRecords },
        });
      case 'nextDueAt':
        return await repo.nextDueAt(c.entrypoints);
      case 'reads':
        return [
          await repo.queueSize(),
          await repo.failedJobs({ limit: 3 }),
          await repo.log({ after: 2, limit: 5 }),
          await repo.statistics({ limit: 4 }),
        ];
      case 'schedules':
        return [
          await repo.upsertSchedules([
            { name: c.name, entrypoint: 'a', expression: '* * * * *', nextRunAt: now + c.next },
          ]),
          await repo.claimDueSchedules({ claimerId: c.claimer, staleAfter: 1000, limit: 2 }),
          await repo.markScheduleRun([{ name: c.name, claimerId: c.claimer, nextRunAt: now + 5000 }]),
          await repo.listSchedules(),
        ];
      default:
        return undefined;
    }
  } catch (error) {
    const e = error as { code?: string; keys?: readonly string[] };
    return { error: e.code ?? String(error), keys: e.keys };
  }
}

/** The store under test, as `compareWithReference` drives it. */
export interface StoreUnderTest<R extends QueueRepository> {
  /** A new empty store reading `clock`. */
  create(clock: ManualClock): Promise<R>;
  /**
   * The `snapshot` command: returns the store to go on with (and closes the old one when it is
   * replaced). Without it the command is skipped.
   */
  snapshot?(repo: R, clock: ManualClock): Promise<R>;
  /** Releases the store after the comparison (default: `close()`). */
  dispose?(repo: R): Promise<void>;
}

/**
 * Run `cmds` on a reference queue and on `store`, each with its own ManualClock advanced in step:
 * every command's result (thrown error codes included), the final state (dumpRepository) and the
 * metrics counters must be identical.
 */
export async function compareWithReference<R extends QueueRepository>(
  cmds: readonly Cmd[],
  store: StoreUnderTest<R>,
): Promise<void> {
  const refClock = new ManualClock(T0);
  const clock = new ManualClock(T0);
  const ref = createReferenceQueue({ clock: refClock });
  let repo = await store.create(clock);
  try {
    for (const [i, c] of cmds.entries()) {
      if (c.op === 'advance') {
        refClock.advance(c.ms);
        clock.advance(c.ms);
        continue;
      }
      if (c.op === 'snapshot') {
        if (store.snapshot !== undefined) repo = await store.snapshot(repo, clock);
        continue;
      }
      const expected = await runCommand(ref, c, refClock.now());
      const actual = await runCommand(repo, c, clock.now());
      expect(actual, `command ${i}: ${JSON.stringify(c)}`).toEqual(expected);
    }
    expect(await dumpRepository(repo)).toEqual(await dumpRepository(ref));
    const [rm, m] = [await ref.metrics(), await repo.metrics()];
    expect([m.recordsWritten, m.bytesWritten, m.recoveries, m.compactedRecords]).toEqual([
      rm.recordsWritten,
      rm.bytesWritten,
      rm.recoveries,
      rm.compactedRecords,
    ]);
  } finally {
    await (store.dispose === undefined ? repo.close() : store.dispose(repo));
    await ref.close();
  }
}
