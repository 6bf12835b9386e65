import { describe, expect, it } from 'vitest';
import { dequeue, enqueueIds, ids, job, type ScenarioGroup, useRepository } from './harness.js';

/** Settle all, returning fulfilled values and rejection codes, so a scenario can count outcomes. */
async function outcomes<T>(calls: Promise<T>[]): Promise<{ values: T[]; codes: string[] }> {
  const settled = await Promise.allSettled(calls);
  const values: T[] = [];
  const codes: string[] = [];
  for (const s of settled) {
    if (s.status === 'fulfilled') values.push(s.value);
    else codes.push(String((s.reason as { code?: unknown }).code));
  }
  return { values, codes };
}

// Every mutation is atomic, so concurrent calls behave as if run one after another in some order.
export const concurrencyScenarios: ScenarioGroup = (factory, options) => {
  describe('concurrent calls', () => {
    const t = useRepository(factory, options);

    it('stores exactly one of several concurrent enqueues of the same dedupe key', async () => {
      const { repo } = t;
      const { values, codes } = await outcomes(
        [1, 2, 3].map((p) => repo.enqueue([job('a', { dedupeKey: 'k', priority: p })])),
      );
      expect(values).toHaveLength(1);
      expect(codes).toEqual(['DUPLICATE_JOB', 'DUPLICATE_JOB']);
      expect(await repo.queueSize()).toMatchObject([{ entrypoint: 'a', status: 'queued', count: 1 }]);
      const skipped = await Promise.all(
        [1, 2, 3].map(() => repo.enqueue([job('a', { dedupeKey: 'k2' })], { onConflict: 'skip' })),
      );
      expect(skipped.flat().filter((id) => id !== null)).toHaveLength(1);
    });

    it('finishes a job exactly once under concurrent complete and cancel', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job()]);
      await dequeue(repo);
      const results = await Promise.all([
        repo.complete([{ id: 1, status: 'successful' }]),
        repo.cancel([1]),
        repo.complete([{ id: 1, status: 'exception', error: 'x' }]),
        repo.complete([{ id: 1, status: 'failed', error: 'y' }]),
      ]);
      expect(results.flat().filter(Boolean)).toHaveLength(1);
      const finishing = (await repo.log()).filter((e) => e.kind !== 'enqueued' && e.kind !== 'picked');
      expect(finishing).toHaveLength(1);
      expect((await repo.jobStatus([1]))[0]).toBe(finishing[0]!.status);
    });

    it('holds a global concurrencyLimit across concurrent dequeues', async () => {
      const { repo } = t;
      await enqueueIds(
        repo,
        Array.from({ length: 10 }, () => job()),
      );
      const batches = await Promise.all(
        ['m1', 'm2', 'm3'].map((m) =>
          dequeue(repo, { entrypoints: { a: { concurrencyLimit: 2 } }, queueManagerId: m }),
        ),
      );
      expect(batches.flat()).toHaveLength(2);
      expect(await repo.queueSize()).toEqual([
        { entrypoint: 'a', status: 'queued', priority: 0, count: 8 },
        { entrypoint: 'a', status: 'picked', priority: 0, count: 2 },
      ]);
    });

    it('shares one token bucket between concurrent dequeues', async () => {
      const { repo } = t;
      await enqueueIds(
        repo,
        Array.from({ length: 10 }, () => job()),
      );
      const batches = await Promise.all(
        ['m1', 'm2', 'm3'].map((m) =>
          dequeue(repo, { entrypoints: { a: { requestsPerSecond: 30 } }, queueManagerId: m }),
        ),
      );
      expect(batches.flat()).toHaveLength(3);
    });

    it('holds maxOwned across concurrent dequeues of one manager', async () => {
      const { repo } = t;
      await enqueueIds(
        repo,
        Array.from({ length: 10 }, () => job()),
      );
      const batches = await Promise.all([1, 2, 3].map(() => dequeue(repo, { maxOwned: 4 })));
      expect(batches.flat()).toHaveLength(4);
    });

    it('requeues a dead letter exactly once under concurrent requeues', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job()]);
      await dequeue(repo);
      await repo.complete([{ id: 1, status: 'failed' }]);
      const results = await Promise.all([repo.requeue([1]), repo.requeue([1]), repo.requeue([1])]);
      expect(results.flat().filter(Boolean)).toHaveLength(1);
      expect((await repo.log()).filter((e) => e.kind === 'requeued')).toHaveLength(1);
    });

    it('re-picks a stale job for exactly one of several concurrent dequeues', async () => {
      const { repo, clock } = t;
      const limits = { a: { retryTimer: 1000 } };
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { entrypoints: limits });
      clock.advance(1001);
      const batches = await Promise.all(
        ['m2', 'm3', 'm4'].map((m) => dequeue(repo, { entrypoints: limits, queueManagerId: m })),
      );
      expect(batches.flatMap(ids)).toEqual([1]);
      expect((await repo.getJobs([1]))[0]?.attempts).toBe(2);
    });
  });
};
