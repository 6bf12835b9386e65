import { describe, expect, it } from 'vitest';
import { dumpRepository } from '../dump.js';
import {
  allLog,
  dequeue,
  enqueueIds,
  expectRejectedUnchanged,
  ids,
  job,
  type ScenarioGroup,
  useRepository,
} from './harness.js';

/**
 * Fenced completion: complete/retry/heartbeat with `{ queueManagerId }` touch only jobs that are
 * picked and held by that manager. A worker presumed lost (its heartbeat went stale, another
 * manager re-picked the job after retryTimer) that comes back late must not overwrite the run
 * that now holds the job.
 */
export const fencingScenarios: ScenarioGroup = (factory, options) => {
  describe('fenced completion', () => {
    const t = useRepository(factory, options);
    const stale = { a: { retryTimer: 1000 } };

    /** Job 1 picked by m1, gone stale, re-picked by m2. */
    async function repicked(): Promise<void> {
      const { repo, clock } = t;
      await enqueueIds(repo, [job(), job()]);
      expect(ids(await dequeue(repo, { batchSize: 1, entrypoints: stale, queueManagerId: 'm1' }))).toEqual([
        1,
      ]);
      clock.advance(1001);
      expect(ids(await dequeue(repo, { batchSize: 1, entrypoints: stale, queueManagerId: 'm2' }))).toEqual([
        1,
      ]);
    }

    it("ignores a late result from the manager that lost the job: false, no log row, the new holder's run stands", async () => {
      const { repo } = t;
      await repicked();
      const before = await dumpRepository(repo);
      expect(await repo.complete([{ id: 1, status: 'successful' }], { queueManagerId: 'm1' })).toEqual([
        false,
      ]);
      expect(
        await repo.complete([{ id: 1, status: 'failed', error: 'late' }], { queueManagerId: 'm1' }),
      ).toEqual([false]);
      expect(await dumpRepository(repo)).toEqual(before);
      expect((await repo.getJobs([1]))[0]).toMatchObject({
        status: 'picked',
        queueManagerId: 'm2',
        attempts: 2,
      });
      // the holder's result wins
      expect(
        await repo.complete([{ id: 1, status: 'exception', error: 'm2' }], { queueManagerId: 'm2' }),
      ).toEqual([true]);
      expect((await allLog(repo)).at(-1)).toMatchObject({
        jobId: 1,
        status: 'exception',
        queueManagerId: 'm2',
      });
    });

    it('ignores retry and heartbeat from a manager that does not hold the job', async () => {
      const { repo, clock, t0 } = t;
      await repicked();
      const before = await dumpRepository(repo);
      expect(
        await repo.retry([{ id: 1, executeAfter: t0, error: 'late' }], { queueManagerId: 'm1' }),
      ).toEqual([false]);
      expect(await repo.heartbeat([1], { queueManagerId: 'm1' })).toEqual([false]);
      expect(await dumpRepository(repo)).toEqual(before);
      // m1's heartbeat did not keep m2's run alive: it goes stale on schedule and m3 takes it
      clock.advance(1001);
      expect(ids(await dequeue(repo, { batchSize: 1, entrypoints: stale, queueManagerId: 'm3' }))).toEqual([
        1,
      ]);
      expect(await repo.retry([{ id: 1, executeAfter: t0, error: 'x' }], { queueManagerId: 'm3' })).toEqual([
        true,
      ]);
    });

    it('applies per position: only the jobs the caller holds', async () => {
      const { repo } = t;
      await repicked(); // 1 held by m2
      expect(ids(await dequeue(repo, { batchSize: 1, queueManagerId: 'm1' }))).toEqual([2]);
      expect(
        await repo.complete(
          [
            { id: 1, status: 'successful' },
            { id: 2, status: 'successful' },
          ],
          { queueManagerId: 'm1' },
        ),
      ).toEqual([false, true]);
      expect(await repo.heartbeat([1, 2], { queueManagerId: 'm2' })).toEqual([true, false]);
      expect(await repo.jobStatus([1, 2])).toEqual(['picked', 'successful']);
    });

    it('ignores a fenced result for a job that is queued again (recovered) or never picked', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job(), job()]);
      await dequeue(repo, { batchSize: 1, queueManagerId: 'm1' });
      clock.advance(5000);
      expect(await repo.recover({ staleAfter: 1000 })).toEqual([1]);
      const before = await dumpRepository(repo);
      expect(await repo.complete([{ id: 1, status: 'successful' }], { queueManagerId: 'm1' })).toEqual([
        false,
      ]);
      expect(await repo.complete([{ id: 2, status: 'successful' }], { queueManagerId: 'm1' })).toEqual([
        false,
      ]);
      expect(await repo.retry([{ id: 1, executeAfter: t0 }], { queueManagerId: 'm1' })).toEqual([false]);
      expect(await repo.heartbeat([1], { queueManagerId: 'm1' })).toEqual([false]);
      expect(await dumpRepository(repo)).toEqual(before);
    });

    it('answers false for a manager id the store has never seen', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { queueManagerId: 'm1' });
      const before = await dumpRepository(repo);
      expect(await repo.complete([{ id: 1, status: 'successful' }], { queueManagerId: 'stranger' })).toEqual([
        false,
      ]);
      expect(await repo.heartbeat([1], { queueManagerId: 'stranger' })).toEqual([false]);
      expect(await dumpRepository(repo)).toEqual(before);
    });

    it('keeps unfenced calls (no queueManagerId) open to any caller', async () => {
      const { repo } = t;
      await repicked();
      expect(await repo.heartbeat([1])).toEqual([true]);
      expect(await repo.complete([{ id: 1, status: 'successful' }])).toEqual([true]);
      expect(await repo.complete([{ id: 2, status: 'deleted' }], {})).toEqual([true]);
    });

    it('rejects a malformed fence with INVALID_ARGUMENT, nothing changed', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { queueManagerId: 'm1' });
      for (const bad of ['', 7, 'a\u0000b', null] as unknown[]) {
        await expectRejectedUnchanged(repo, 'INVALID_ARGUMENT', () =>
          repo.complete([{ id: 1, status: 'successful' }], { queueManagerId: bad as string }),
        );
        await expectRejectedUnchanged(repo, 'INVALID_ARGUMENT', () =>
          repo.heartbeat([1], { queueManagerId: bad as string }),
        );
        await expectRejectedUnchanged(repo, 'INVALID_ARGUMENT', () =>
          repo.retry([{ id: 1, executeAfter: 0 }], { queueManagerId: bad as string }),
        );
      }
      await expectRejectedUnchanged(repo, 'INVALID_ARGUMENT', () =>
        repo.complete([{ id: 1, status: 'successful' }], 'm1' as never),
      );
    });
  });
};
