// The WASM store's encoded enqueue (a batch encoded elsewhere, e.g. on a page, in the core's own
// request layout) against its plain enqueue: same ids, state, events, metrics and errors.
import {
  createMemoryQueue,
  DEFAULT_LIMITS,
  ManualClock,
  type NewJob,
  type RepositoryMetrics,
  type WasmQueueRepository,
} from '@tideq/core';
import {
  decodeEnqueueBatch,
  type EncodedEnqueue,
  EnqueueBatchWriter,
  encodeEnqueueBatch,
  validateNewJobs,
} from '@tideq/core/adapter';
import { dumpRepository } from '@tideq/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const T0 = 1_700_000_000_000;
const enc = new TextEncoder();

async function pair() {
  const clocks = [new ManualClock(T0), new ManualClock(T0)];
  const [plain, encoded] = await Promise.all(clocks.map((clock) => createMemoryQueue({ clock })));
  const events: unknown[][] = [[], []];
  await plain!.subscribe((e) => events[0]!.push(...e));
  await encoded!.subscribe((e) => events[1]!.push(...e));
  return { plain: plain!, encoded: encoded!, events };
}

/** Metrics without wall times (they differ run to run). */
function counts(m: RepositoryMetrics) {
  return {
    ...m,
    ops: Object.fromEntries(Object.entries(m.ops).map(([k, v]) => [k, { count: v.count, errors: v.errors }])),
  };
}

async function outcome(p: Promise<unknown>) {
  try {
    return { ok: await p };
  } catch (error) {
    const e = error as { name: string; code: string; message: string };
    return { name: e.name, code: e.code, message: e.message };
  }
}

async function expectSame(plain: WasmQueueRepository, encoded: WasmQueueRepository, events: unknown[][]) {
  expect(await dumpRepository(encoded)).toEqual(await dumpRepository(plain));
  expect(events[1]).toEqual(events[0]);
  expect(counts(await encoded.metrics())).toEqual(counts(await plain.metrics()));
}

const job = fc.record(
  {
    entrypoint: fc.constantFrom('mail', 'sms', 'a.b:c-d_e'),
    payload: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
    priority: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    executeAfter: fc.option(fc.integer({ min: T0 - 10_000, max: T0 + 10_000 }), { nil: undefined }),
    dedupeKey: fc.option(fc.constantFrom('k1', 'k2', 'k\uD800', 'x'.repeat(30)), { nil: undefined }),
    headers: fc.option(fc.constant({ trace: 'ü', n: [1, 2] }), { nil: undefined }),
  },
  { requiredKeys: ['entrypoint'] },
);

describe('WASM enqueueEncoded', () => {
  it('stores what enqueue stores, with the same ids, events and metrics (random batches)', async () => {
    const { plain, encoded, events } = await pair();
    const scratch = await createMemoryQueue();
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(job, { maxLength: 12 }),
        fc.constantFrom('raise', 'skip'),
        async (jobs, onConflict) => {
          const page = await outcome((async () => encodeEnqueueBatch(jobs as NewJob[], { onConflict }))());
          if (!('ok' in page)) {
            refused++;
            // Refused where it was encoded (never sent): the error a store gives for it.
            expect(page).toEqual(await outcome(scratch.enqueue(jobs as NewJob[], { onConflict })));
            return;
          }
          const a = await outcome(plain.enqueue(jobs as NewJob[], { onConflict }));
          expect(await outcome(encoded.enqueueEncoded(page.ok as EncodedEnqueue))).toEqual(a);
        },
      ),
      { numRuns: 150, seed: 13 },
    );
    await plain.dequeue({ batchSize: 50, entrypoints: { mail: {}, sms: {} }, queueManagerId: 'w' });
    await encoded.dequeue({ batchSize: 50, entrypoints: { mail: {}, sms: {} }, queueManagerId: 'w' });
    await expectSame(plain, encoded, events);
    expect(events[0]!.length).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(0);
  });

  it('takes 1,000 common jobs in one call, payload bytes intact', async () => {
    const { plain, encoded, events } = await pair();
    const jobs = Array.from({ length: 1000 }, (_, i) => ({
      entrypoint: i % 3 === 0 ? 'sms' : 'mail',
      payload: new Uint8Array(256).fill(i & 255),
      priority: i % 5,
    }));
    const ids = await encoded.enqueueEncoded(encodeEnqueueBatch(jobs));
    expect(ids).toEqual(await plain.enqueue(jobs));
    expect(ids).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    await expectSame(plain, encoded, events);
    const [j] = await encoded.getJobs([779]); // jobs[778]
    expect(j).toMatchObject({
      entrypoint: 'mail',
      priority: 3,
      payload: new Uint8Array(256).fill(778 & 255),
    });
  });

  it('rejects what enqueue rejects, with the same error, and stores nothing', async () => {
    const limits = { maxPayloadBytes: 8, maxBatch: 100, maxDedupeKeyLength: 4, maxHeadersBytes: 10 };
    const plain = await createMemoryQueue({ limits });
    const encoded = await createMemoryQueue({ limits });
    await plain.enqueue([{ entrypoint: 'mail', dedupeKey: 'held' }]);
    await encoded.enqueue([{ entrypoint: 'mail', dedupeKey: 'held' }]);
    const before = await dumpRepository(encoded);
    const bad: NewJob[][] = [
      [{ entrypoint: 'mail' }, { entrypoint: 'mail', payload: new Uint8Array(9) }], // over this store's limit
      Array.from({ length: 101 }, () => ({ entrypoint: 'mail' })), // maxBatch
      [{ entrypoint: 'mail', dedupeKey: 'toolong' }],
      [{ entrypoint: 'mail', headers: { big: 'x'.repeat(20) } }],
      [{ entrypoint: 'mail', dedupeKey: 'held' }], // held by the store
    ];
    for (const jobs of bad) {
      const a = await outcome(plain.enqueue(jobs));
      expect(a).toHaveProperty('code');
      expect(await outcome(encoded.enqueueEncoded(encodeEnqueueBatch(jobs)))).toEqual(a);
    }
    expect(await dumpRepository(encoded)).toEqual(before);
  });

  it('fails on the page side as validateNewJobs does, naming the job', () => {
    const bad: unknown[][] = [
      [{ entrypoint: 'mail' }, null],
      [{ entrypoint: 'mail' }, { entrypoint: 'bad name' }],
      [{ entrypoint: 'mail', payload: 'text' }],
      [{ entrypoint: 'mail', priority: 1.5 }],
      [{ entrypoint: 'mail', priority: 2 ** 31 }],
      [{ entrypoint: 'mail', executeAfter: Number.NaN }],
      [{ entrypoint: 'mail', executeAfter: '2020' }],
      [{ entrypoint: 'mail', dedupeKey: '' }],
      [{ entrypoint: 'mail', headers: [] }],
      [{ entrypoint: 'mail', headers: { n: Number.POSITIVE_INFINITY } }],
      [
        { entrypoint: 'mail', dedupeKey: 'a' },
        { entrypoint: 'sms', dedupeKey: 'a' },
      ],
    ];
    const limits = DEFAULT_LIMITS;
    for (const jobs of bad) {
      let expected: unknown;
      try {
        validateNewJobs(jobs, limits, 'raise');
      } catch (error) {
        expected = error;
      }
      expect(expected).toBeDefined();
      expect(() => encodeEnqueueBatch(jobs as NewJob[])).toThrow(expected as Error);
      let thrown: { code?: string; constructor?: unknown } = {};
      try {
        encodeEnqueueBatch(jobs as NewJob[]);
      } catch (error) {
        thrown = error as typeof thrown;
      }
      expect(thrown.constructor).toBe((expected as object).constructor);
      expect(thrown.code).toBe((expected as { code: string }).code);
    }
  });

  it('written in slices, gives the bytes of one go', () => {
    const jobs: NewJob[] = Array.from({ length: 700 }, (_, i) => ({
      entrypoint: ['a', 'b', 'c'][i % 3]!,
      payload: enc.encode(`job ${i}`),
      ...(i % 7 === 0 ? { dedupeKey: `k${i}`, headers: { i } } : {}),
    }));
    const whole = encodeEnqueueBatch(jobs, { onConflict: 'skip' });
    const w = new EnqueueBatchWriter(jobs.length, 'skip', { capacity: 64 });
    for (let i = 0; i < jobs.length; i += 128) w.write(jobs, i, Math.min(i + 128, jobs.length));
    const sliced = w.finish();
    expect(sliced.names).toEqual(whole.names);
    expect(Array.from(sliced.bytes)).toEqual(Array.from(whole.bytes));
    const back = decodeEnqueueBatch(sliced);
    expect(back.onConflict).toBe('skip');
    expect(back.jobs[7]).toEqual({
      entrypoint: 'b',
      payload: enc.encode('job 7'),
      priority: 0,
      dedupeKey: 'k7',
      headers: { i: 7 },
    });
  });

  it('takes any bytes without trapping: a TideqError or a valid enqueue, the store usable after', async () => {
    const q = await createMemoryQueue({ limits: { maxPayloadBytes: 64 } });
    const good = encodeEnqueueBatch([
      { entrypoint: 'mail', payload: new Uint8Array(20), priority: 3 },
      { entrypoint: 'sms', payload: null, executeAfter: T0, dedupeKey: 'k', headers: { a: 1 } },
      { entrypoint: 'mail', payload: new Uint8Array(8) },
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(good.bytes.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(good.bytes.length),
        async (flips, cut) => {
          const bytes = good.bytes.slice(0, Math.max(cut, 5));
          for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
          const r = await outcome(q.enqueueEncoded({ bytes, names: ['mail', 'sms'] }));
          if (!('ok' in r)) expect(r.code).toMatch(/^[A-Z_]+$/);
        },
      ),
      { numRuns: 300, seed: 7 },
    );
    expect((await q.enqueueEncoded(good)).length).toBe(3);
    expect((await q.queueSize()).length).toBeGreaterThan(0);
  });

  it('refuses malformed bytes with INVALID_ARGUMENT, storing nothing, never trapping', async () => {
    const q = await createMemoryQueue();
    const good = encodeEnqueueBatch([
      { entrypoint: 'mail', payload: new Uint8Array(30), dedupeKey: 'k' },
      { entrypoint: 'mail', payload: new Uint8Array(10) },
    ]);
    const before = await dumpRepository(q);
    const cases = [
      { bytes: good.bytes.slice(0, 40), names: good.names }, // truncated
      { bytes: good.bytes, names: [] }, // index outside the names table
      { bytes: good.bytes, names: ['bad name'] },
      { bytes: new Uint8Array([0, 255, 255, 255, 255]), names: ['mail'] }, // a count it cannot hold
      { bytes: new Uint8Array([...good.bytes, 0]), names: good.names }, // trailing bytes
      { bytes: 'x', names: ['mail'] },
      null,
    ];
    for (const batch of cases) {
      await expect(q.enqueueEncoded(batch as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(await dumpRepository(q)).toEqual(before);
    expect(await q.enqueueEncoded(good)).toEqual([1, 2]);
  });
});
