import { describe, expect, it } from 'vitest';
import type { TideqError } from '../../errors.js';
import { dumpRepository } from '../dump.js';
import {
  dequeue,
  enqueueIds,
  expectCode,
  expectRejectedUnchanged,
  job,
  type ScenarioGroup,
  useRepository,
} from './harness.js';

export const enqueueScenarios: ScenarioGroup = (factory, options) => {
  describe('enqueue', () => {
    const t = useRepository(factory, options);

    it('stores queued jobs with consecutive ids from 1 and every field set as specified', async () => {
      const { repo, t0 } = t;
      expect(await repo.enqueue([job('a'), job('b', { priority: 7 })])).toEqual([1, 2]);
      const [a, b] = await repo.getJobs([1, 2]);
      expect(a).toEqual({
        id: 1,
        entrypoint: 'a',
        payload: null,
        priority: 0,
        executeAfter: t0,
        dedupeKey: null,
        headers: null,
        status: 'queued',
        attempts: 0,
        heartbeat: t0,
        created: t0,
        updated: t0,
        queueManagerId: null,
        lastError: null,
      });
      expect(b).toMatchObject({ id: 2, entrypoint: 'b', priority: 7, status: 'queued' });
    });

    it('returns [] for an empty batch and writes nothing', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job()]);
      const before = await dumpRepository(repo);
      expect(await repo.enqueue([])).toEqual([]);
      expect(await dumpRepository(repo)).toEqual(before);
    });

    it('keeps ids strictly increasing across calls and never reuses the id of a job that left', async () => {
      const { repo } = t;
      expect(await repo.enqueue([job(), job(), job()])).toEqual([1, 2, 3]);
      expect(await repo.complete([{ id: 3, status: 'successful' }])).toEqual([true]);
      expect(await repo.cancel([2])).toEqual([true]);
      expect(await repo.enqueue([job(), job()])).toEqual([4, 5]);
    });

    it('floors executeAfter, accepts a Date, and keeps a past executeAfter as given', async () => {
      const { repo, t0 } = t;
      await enqueueIds(repo, [
        job('a', { executeAfter: t0 + 1500.9 }),
        job('a', { executeAfter: new Date(t0 + 2000) }),
        job('a', { executeAfter: t0 - 5000 }),
      ]);
      const jobs = await repo.getJobs([1, 2, 3]);
      expect(jobs.map((j) => j?.executeAfter)).toEqual([t0 + 1500, t0 + 2000, t0 - 5000]);
      expect(jobs.map((j) => j?.created)).toEqual([t0, t0, t0]);
    });

    it('writes one enqueued event per stored job, in id order', async () => {
      const { repo, t0 } = t;
      await enqueueIds(repo, [job('x', { priority: -3 }), job('y', { priority: 9 })]);
      const log = await repo.log();
      expect(log.map(({ seq: _seq, ...rest }) => rest)).toEqual([
        {
          kind: 'enqueued',
          jobId: 1,
          entrypoint: 'x',
          priority: -3,
          status: 'queued',
          at: t0,
          queueManagerId: null,
          error: null,
        },
        {
          kind: 'enqueued',
          jobId: 2,
          entrypoint: 'y',
          priority: 9,
          status: 'queued',
          at: t0,
          queueManagerId: null,
          error: null,
        },
      ]);
      expect(log[1]!.seq).toBeGreaterThan(log[0]!.seq);
    });

    it('rejects a whole batch whose dedupe key is held by a queued job, naming the key', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a', { dedupeKey: 'k' })]);
      const error = await expectRejectedUnchanged(repo, 'DUPLICATE_JOB', () =>
        repo.enqueue([job('a', { dedupeKey: 'fresh' }), job('b', { dedupeKey: 'k' }), job('c')]),
      );
      expect((error as TideqError).details?.keys).toEqual(['k']);
      expect(error.message).toContain('"k"');
    });

    it('rejects a whole batch that repeats a dedupe key, naming each repeated key once in first-seen order', async () => {
      const { repo } = t;
      const error = await expectRejectedUnchanged(repo, 'DUPLICATE_JOB', () =>
        repo.enqueue([
          job('a', { dedupeKey: 'y' }),
          job('a', { dedupeKey: 'x' }),
          job('a', { dedupeKey: 'y' }),
          job('a', { dedupeKey: 'x' }),
          job('a', { dedupeKey: 'y' }),
          job('a', { dedupeKey: 'z' }),
        ]),
      );
      expect((error as TideqError).details?.keys).toEqual(['y', 'x']);
      expect(await repo.queueSize()).toEqual([]);
    });

    it('names several store conflicts in first-seen order of the batch', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a', { dedupeKey: 'a' }), job('a', { dedupeKey: 'b' })]);
      const error = await expectRejectedUnchanged(repo, 'DUPLICATE_JOB', () =>
        repo.enqueue([
          job('a', { dedupeKey: 'c' }),
          job('a', { dedupeKey: 'b' }),
          job('a'),
          job('a', { dedupeKey: 'a' }),
        ]),
      );
      expect((error as TideqError).details?.keys).toEqual(['b', 'a']);
    });

    it("onConflict 'skip' returns null for a key held by the store and stores the rest with consecutive ids", async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a', { dedupeKey: 'k' }), job('a')]);
      expect(
        await repo.enqueue(
          [job('a', { dedupeKey: 'n' }), job('a', { dedupeKey: 'k' }), job('a', { priority: 2 })],
          {
            onConflict: 'skip',
          },
        ),
      ).toEqual([3, null, 4]);
      const [j3, j4] = await repo.getJobs([3, 4]);
      expect(j3?.dedupeKey).toBe('n');
      expect(j4?.priority).toBe(2);
      expect((await repo.log()).filter((e) => e.kind === 'enqueued').map((e) => e.jobId)).toEqual([
        1, 2, 3, 4,
      ]);
    });

    it("onConflict 'skip' keeps the first job of a repeated key inside the batch and skips the later ones", async () => {
      const { repo } = t;
      expect(
        await repo.enqueue(
          [
            job('a', { dedupeKey: 'k', priority: 1 }),
            job('a', { dedupeKey: 'k', priority: 2 }),
            job('a', { dedupeKey: 'k' }),
          ],
          { onConflict: 'skip' },
        ),
      ).toEqual([1, null, null]);
      expect((await repo.getJobs([1]))[0]?.priority).toBe(1);
      expect(await repo.jobStatus([2])).toEqual([null]);
    });

    it("onConflict 'skip' with only conflicts stores nothing and writes no event", async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a', { dedupeKey: 'k' })]);
      const before = await dumpRepository(repo);
      expect(await repo.enqueue([job('a', { dedupeKey: 'k' })], { onConflict: 'skip' })).toEqual([null]);
      expect(await dumpRepository(repo)).toEqual(before);
    });

    it('holds a dedupe key while its job is picked', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a', { dedupeKey: 'k' })]);
      expect(await dequeue(repo)).toHaveLength(1);
      await expectRejectedUnchanged(repo, 'DUPLICATE_JOB', () =>
        repo.enqueue([job('a', { dedupeKey: 'k' })]),
      );
      expect(await repo.enqueue([job('a', { dedupeKey: 'k' })], { onConflict: 'skip' })).toEqual([null]);
    });

    it('frees a dedupe key once its job is terminal (completed, cancelled, cleared)', async () => {
      const { repo } = t;
      await enqueueIds(repo, [
        job('a', { dedupeKey: 'k1' }),
        job('a', { dedupeKey: 'k2' }),
        job('b', { dedupeKey: 'k3' }),
      ]);
      await dequeue(repo, { batchSize: 1 });
      expect(await repo.complete([{ id: 1, status: 'successful' }])).toEqual([true]);
      expect(await repo.cancel([2])).toEqual([true]);
      expect(await repo.clear(['b'])).toBe(1);
      expect(
        await repo.enqueue([
          job('a', { dedupeKey: 'k1' }),
          job('a', { dedupeKey: 'k2' }),
          job('a', { dedupeKey: 'k3' }),
        ]),
      ).toEqual([4, 5, 6]);
    });

    it('frees a dedupe key when its job becomes a dead letter (failed)', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a', { dedupeKey: 'k' })]);
      await dequeue(repo);
      expect(await repo.complete([{ id: 1, status: 'failed', error: 'boom' }])).toEqual([true]);
      expect(await repo.enqueue([job('a', { dedupeKey: 'k' })])).toEqual([2]);
      expect(await repo.jobStatus([1, 2])).toEqual(['failed', 'queued']);
    });

    it('never dedupes jobs without a key', async () => {
      const { repo } = t;
      expect(await repo.enqueue([job(), job('a', { dedupeKey: null }), job()])).toEqual([1, 2, 3]);
      expect(await repo.enqueue([job()])).toEqual([4]);
    });

    it('rejects a batch whose last job is invalid without storing the valid ones before it', async () => {
      const { repo } = t;
      await expectRejectedUnchanged(repo, 'INVALID_ARGUMENT', () =>
        repo.enqueue([job('a'), job('b'), job('bad entrypoint')]),
      );
      expect(await repo.enqueue([job()])).toEqual([1]);
    });

    it('stores a large batch atomically with consecutive ids', async () => {
      const { repo } = t;
      const n = 5000;
      const got = await repo.enqueue(
        Array.from({ length: n }, (_, i) => job(i % 2 ? 'a' : 'b', { priority: i % 3 })),
      );
      expect(got).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      const total = (await repo.queueSize()).reduce((sum, row) => sum + row.count, 0);
      expect(total).toBe(n);
    });

    it('keeps the dedupe key and priority extremes of int32', async () => {
      const { repo } = t;
      await enqueueIds(repo, [
        job('a', { priority: 2147483647, dedupeKey: 'ü-ключ-🔑' }),
        job('a', { priority: -2147483648 }),
      ]);
      const [a, b] = await repo.getJobs([1, 2]);
      expect(a?.priority).toBe(2147483647);
      expect(a?.dedupeKey).toBe('ü-ключ-🔑');
      expect(b?.priority).toBe(-2147483648);
      await expectCode(repo.enqueue([job('b', { dedupeKey: 'ü-ключ-🔑' })]), 'DUPLICATE_JOB');
    });
  });
};
