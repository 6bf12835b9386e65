import { describe, expect, it } from 'vitest';
import { dequeue, enqueueIds, ids, job, type ScenarioGroup, useRepository } from './harness.js';

export const dequeueScenarios: ScenarioGroup = (factory, options) => {
  describe('dequeue: order and eligibility', () => {
    const t = useRepository(factory, options);

    it('picks by priority desc, then id asc', async () => {
      const { repo } = t;
      await enqueueIds(repo, [
        job('a', { priority: 0 }),
        job('a', { priority: 5 }),
        job('a', { priority: -1 }),
        job('a', { priority: 5 }),
        job('a', { priority: 2147483647 }),
        job('a', { priority: 0 }),
      ]);
      expect(ids(await dequeue(repo))).toEqual([5, 2, 4, 1, 6, 3]);
    });

    it('marks picked jobs exactly as specified and writes one picked event each', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job('a', { priority: 3, dedupeKey: 'k', headers: { h: 1 } })]);
      clock.advance(10);
      const [picked] = await dequeue(repo, { queueManagerId: 'worker-1' });
      expect(picked).toEqual({
        id: 1,
        entrypoint: 'a',
        payload: null,
        priority: 3,
        executeAfter: t0,
        dedupeKey: 'k',
        headers: { h: 1 },
        status: 'picked',
        attempts: 1,
        heartbeat: t0 + 10,
        created: t0,
        updated: t0 + 10,
        queueManagerId: 'worker-1',
        lastError: null,
      });
      expect((await repo.getJobs([1]))[0]).toEqual(picked);
      const last = (await repo.log()).at(-1);
      expect(last).toMatchObject({
        kind: 'picked',
        jobId: 1,
        entrypoint: 'a',
        priority: 3,
        status: 'picked',
        at: t0 + 10,
        queueManagerId: 'worker-1',
        error: null,
      });
    });

    it('does not pick a job before executeAfter and picks it once the clock reaches it', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job('a', { priority: 9, executeAfter: t0 + 1000 }), job('a', { priority: 1 })]);
      expect(ids(await dequeue(repo))).toEqual([2]);
      clock.advance(999);
      expect(await dequeue(repo)).toEqual([]);
      clock.advance(1);
      expect(ids(await dequeue(repo))).toEqual([1]);
    });

    it('returns [] and writes nothing when nothing is due', async () => {
      const { repo, t0 } = t;
      expect(await dequeue(repo)).toEqual([]);
      await enqueueIds(repo, [job('a', { executeAfter: t0 + 1 })]);
      expect(await dequeue(repo)).toEqual([]);
      expect((await repo.log()).map((e) => e.kind)).toEqual(['enqueued']);
    });

    it('uses one priority-then-id order across entrypoints and counts batchSize in total', async () => {
      const { repo } = t;
      await enqueueIds(repo, [
        job('a', { priority: 1 }),
        job('b', { priority: 3 }),
        job('a', { priority: 2 }),
        job('c', { priority: 3 }),
        job('b', { priority: 0 }),
      ]);
      const entrypoints = { a: {}, b: {}, c: {} };
      expect(ids(await dequeue(repo, { batchSize: 3, entrypoints }))).toEqual([2, 4, 3]);
      expect(ids(await dequeue(repo, { batchSize: 10, entrypoints }))).toEqual([1, 5]);
    });

    it('never returns jobs of entrypoints that were not requested', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('other', { priority: 100 }), job('a'), job('a.b', { priority: 50 })]);
      expect(ids(await dequeue(repo))).toEqual([2]);
      expect(await dequeue(repo)).toEqual([]);
      expect(await repo.jobStatus([1, 3])).toEqual(['queued', 'queued']);
    });

    it('never returns a picked job again while retryTimer is 0 (or omitted)', async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job()]);
      expect(ids(await dequeue(repo))).toEqual([1]);
      clock.advance(1_000_000_000);
      expect(await dequeue(repo, { queueManagerId: 'm2' })).toEqual([]);
      expect(
        await dequeue(repo, { queueManagerId: 'm2', entrypoints: { a: { retryTimer: 0, maxAttempts: 1 } } }),
      ).toEqual([]);
      expect((await repo.getJobs([1]))[0]).toMatchObject({
        status: 'picked',
        attempts: 1,
        queueManagerId: 'm1',
      });
    });

    it('returns picks in visiting order, stale re-picks mixed with queued jobs', async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job('a', { priority: 1 })]);
      await dequeue(repo);
      await enqueueIds(repo, [job('a', { priority: 5 }), job('a', { priority: 1 })]);
      clock.advance(1001);
      expect(ids(await dequeue(repo, { entrypoints: { a: { retryTimer: 1000 } } }))).toEqual([2, 1, 3]);
    });

    it('never returns the same job to two interleaved dequeues', async () => {
      const { repo } = t;
      await enqueueIds(
        repo,
        Array.from({ length: 20 }, (_, i) => job('a', { priority: i % 3 })),
      );
      const batches = await Promise.all(
        ['m1', 'm2', 'm3', 'm4'].map((m) => dequeue(repo, { batchSize: 6, queueManagerId: m })),
      );
      const seen = batches.flatMap(ids);
      expect(new Set(seen).size).toBe(seen.length);
      for (const [i, batch] of batches.entries()) {
        const held = await repo.getJobs(ids(batch));
        expect(held.every((j) => j?.queueManagerId === `m${i + 1}` && j.attempts === 1)).toBe(true);
      }
      const rest = await dequeue(repo, { queueManagerId: 'm5' });
      expect([...seen, ...ids(rest)].sort((x, y) => x - y)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });
  });

  describe('dequeue: stale re-picks and maxAttempts', () => {
    const t = useRepository(factory, options);
    const stale = { a: { retryTimer: 1000 } };

    it('re-picks a job whose heartbeat is older than retryTimer, raising attempts (strictly older)', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { entrypoints: stale });
      clock.advance(1000);
      expect(await dequeue(repo, { entrypoints: stale, queueManagerId: 'm2' })).toEqual([]);
      clock.advance(1);
      const [again] = await dequeue(repo, { entrypoints: stale, queueManagerId: 'm2' });
      expect(again).toMatchObject({
        id: 1,
        status: 'picked',
        attempts: 2,
        queueManagerId: 'm2',
        heartbeat: t0 + 1001,
      });
      expect((await repo.log()).map((e) => [e.kind, e.queueManagerId])).toEqual([
        ['enqueued', null],
        ['picked', 'm1'],
        ['picked', 'm2'],
      ]);
    });

    it('does not re-pick a job whose heartbeat was refreshed', async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { entrypoints: stale });
      clock.advance(800);
      expect(await repo.heartbeat([1])).toEqual([true]);
      clock.advance(800);
      expect(await dequeue(repo, { entrypoints: stale, queueManagerId: 'm2' })).toEqual([]);
      clock.advance(201);
      expect(ids(await dequeue(repo, { entrypoints: stale, queueManagerId: 'm2' }))).toEqual([1]);
    });

    it('re-picks stale jobs only of requested entrypoints whose retryTimer is above 0', async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job('a'), job('b'), job('c')]);
      await dequeue(repo, { entrypoints: { a: {}, b: {}, c: {} } });
      clock.advance(10_000);
      const again = await dequeue(repo, {
        entrypoints: { a: { retryTimer: 1000 }, b: { retryTimer: 0 } },
        queueManagerId: 'm2',
      });
      expect(ids(again)).toEqual([1]);
      expect((await repo.getJobs([2, 3])).map((j) => j?.queueManagerId)).toEqual(['m1', 'm1']);
    });

    it("re-picks the caller's own stale job too", async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { entrypoints: stale });
      clock.advance(5000);
      const [again] = await dequeue(repo, { entrypoints: stale });
      expect(again).toMatchObject({ id: 1, attempts: 2, queueManagerId: 'm1' });
    });

    it('moves stale jobs that reached maxAttempts to failed (worker lost), regardless of batchSize', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job(), job(), job(), job()]);
      expect(ids(await dequeue(repo, { batchSize: 3 }))).toEqual([1, 2, 3]);
      clock.advance(1001);
      const seq = (await repo.log()).at(-1)!.seq;
      const limits = { a: { retryTimer: 1000, maxAttempts: 1 } };
      expect(ids(await dequeue(repo, { batchSize: 1, entrypoints: limits, queueManagerId: 'm2' }))).toEqual([
        4,
      ]);
      const error = 'worker lost: no heartbeat for 1000 ms after 1 attempts';
      const failed = await repo.getJobs([1, 2, 3]);
      for (const j of failed) {
        expect(j).toMatchObject({ status: 'failed', attempts: 1, queueManagerId: null, lastError: error });
      }
      const rows = await repo.log({ after: seq });
      expect(rows.map((e) => [e.kind, e.jobId, e.status])).toEqual([
        ['failed', 1, 'failed'],
        ['failed', 2, 'failed'],
        ['failed', 3, 'failed'],
        ['picked', 4, 'picked'],
      ]);
      expect(rows.slice(0, 3).every((e) => e.error === error && e.at === t0 + 1001)).toBe(true);
      expect(ids(await repo.failedJobs())).toEqual([1, 2, 3]);
      expect(await repo.statistics()).toEqual([
        { entrypoint: 'a', status: 'failed', priority: 0, second: t0 + 1000, count: 3 },
      ]);
    });

    it('never dequeues a dead letter, and requeue brings it back with attempts 0', async () => {
      const { repo, clock, t0 } = t;
      const limits = { a: { retryTimer: 1000, maxAttempts: 1 } };
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { entrypoints: limits });
      clock.advance(1001);
      expect(await dequeue(repo, { entrypoints: limits })).toEqual([]);
      clock.advance(10_000);
      expect(await dequeue(repo, { entrypoints: limits })).toEqual([]);
      expect(await repo.jobStatus([1])).toEqual(['failed']);
      expect(await repo.requeue([1])).toEqual([true]);
      expect((await repo.getJobs([1]))[0]).toMatchObject({
        status: 'queued',
        attempts: 0,
        executeAfter: t0 + 11_001,
        lastError: 'worker lost: no heartbeat for 1000 ms after 1 attempts',
      });
      expect(await dequeue(repo, { entrypoints: limits })).toMatchObject([{ id: 1, attempts: 1 }]);
    });

    it('re-picks while attempts < maxAttempts and fails the job once they reach it', async () => {
      const { repo, clock } = t;
      const limits = { a: { retryTimer: 100, maxAttempts: 2 } };
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { entrypoints: limits });
      clock.advance(101);
      expect(await dequeue(repo, { entrypoints: limits })).toMatchObject([{ id: 1, attempts: 2 }]);
      clock.advance(101);
      expect(await dequeue(repo, { entrypoints: limits })).toEqual([]);
      expect((await repo.getJobs([1]))[0]).toMatchObject({
        status: 'failed',
        attempts: 2,
        lastError: 'worker lost: no heartbeat for 100 ms after 2 attempts',
      });
    });

    it('fails exhausted jobs only of requested entrypoints with retryTimer > 0, in id order across them', async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job('b'), job('a'), job('c'), job('b')]);
      await dequeue(repo, { entrypoints: { a: {}, b: {}, c: {} } });
      clock.advance(5000);
      const seq = (await repo.log()).at(-1)!.seq;
      await enqueueIds(repo, [job('a')]);
      const picked = await dequeue(repo, {
        entrypoints: {
          b: { retryTimer: 1000, maxAttempts: 1 },
          a: { retryTimer: 1000, maxAttempts: 1 },
          c: { retryTimer: 0, maxAttempts: 1 },
        },
      });
      expect(ids(picked)).toEqual([5]);
      expect(await repo.jobStatus([1, 2, 3, 4])).toEqual(['failed', 'failed', 'picked', 'failed']);
      expect((await repo.log({ after: seq })).map((e) => [e.kind, e.jobId])).toEqual([
        ['enqueued', 5],
        ['failed', 1],
        ['failed', 2],
        ['failed', 4],
        ['picked', 5],
      ]);
    });
  });

  describe('dequeue: concurrencyLimit and maxOwned', () => {
    const t = useRepository(factory, options);

    it('applies concurrencyLimit globally, to picked jobs held by any manager', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a'), job('a'), job('a'), job('a'), job('b')]);
      const limited = { a: { concurrencyLimit: 2 }, b: {} };
      expect(ids(await dequeue(repo, { entrypoints: { a: { concurrencyLimit: 2 } } }))).toEqual([1, 2]);
      expect(ids(await dequeue(repo, { entrypoints: limited, queueManagerId: 'm2' }))).toEqual([5]);
      expect(await repo.complete([{ id: 1, status: 'successful' }])).toEqual([true]);
      expect(ids(await dequeue(repo, { entrypoints: limited, queueManagerId: 'm2' }))).toEqual([3]);
      expect(await dequeue(repo, { entrypoints: limited })).toEqual([]);
    });

    it('skips a saturated entrypoint and keeps visiting the others', async () => {
      const { repo } = t;
      await enqueueIds(repo, [
        job('a', { priority: 5 }),
        job('a', { priority: 5 }),
        job('b', { priority: 1 }),
        job('b'),
      ]);
      expect(ids(await dequeue(repo, { entrypoints: { a: { concurrencyLimit: 1 }, b: {} } }))).toEqual([
        1, 3, 4,
      ]);
    });

    it('counts neither failed nor queued jobs nor other entrypoints against the limit', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a'), job('b')]);
      await dequeue(repo, { entrypoints: { a: {}, b: {} } });
      expect(await repo.complete([{ id: 1, status: 'failed' }])).toEqual([true]);
      await enqueueIds(repo, [job('a'), job('a')]);
      expect(ids(await dequeue(repo, { entrypoints: { a: { concurrencyLimit: 1 } } }))).toEqual([3]);
    });

    it('lets a stale re-pick through a saturated concurrencyLimit but gates fresh jobs', async () => {
      const { repo, clock } = t;
      const limits = { a: { concurrencyLimit: 1, retryTimer: 1000 } };
      await enqueueIds(repo, [job('a'), job('a', { priority: 1 })]);
      expect(ids(await dequeue(repo, { entrypoints: limits }))).toEqual([2]);
      clock.advance(1001);
      expect(await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' })).toMatchObject([
        { id: 2, attempts: 2, queueManagerId: 'm2' },
      ]);
      expect(await repo.jobStatus([1])).toEqual(['queued']);
      expect(await dequeue(repo, { entrypoints: limits })).toEqual([]);
    });

    it("caps the caller's picked jobs at maxOwned, even within one batch", async () => {
      const { repo } = t;
      await enqueueIds(repo, [job(), job(), job(), job(), job()]);
      expect(ids(await dequeue(repo, { maxOwned: 3 }))).toEqual([1, 2, 3]);
      expect(await dequeue(repo, { maxOwned: 3 })).toEqual([]);
      expect(await dequeue(repo, { maxOwned: 0, queueManagerId: 'm2' })).toEqual([]);
      await repo.complete([{ id: 2, status: 'successful' }]);
      expect(ids(await dequeue(repo, { maxOwned: 3 }))).toEqual([4]);
    });

    it("counts only the caller's own picked jobs against maxOwned, across entrypoints", async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('b'), job('a'), job('a'), job('a'), job('a')]);
      expect(
        ids(await dequeue(repo, { batchSize: 3, entrypoints: { a: {}, b: {} }, queueManagerId: 'm2' })),
      ).toEqual([1, 2, 3]);
      expect(ids(await dequeue(repo, { maxOwned: 1 }))).toEqual([4]);
      await enqueueIds(repo, [job('b')]);
      expect(await dequeue(repo, { maxOwned: 1, entrypoints: { b: {} } })).toEqual([]);
    });

    it("does not count re-picking the caller's own stale jobs, and stops at the first job that would add", async () => {
      const { repo, clock } = t;
      const limits = { a: { retryTimer: 1000 } };
      await enqueueIds(repo, [job(), job()]);
      await dequeue(repo, { entrypoints: limits });
      await enqueueIds(repo, [job('a', { priority: -1 })]);
      clock.advance(1001);
      expect(await dequeue(repo, { entrypoints: limits, maxOwned: 2 })).toMatchObject([
        { id: 1, attempts: 2 },
        { id: 2, attempts: 2 },
      ]);
      expect(await repo.jobStatus([3])).toEqual(['queued']);
    });

    it("counts re-picking another manager's stale job against maxOwned", async () => {
      const { repo, clock } = t;
      const limits = { a: { retryTimer: 1000 } };
      await enqueueIds(repo, [job('a', { priority: 1 })]);
      await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' });
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { entrypoints: limits });
      clock.advance(500);
      await repo.heartbeat([2]);
      clock.advance(501);
      // m1 holds job 2 (fresh); job 1 of m2 is stale but taking it would make 2 > maxOwned 1.
      expect(await dequeue(repo, { entrypoints: limits, maxOwned: 1 })).toEqual([]);
      expect(await dequeue(repo, { entrypoints: limits, maxOwned: 2 })).toMatchObject([
        { id: 1, attempts: 2, queueManagerId: 'm1' },
      ]);
    });
  });

  describe('dequeue: requestsPerSecond token bucket', () => {
    const t = useRepository(factory, options);

    it('starts with capacity max(1, rps/10) tokens, shared by two managers, refilled at rps per second', async () => {
      const { repo, clock } = t;
      await enqueueIds(
        repo,
        Array.from({ length: 30 }, () => job()),
      );
      const limits = { a: { requestsPerSecond: 100 } };
      expect(await dequeue(repo, { entrypoints: limits })).toHaveLength(10);
      expect(await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' })).toHaveLength(0);
      clock.advance(10);
      expect(await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' })).toHaveLength(1);
      clock.advance(20);
      expect(await dequeue(repo, { entrypoints: limits })).toHaveLength(2);
      clock.advance(10_000);
      expect(await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' })).toHaveLength(10);
      expect(await dequeue(repo, { entrypoints: limits })).toHaveLength(0);
    });

    it('has capacity 1 below 10 rps and refills fractionally across calls', async () => {
      const { repo, clock } = t;
      await enqueueIds(
        repo,
        Array.from({ length: 10 }, () => job()),
      );
      const limits = { a: { requestsPerSecond: 4 } };
      expect(await dequeue(repo, { entrypoints: limits })).toHaveLength(1);
      expect(await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' })).toHaveLength(0);
      clock.advance(125); // 0.5 token
      expect(await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' })).toHaveLength(0);
      clock.advance(125); // 1 token
      expect(await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' })).toHaveLength(1);
      clock.advance(60_000); // capped at 1
      expect(await dequeue(repo, { entrypoints: limits })).toHaveLength(1);
      expect(await dequeue(repo, { entrypoints: limits })).toHaveLength(0);
    });

    it('supports rates below one per second', async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job(), job(), job()]);
      const limits = { a: { requestsPerSecond: 0.5 } };
      expect(await dequeue(repo, { entrypoints: limits })).toHaveLength(1);
      clock.advance(1000);
      expect(await dequeue(repo, { entrypoints: limits })).toHaveLength(0);
      clock.advance(1000);
      expect(await dequeue(repo, { entrypoints: limits })).toHaveLength(1);
    });

    it('skips a rate-limited entrypoint and keeps picking the others in order', async () => {
      const { repo } = t;
      await enqueueIds(repo, [
        job('a', { priority: 5 }),
        job('a', { priority: 5 }),
        job('b', { priority: 1 }),
        job('b'),
      ]);
      expect(ids(await dequeue(repo, { entrypoints: { a: { requestsPerSecond: 10 }, b: {} } }))).toEqual([
        1, 3, 4,
      ]);
    });

    it('takes a token for a stale re-pick too', async () => {
      const { repo, clock } = t;
      const limits = { a: { requestsPerSecond: 10, retryTimer: 1000 } };
      await enqueueIds(repo, [job(), job()]);
      expect(ids(await dequeue(repo, { entrypoints: limits }))).toEqual([1]);
      clock.advance(1001);
      expect(await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' })).toMatchObject([
        { id: 1, attempts: 2 },
      ]);
      expect(await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' })).toEqual([]);
      clock.advance(100);
      expect(ids(await dequeue(repo, { entrypoints: limits, queueManagerId: 'm2' }))).toEqual([2]);
    });
  });
};
