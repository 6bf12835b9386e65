import { describe, expect, it } from 'vitest';
import type { TideqError } from '../../errors.js';
import { dumpRepository } from '../dump.js';
import {
  dequeue,
  enqueueIds,
  expectRejectedUnchanged,
  ids,
  job,
  type ScenarioGroup,
  useRepository,
} from './harness.js';

export const lifecycleScenarios: ScenarioGroup = (factory, options) => {
  describe('complete', () => {
    const t = useRepository(factory, options);

    it('removes a successful job, writes its log row and statistics, and frees its dedupe key', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job('a', { priority: 4, dedupeKey: 'k' })]);
      await dequeue(repo);
      clock.advance(2500);
      expect(await repo.complete([{ id: 1, status: 'successful' }])).toEqual([true]);
      expect(await repo.getJobs([1])).toEqual([null]);
      expect(await repo.jobStatus([1])).toEqual(['successful']);
      expect(await repo.queueSize()).toEqual([]);
      expect((await repo.log()).at(-1)).toMatchObject({
        kind: 'completed',
        jobId: 1,
        entrypoint: 'a',
        priority: 4,
        status: 'successful',
        at: t0 + 2500,
        error: null,
      });
      expect(await repo.statistics()).toEqual([
        { entrypoint: 'a', status: 'successful', priority: 4, second: t0 + 2000, count: 1 },
      ]);
      expect(await repo.enqueue([job('a', { dedupeKey: 'k' })])).toEqual([2]);
    });

    it("records the error of an 'exception', and writes kind cancelled for 'canceled' and completed for 'deleted'", async () => {
      const { repo } = t;
      await enqueueIds(repo, [job(), job(), job()]);
      await dequeue(repo);
      const seq = (await repo.log()).at(-1)!.seq;
      expect(
        await repo.complete([
          { id: 1, status: 'exception', error: 'TypeError: x is undefined' },
          { id: 2, status: 'canceled' },
          { id: 3, status: 'deleted', error: null },
        ]),
      ).toEqual([true, true, true]);
      expect((await repo.log({ after: seq })).map((e) => [e.kind, e.jobId, e.status, e.error])).toEqual([
        ['completed', 1, 'exception', 'TypeError: x is undefined'],
        ['cancelled', 2, 'canceled', null],
        ['completed', 3, 'deleted', null],
      ]);
      expect(await repo.jobStatus([1, 2, 3])).toEqual(['exception', 'canceled', 'deleted']);
    });

    it('returns false and writes nothing for unknown, terminal and failed ids', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job(), job()]);
      await dequeue(repo);
      await repo.complete([
        { id: 1, status: 'successful' },
        { id: 2, status: 'failed', error: 'dead' },
      ]);
      const before = await dumpRepository(repo);
      expect(
        await repo.complete([
          { id: 1, status: 'successful' },
          { id: 2, status: 'successful' },
          { id: 2, status: 'failed' },
          { id: 99, status: 'exception' },
        ]),
      ).toEqual([false, false, false, false]);
      expect(await dumpRepository(repo)).toEqual(before);
    });

    it('applies a repeated id once (later positions false) and aligns results with inputs', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job(), job()]);
      await dequeue(repo);
      const seq = (await repo.log()).at(-1)!.seq;
      expect(
        await repo.complete([
          { id: 2, status: 'successful' },
          { id: 7, status: 'successful' },
          { id: 2, status: 'exception' },
          { id: 1, status: 'deleted' },
        ]),
      ).toEqual([true, false, false, true]);
      expect((await repo.log({ after: seq })).map((e) => [e.jobId, e.status])).toEqual([
        [2, 'successful'],
        [1, 'deleted'],
      ]);
    });

    it("keeps a job completed as 'failed' as a dead letter with its error", async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job('a', { payload: Uint8Array.from([1]), dedupeKey: 'k' })]);
      await dequeue(repo);
      clock.advance(1000);
      expect(await repo.complete([{ id: 1, status: 'failed', error: 'gave up' }])).toEqual([true]);
      const [dead] = await repo.getJobs([1]);
      expect(dead).toMatchObject({
        status: 'failed',
        lastError: 'gave up',
        queueManagerId: null,
        attempts: 1,
      });
      expect(Array.from(dead!.payload!)).toEqual([1]);
      expect(await repo.failedJobs()).toEqual([dead]);
      expect((await repo.log()).at(-1)).toMatchObject({
        kind: 'failed',
        jobId: 1,
        status: 'failed',
        error: 'gave up',
      });
      expect(await repo.statistics()).toEqual([
        { entrypoint: 'a', status: 'failed', priority: 0, second: t0 + 1000, count: 1 },
      ]);
      expect(await repo.queueSize()).toEqual([{ entrypoint: 'a', status: 'failed', priority: 0, count: 1 }]);
    });

    it('completes a queued job that was never picked', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job()]);
      expect(await repo.complete([{ id: 1, status: 'deleted' }])).toEqual([true]);
      expect(await repo.jobStatus([1])).toEqual(['deleted']);
      expect(await dequeue(repo)).toEqual([]);
    });
  });

  describe('retry', () => {
    const t = useRepository(factory, options);

    it('puts a picked job back to queued with a later executeAfter, keeping id, payload, priority, headers, key, attempts', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [
        job('a', { payload: Uint8Array.from([7, 8]), priority: 3, headers: { h: 'v' }, dedupeKey: 'k' }),
      ]);
      await dequeue(repo);
      clock.advance(100);
      expect(await repo.retry([{ id: 1, executeAfter: t0 + 5000, error: 'try later' }])).toEqual([true]);
      const [back] = await repo.getJobs([1]);
      expect(back).toEqual({
        id: 1,
        entrypoint: 'a',
        payload: Uint8Array.from([7, 8]),
        priority: 3,
        executeAfter: t0 + 5000,
        dedupeKey: 'k',
        headers: { h: 'v' },
        status: 'queued',
        attempts: 1,
        heartbeat: t0,
        created: t0,
        updated: t0 + 100,
        queueManagerId: null,
        lastError: 'try later',
      });
      expect((await repo.log()).at(-1)).toMatchObject({
        kind: 'retried',
        jobId: 1,
        status: 'queued',
        at: t0 + 100,
        error: 'try later',
      });
      await expectRejectedUnchanged(repo, 'DUPLICATE_JOB', () =>
        repo.enqueue([job('a', { dedupeKey: 'k' })]),
      );
      expect(await dequeue(repo)).toEqual([]);
      clock.set(t0 + 5000);
      expect(await dequeue(repo)).toMatchObject([{ id: 1, attempts: 2, lastError: 'try later' }]);
    });

    it('accepts a Date and returns false (writing nothing) for jobs that are not picked', async () => {
      const { repo, t0 } = t;
      await enqueueIds(repo, [job(), job(), job()]);
      await dequeue(repo, { batchSize: 2 });
      await repo.complete([{ id: 2, status: 'failed' }]);
      const before = await dumpRepository(repo);
      expect(
        await repo.retry([
          { id: 2, executeAfter: t0 },
          { id: 3, executeAfter: t0 },
          { id: 42, executeAfter: t0 },
        ]),
      ).toEqual([false, false, false]);
      expect(await dumpRepository(repo)).toEqual(before);
      expect(await repo.retry([{ id: 1, executeAfter: new Date(t0 + 10) }])).toEqual([true]);
      expect((await repo.getJobs([1]))[0]).toMatchObject({ executeAfter: t0 + 10, lastError: null });
    });
  });

  describe('requeue', () => {
    const t = useRepository(factory, options);

    it('puts failed jobs back to queued with attempts 0 and executeAfter now, keeping lastError', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job('a', { executeAfter: t0 - 100 }), job()]);
      await dequeue(repo);
      await repo.complete([{ id: 1, status: 'failed', error: 'e1' }]);
      clock.advance(3000);
      expect(await repo.requeue([1, 2, 3])).toEqual([true, false, false]);
      expect((await repo.getJobs([1]))[0]).toMatchObject({
        status: 'queued',
        attempts: 0,
        executeAfter: t0 + 3000,
        updated: t0 + 3000,
        queueManagerId: null,
        lastError: 'e1',
      });
      expect((await repo.log()).at(-1)).toMatchObject({
        kind: 'requeued',
        jobId: 1,
        status: 'queued',
        at: t0 + 3000,
      });
      expect(await repo.failedJobs()).toEqual([]);
    });

    it("rejects with DUPLICATE_JOB, changing nothing, when a failed job's key is held again", async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a', { dedupeKey: 'k' }), job('a', { dedupeKey: 'free' })]);
      await dequeue(repo);
      await repo.complete([
        { id: 1, status: 'failed' },
        { id: 2, status: 'failed' },
      ]);
      await enqueueIds(repo, [job('a', { dedupeKey: 'k' })]);
      const error = await expectRejectedUnchanged(repo, 'DUPLICATE_JOB', () => repo.requeue([2, 1]));
      expect((error as TideqError).details?.keys).toEqual(['k']);
    });

    it('rejects with DUPLICATE_JOB when two requeued jobs share a key', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a', { dedupeKey: 'k' })]);
      await dequeue(repo);
      await repo.complete([{ id: 1, status: 'failed' }]);
      await enqueueIds(repo, [job('a', { dedupeKey: 'k' })]);
      await dequeue(repo);
      await repo.complete([{ id: 2, status: 'failed' }]);
      await expectRejectedUnchanged(repo, 'DUPLICATE_JOB', () => repo.requeue([1, 2]));
      expect(await repo.requeue([2])).toEqual([true]);
    });
  });

  describe('requeue and retry keep the job', () => {
    const t = useRepository(factory, options);

    it('requeue keeps id, payload, priority, headers, dedupe key and created', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [
        job('a', { payload: Uint8Array.from([4, 2]), priority: -7, headers: { x: [1] }, dedupeKey: 'd' }),
      ]);
      await dequeue(repo);
      await repo.complete([{ id: 1, status: 'failed', error: 'e' }]);
      clock.advance(50);
      await repo.requeue([1]);
      const [back] = await repo.getJobs([1]);
      expect(back).toMatchObject({
        id: 1,
        priority: -7,
        headers: { x: [1] },
        dedupeKey: 'd',
        created: t0,
        entrypoint: 'a',
      });
      expect(Array.from(back!.payload!)).toEqual([4, 2]);
      await expectRejectedUnchanged(repo, 'DUPLICATE_JOB', () =>
        repo.enqueue([job('a', { dedupeKey: 'd' })]),
      );
    });

    it('retry with a past executeAfter makes the job due at once', async () => {
      const { repo, t0 } = t;
      await enqueueIds(repo, [job()]);
      await dequeue(repo);
      expect(await repo.retry([{ id: 1, executeAfter: t0 - 60_000 }])).toEqual([true]);
      expect(await repo.nextDueAt(['a'])).toBe(t0 - 60_000);
      expect(await dequeue(repo, { queueManagerId: 'm2' })).toMatchObject([
        { id: 1, attempts: 2, queueManagerId: 'm2' },
      ]);
    });
  });

  describe('heartbeat', () => {
    const t = useRepository(factory, options);

    it('returns false for failed and terminal jobs', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job(), job()]);
      await dequeue(repo);
      await repo.complete([
        { id: 1, status: 'failed' },
        { id: 2, status: 'successful' },
      ]);
      const before = await dumpRepository(repo);
      expect(await repo.heartbeat([1, 2])).toEqual([false, false]);
      expect(await dumpRepository(repo)).toEqual(before);
    });

    it('refreshes heartbeat and updated of picked jobs without an event; false for others', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job(), job()]);
      await dequeue(repo, { batchSize: 1 });
      clock.advance(700);
      const before = await repo.log();
      // A repeated id is applied once: later positions are false (docs/ARCHITECTURE.md).
      expect(await repo.heartbeat([1, 2, 3, 1])).toEqual([true, false, false, false]);
      expect((await repo.getJobs([1]))[0]).toMatchObject({
        heartbeat: t0 + 700,
        updated: t0 + 700,
        status: 'picked',
      });
      expect((await repo.getJobs([2]))[0]).toMatchObject({ heartbeat: t0, updated: t0 });
      expect(await repo.log()).toEqual(before);
    });
  });

  describe('cancel', () => {
    const t = useRepository(factory, options);

    it('cancels a queued job: it leaves the store with a cancelled event and statistics', async () => {
      const { repo, t0 } = t;
      await enqueueIds(repo, [job('a', { priority: 2 })]);
      expect(await repo.cancel([1])).toEqual([true]);
      expect(await repo.getJobs([1])).toEqual([null]);
      expect(await repo.jobStatus([1])).toEqual(['canceled']);
      expect((await repo.log()).at(-1)).toMatchObject({
        kind: 'cancelled',
        jobId: 1,
        status: 'canceled',
        queueManagerId: null,
        at: t0,
      });
      expect(await repo.statistics()).toEqual([
        { entrypoint: 'a', status: 'canceled', priority: 2, second: t0, count: 1 },
      ]);
    });

    it("cancels a picked job with an event carrying the holder's queueManagerId", async () => {
      const { repo } = t;
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { queueManagerId: 'holder-7' });
      expect(await repo.cancel([1])).toEqual([true]);
      expect((await repo.log()).at(-1)).toMatchObject({
        kind: 'cancelled',
        jobId: 1,
        queueManagerId: 'holder-7',
      });
      expect(await repo.queueSize()).toEqual([]);
    });

    it('cancels a failed job, which leaves the dead letters', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job()]);
      await dequeue(repo);
      await repo.complete([{ id: 1, status: 'failed' }]);
      expect(await repo.cancel([1])).toEqual([true]);
      expect(await repo.failedJobs()).toEqual([]);
      expect((await repo.log()).at(-1)).toMatchObject({
        kind: 'cancelled',
        queueManagerId: null,
        status: 'canceled',
      });
    });

    it('returns false and writes nothing for unknown and terminal ids, and applies a repeated id once', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job(), job()]);
      await repo.complete([{ id: 1, status: 'successful' }]);
      const before = await dumpRepository(repo);
      expect(await repo.cancel([1, 50])).toEqual([false, false]);
      expect(await dumpRepository(repo)).toEqual(before);
      expect(await repo.cancel([2, 2])).toEqual([true, false]);
      expect((await repo.log()).filter((e) => e.kind === 'cancelled')).toHaveLength(1);
    });
  });

  describe('clear', () => {
    const t = useRepository(factory, options);

    it('deletes every held job of the given entrypoints in id order and returns the count', async () => {
      const { repo, t0 } = t;
      await enqueueIds(repo, [job('a'), job('b'), job('a', { priority: 1 }), job('c'), job('a')]);
      await dequeue(repo, { batchSize: 1 });
      await repo.complete([{ id: 3, status: 'failed' }]);
      await dequeue(repo, { batchSize: 1 });
      const seq = (await repo.log()).at(-1)!.seq;
      expect(await repo.clear(['a', 'c', 'nothing'])).toBe(4);
      expect((await repo.log({ after: seq })).map((e) => [e.kind, e.jobId, e.status])).toEqual([
        ['completed', 1, 'deleted'],
        ['completed', 3, 'deleted'],
        ['completed', 4, 'deleted'],
        ['completed', 5, 'deleted'],
      ]);
      expect(await repo.queueSize()).toEqual([{ entrypoint: 'b', status: 'queued', priority: 0, count: 1 }]);
      expect(await repo.jobStatus([1, 2, 3, 4, 5])).toEqual([
        'deleted',
        'queued',
        'deleted',
        'deleted',
        'deleted',
      ]);
      expect(await repo.statistics()).toContainEqual({
        entrypoint: 'a',
        status: 'deleted',
        priority: 0,
        second: t0,
        count: 2,
      });
    });

    it('clears every entrypoint when none are given, and returns 0 on an empty store', async () => {
      const { repo } = t;
      expect(await repo.clear()).toBe(0);
      await enqueueIds(repo, [job('a'), job('b'), job('c')]);
      await dequeue(repo, { entrypoints: { b: {} } });
      expect(await repo.clear()).toBe(3);
      expect(await repo.queueSize()).toEqual([]);
      expect(await repo.clear()).toBe(0);
      expect(ids(await dequeue(repo, { entrypoints: { a: {}, b: {}, c: {} } }))).toEqual([]);
    });

    it('counts each job once when an entrypoint is named twice', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a'), job('a'), job('b')]);
      expect(await repo.clear(['a', 'a'])).toBe(2);
      expect((await repo.log()).filter((e) => e.status === 'deleted').map((e) => e.jobId)).toEqual([1, 2]);
    });

    it('clears nothing for an empty list of entrypoints', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a')]);
      const before = await dumpRepository(repo);
      expect(await repo.clear([])).toBe(0);
      expect(await dumpRepository(repo)).toEqual(before);
    });
  });
};
