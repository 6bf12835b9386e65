import { describe, expect, it } from 'vitest';
import { dequeue, enqueueIds, ids, job, type ScenarioGroup, useRepository } from './harness.js';

export const readScenarios: ScenarioGroup = (factory, options) => {
  describe('reads', () => {
    const t = useRepository(factory, options);

    it('jobStatus reports queued, picked, every terminal status, failed, and null for ids never assigned', async () => {
      const { repo } = t;
      await enqueueIds(
        repo,
        Array.from({ length: 8 }, () => job()),
      );
      await dequeue(repo, { batchSize: 6 });
      await repo.complete([
        { id: 1, status: 'successful' },
        { id: 2, status: 'exception', error: 'x' },
        { id: 3, status: 'deleted' },
        { id: 5, status: 'failed' },
      ]);
      await repo.cancel([4]);
      expect(await repo.jobStatus([1, 2, 3, 4, 5, 6, 7, 9, 8, Number.MAX_SAFE_INTEGER, 1])).toEqual([
        'successful',
        'exception',
        'deleted',
        'canceled',
        'failed',
        'picked',
        'queued',
        null,
        'queued',
        null,
        'successful',
      ]);
      expect(await repo.jobStatus([])).toEqual([]);
    });

    it('getJobs returns held jobs (queued, picked, failed) aligned with the ids, null for others', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a'), job('a'), job('a'), job('b')]);
      await dequeue(repo, { batchSize: 3 });
      await repo.complete([
        { id: 1, status: 'successful' },
        { id: 2, status: 'failed' },
      ]);
      const got = await repo.getJobs([4, 1, 2, 3, 77, 4]);
      expect(got.map((j) => j && [j.id, j.status])).toEqual([
        [4, 'queued'],
        null,
        [2, 'failed'],
        [3, 'picked'],
        null,
        [4, 'queued'],
      ]);
      expect(await repo.getJobs([])).toEqual([]);
    });

    it('queueSize groups held jobs by entrypoint asc (UTF-16 order), status, priority desc, without zero rows', async () => {
      const { repo } = t;
      await enqueueIds(repo, [
        job('b', { priority: 1 }),
        job('b', { priority: 5 }),
        job('B'),
        job('a', { priority: -2 }),
        job('a', { priority: 3 }),
        job('a', { priority: 3 }),
        job('b', { priority: 5 }),
        job('a.x'),
        job('a', { priority: 7, executeAfter: t.t0 + 1000 }),
      ]);
      await dequeue(repo, { batchSize: 1, entrypoints: { b: {} } });
      await dequeue(repo, { batchSize: 2, entrypoints: { a: {} } });
      await repo.complete([{ id: 5, status: 'failed' }]);
      await repo.complete([{ id: 1, status: 'successful' }]);
      expect(await repo.queueSize()).toEqual([
        { entrypoint: 'B', status: 'queued', priority: 0, count: 1 },
        { entrypoint: 'a', status: 'queued', priority: 7, count: 1 },
        { entrypoint: 'a', status: 'queued', priority: -2, count: 1 },
        { entrypoint: 'a', status: 'picked', priority: 3, count: 1 },
        { entrypoint: 'a', status: 'failed', priority: 3, count: 1 },
        { entrypoint: 'a.x', status: 'queued', priority: 0, count: 1 },
        { entrypoint: 'b', status: 'queued', priority: 5, count: 1 },
        { entrypoint: 'b', status: 'picked', priority: 5, count: 1 },
      ]);
    });

    it('failedJobs lists dead letters by id, paged by after and limit (default 100)', async () => {
      const { repo } = t;
      await enqueueIds(
        repo,
        Array.from({ length: 105 }, () => job()),
      );
      await dequeue(repo, { batchSize: 105 });
      await repo.complete(
        Array.from({ length: 105 }, (_, i) => ({ id: 105 - i, status: 'failed' as const })),
      );
      const first = await repo.failedJobs();
      expect(ids(first)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(ids(await repo.failedJobs({ after: 100 }))).toEqual([101, 102, 103, 104, 105]);
      expect(ids(await repo.failedJobs({ after: 3, limit: 2 }))).toEqual([4, 5]);
      expect(await repo.failedJobs({ limit: 0 })).toEqual([]);
    });

    it('log returns rows with strictly increasing seq, paged by after and limit (default 1000)', async () => {
      const { repo } = t;
      await enqueueIds(
        repo,
        Array.from({ length: 1001 }, () => job()),
      );
      await dequeue(repo, { batchSize: 2 });
      await repo.complete([{ id: 1, status: 'successful' }]);
      const page = await repo.log();
      expect(page).toHaveLength(1000);
      for (let i = 1; i < page.length; i++) expect(page[i]!.seq).toBeGreaterThan(page[i - 1]!.seq);
      const rest = await repo.log({ after: page[999]!.seq });
      expect(rest.map((e) => [e.kind, e.jobId])).toEqual([
        ['enqueued', 1001],
        ['picked', 1],
        ['picked', 2],
        ['completed', 1],
      ]);
      expect(rest[0]!.seq).toBeGreaterThan(page[999]!.seq);
      const two = await repo.log({ after: page[4]!.seq, limit: 2 });
      expect(two).toEqual(page.slice(5, 7));
    });

    it('writes exactly one log row per transition', async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job(), job(), job()]);
      await dequeue(repo);
      await repo.retry([{ id: 1, executeAfter: clock.now(), error: 'r' }]);
      await repo.complete([{ id: 2, status: 'failed' }]);
      await repo.requeue([2]);
      await repo.heartbeat([3]);
      await repo.cancel([3]);
      await repo.clear();
      expect((await repo.log()).map((e) => [e.kind, e.jobId, e.status])).toEqual([
        ['enqueued', 1, 'queued'],
        ['enqueued', 2, 'queued'],
        ['enqueued', 3, 'queued'],
        ['picked', 1, 'picked'],
        ['picked', 2, 'picked'],
        ['picked', 3, 'picked'],
        ['retried', 1, 'queued'],
        ['failed', 2, 'failed'],
        ['requeued', 2, 'queued'],
        ['cancelled', 3, 'canceled'],
        ['completed', 1, 'deleted'],
        ['completed', 2, 'deleted'],
      ]);
    });

    it('statistics counts per (entrypoint, status, priority, second), second desc then entrypoint, status, priority desc', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [
        job('b', { priority: 1 }),
        job('a', { priority: 1 }),
        job('a', { priority: 2 }),
        job('a', { priority: 1 }),
        job('b', { priority: 1 }),
        job('a', { priority: 1 }),
      ]);
      clock.advance(400);
      await repo.complete([
        { id: 1, status: 'successful' },
        { id: 2, status: 'successful' },
        { id: 3, status: 'successful' },
      ]);
      clock.advance(599);
      await repo.complete([{ id: 4, status: 'exception' }]);
      clock.advance(1);
      await repo.complete([
        { id: 5, status: 'deleted' },
        { id: 6, status: 'successful' },
      ]);
      const all = [
        { entrypoint: 'a', status: 'successful', priority: 1, second: t0 + 1000, count: 1 },
        { entrypoint: 'b', status: 'deleted', priority: 1, second: t0 + 1000, count: 1 },
        { entrypoint: 'a', status: 'exception', priority: 1, second: t0, count: 1 },
        { entrypoint: 'a', status: 'successful', priority: 2, second: t0, count: 1 },
        { entrypoint: 'a', status: 'successful', priority: 1, second: t0, count: 1 },
        { entrypoint: 'b', status: 'successful', priority: 1, second: t0, count: 1 },
      ];
      expect(await repo.statistics()).toEqual(all);
      expect(await repo.statistics({ since: t0 + 1 })).toEqual(all.slice(0, 2));
      expect(await repo.statistics({ since: t0, limit: 3 })).toEqual(all.slice(0, 3));
    });

    it('nextDueAt is the earliest executeAfter of queued jobs of the given entrypoints, or null', async () => {
      const { repo, clock, t0 } = t;
      expect(await repo.nextDueAt(['a'])).toBeNull();
      await enqueueIds(repo, [
        job('a', { executeAfter: t0 + 500 }),
        job('a', { executeAfter: t0 + 300 }),
        job('b', { executeAfter: t0 + 100 }),
        job('c', { executeAfter: t0 - 50 }),
      ]);
      expect(await repo.nextDueAt(['a'])).toBe(t0 + 300);
      expect(await repo.nextDueAt(['a', 'b'])).toBe(t0 + 100);
      expect(await repo.nextDueAt(['c', 'zzz'])).toBe(t0 - 50);
      expect(await repo.nextDueAt(['zzz'])).toBeNull();
      expect(await repo.nextDueAt([])).toBeNull();
      clock.advance(300);
      // Picked and failed jobs no longer count.
      await dequeue(repo, { batchSize: 1 });
      expect(await repo.nextDueAt(['a'])).toBe(t0 + 500);
      clock.advance(200);
      await dequeue(repo);
      await repo.complete([{ id: 1, status: 'failed' }]);
      expect(await repo.nextDueAt(['a'])).toBeNull();
    });
  });
};
