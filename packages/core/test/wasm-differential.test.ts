// Proof of equivalence: random sequences of port operations run on the WASM adapter and on the
// reference adapter give identical results (thrown error codes included) and identical final
// state. A snapshot+restore of the WASM queue in the middle must not change anything.
import {
  createMemoryQueue,
  createReferenceQueue,
  type DequeueOptions,
  ManualClock,
  type NewJob,
  type QueueRepository,
  type WasmQueueRepository,
} from '@tideq/core';
import { dumpRepository } from '@tideq/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const T0 = 1_700_000_000_000;
const EPS = ['a', 'b', 'c'] as const;

/** complete/retry/heartbeat's fencing manager id (m3 never dequeues), or unfenced. */
type Fence = string | undefined;
const fence = fc.constantFrom<Fence>(undefined, undefined, 'm1', 'm2', 'm3');
const fenceOf = (f: Fence) => (f === undefined ? undefined : { queueManagerId: f });

type Cmd =
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

const id = fc.integer({ min: 1, max: 30 });
const ids = fc.array(id, { maxLength: 5 });
const errorText = fc.option(fc.constantFrom('boom', '', 'e\u{1F600}x', 'lone \uD800 surrogate'), {
  nil: null,
});
const entrypoint = fc.constantFrom(...EPS);

const newJob: fc.Arbitrary<NewJob> = fc.record(
  {
    entrypoint,
    priority: fc.oneof(fc.constantFrom(-1, 0, 1, 2), fc.constant(0.5)),
    executeAfter: fc.option(fc.integer({ min: -2000, max: 5000 }), { nil: undefined }),
    dedupeKey: fc.option(fc.constantFrom('k1', 'k2', 'k3', '\uDC00'), { nil: null }),
    payload: fc.option(fc.uint8Array({ maxLength: 16 }), { nil: null }),
    headers: fc.option(fc.record({ x: fc.integer(), s: fc.string({ maxLength: 4 }) }), { nil: null }),
  },
  { requiredKeys: ['entrypoint'] },
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

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('enqueue' as const),
      jobs: fc.array(newJob, { maxLength: 5 }),
      skip: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc
      .record({
        batchSize: fc.integer({ min: 1, max: 5 }),
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
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('complete' as const),
      results: fc.array(
        fc.record({
          id,
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
        }),
        { maxLength: 4 },
      ),
      fence,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('retry' as const),
      requests: fc.array(fc.record({ id, delay: fc.integer({ min: -500, max: 3000 }), error: errorText }), {
        maxLength: 3,
      }),
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

/** Run one command; returns its result or `{ error: code, keys? }`. */
async function run(repo: QueueRepository, c: Cmd, now: number): Promise<unknown> {
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

async function compare(cmds: Cmd[]): Promise<void> {
  const refClock = new ManualClock(T0);
  const wasmClock = new ManualClock(T0);
  const ref = createReferenceQueue({ clock: refClock });
  let wasm: WasmQueueRepository = await createMemoryQueue({ clock: wasmClock });
  for (const [i, c] of cmds.entries()) {
    if (c.op === 'advance') {
      refClock.advance(c.ms);
      wasmClock.advance(c.ms);
      continue;
    }
    if (c.op === 'snapshot') {
      // Into a fresh instance, so nothing can survive outside the snapshot bytes.
      const bytes = await wasm.snapshot();
      const next = await createMemoryQueue({ clock: wasmClock });
      await next.restore(bytes);
      await wasm.close();
      wasm = next;
      continue;
    }
    const expected = await run(ref, c, refClock.now());
    const actual = await run(wasm, c, wasmClock.now());
    expect(actual, `command ${i}: ${JSON.stringify(c)}`).toEqual(expected);
  }
  expect(await dumpRepository(wasm)).toEqual(await dumpRepository(ref));
  const [rm, wm] = [await ref.metrics(), await wasm.metrics()];
  expect([wm.recordsWritten, wm.bytesWritten, wm.recoveries, wm.compactedRecords]).toEqual([
    rm.recordsWritten,
    rm.bytesWritten,
    rm.recoveries,
    rm.compactedRecords,
  ]);
  await wasm.close();
  await ref.close();
}

describe('WASM core vs reference adapter (differential)', () => {
  it('agrees on 1,000 random operation sequences', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 40 }), (cmds) => compare(cmds)),
      { numRuns: 1000 },
    );
  });

  it('agrees on the maxOwned corner: own stale re-picks behind an excluded entrypoint', async () => {
    // m1 holds job 1 (stale); b is excluded by its concurrency limit; a fresh pick brings m1 to
    // maxOwned; an excluded candidate of b between that pick and the stale job stops the pass.
    const setup = (withBlocker: boolean): Cmd[] => [
      { op: 'enqueue', jobs: [{ entrypoint: 'a', priority: 5 }], skip: false },
      {
        op: 'enqueue',
        jobs: [
          { entrypoint: 'b', priority: 10 },
          { entrypoint: 'b', priority: 10 },
        ],
        skip: false,
      },
      { op: 'dequeue', options: { batchSize: 1, queueManagerId: 'm2', entrypoints: { b: {} } } },
      {
        op: 'dequeue',
        options: { batchSize: 1, queueManagerId: 'm1', entrypoints: { a: { retryTimer: 1000 } } },
      },
      { op: 'advance', ms: 2000 },
      { op: 'heartbeat', ids: [2], fence: undefined },
      {
        op: 'enqueue',
        jobs: withBlocker
          ? [
              { entrypoint: 'a', priority: 6 },
              { entrypoint: 'b', priority: 6 },
            ]
          : [{ entrypoint: 'a', priority: 6 }],
        skip: false,
      },
      {
        op: 'dequeue',
        options: {
          batchSize: 5,
          queueManagerId: 'm1',
          maxOwned: 2,
          entrypoints: { a: { retryTimer: 1000 }, b: { concurrencyLimit: 1 } },
        },
      },
      { op: 'reads' },
    ];
    for (const withBlocker of [true, false]) await compare(setup(withBlocker));
    // and the scenario really takes both branches on the reference
    const clock = new ManualClock(T0);
    for (const [withBlocker, picked] of [
      [true, [4]],
      [false, [4, 1]],
    ] as const) {
      const ref = createReferenceQueue({ clock });
      for (const c of setup(withBlocker)) {
        if (c.op === 'advance') {
          clock.advance(c.ms);
          continue;
        }
        const result = await run(ref, c, clock.now());
        if (c.op === 'dequeue' && c.options.maxOwned === 2) {
          expect((result as { id: number }[]).map((j) => j.id)).toEqual(picked);
        }
      }
    }
  });

  it('agrees on long sequences with deep queues', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 100, maxLength: 250 }), (cmds) => compare(cmds)),
      { numRuns: 40 },
    );
  });
});
