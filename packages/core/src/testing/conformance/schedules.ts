import { describe, expect, it } from 'vitest';
import type { ScheduleInput } from '../../types.js';
import { type ScenarioGroup, useRepository } from './harness.js';

function schedule(name: string, nextRunAt: number, extra: Partial<ScheduleInput> = {}): ScheduleInput {
  return { name, entrypoint: 'tick', expression: '* * * * *', nextRunAt, ...extra };
}

export const scheduleScenarios: ScenarioGroup = (factory, options) => {
  describe('schedules', () => {
    const t = useRepository(factory, options);

    it('upserts and lists schedules by name with lastRunAt and claim empty', async () => {
      const { repo, t0 } = t;
      await repo.upsertSchedules([
        schedule('z-report', t0 + 60_000),
        schedule('a-cleanup', t0 + 1000, {
          timezone: 'Europe/Berlin',
          expression: '0 3 * * *',
          entrypoint: 'cleanup',
        }),
      ]);
      expect(await repo.listSchedules()).toEqual([
        {
          name: 'a-cleanup',
          entrypoint: 'cleanup',
          expression: '0 3 * * *',
          timezone: 'Europe/Berlin',
          nextRunAt: t0 + 1000,
          lastRunAt: null,
          claimedBy: null,
          claimedAt: null,
        },
        {
          name: 'z-report',
          entrypoint: 'tick',
          expression: '* * * * *',
          timezone: null,
          nextRunAt: t0 + 60_000,
          lastRunAt: null,
          claimedBy: null,
          claimedAt: null,
        },
      ]);
      await repo.upsertSchedules([]);
      expect(await repo.listSchedules()).toHaveLength(2);
      expect(await repo.log()).toEqual([]);
    });

    it('replaces entrypoint, expression, timezone and nextRunAt, keeping lastRunAt and any claim', async () => {
      const { repo, clock, t0 } = t;
      await repo.upsertSchedules([schedule('s', t0, { timezone: 'UTC' })]);
      await repo.claimDueSchedules({ claimerId: 'c1', staleAfter: 60_000 });
      clock.advance(10);
      expect(await repo.markScheduleRun([{ name: 's', claimerId: 'c1', nextRunAt: t0 + 20 }])).toEqual([
        true,
      ]);
      clock.advance(10);
      await repo.claimDueSchedules({ claimerId: 'c2', staleAfter: 60_000 });
      await repo.upsertSchedules([
        schedule('s', t0 + 99_000, { entrypoint: 'other', expression: '*/5 * * * *' }),
      ]);
      expect(await repo.listSchedules()).toEqual([
        {
          name: 's',
          entrypoint: 'other',
          expression: '*/5 * * * *',
          timezone: null,
          nextRunAt: t0 + 99_000,
          lastRunAt: t0 + 10,
          claimedBy: 'c2',
          claimedAt: t0 + 20,
        },
      ]);
    });

    it('lists and claims in UTF-16 name order among equal nextRunAt', async () => {
      const { repo, t0 } = t;
      await repo.upsertSchedules([
        schedule('b', t0),
        schedule('B', t0),
        schedule('a', t0),
        schedule('_', t0),
      ]);
      expect((await repo.listSchedules()).map((s) => s.name)).toEqual(['B', '_', 'a', 'b']);
      const claimed = await repo.claimDueSchedules({ claimerId: 'c', staleAfter: 1000 });
      expect(claimed.map((s) => s.name)).toEqual(['B', '_', 'a', 'b']);
    });

    it('deletes schedules by name and returns how many existed', async () => {
      const { repo, t0 } = t;
      await repo.upsertSchedules([schedule('a', t0), schedule('b', t0), schedule('c', t0)]);
      expect(await repo.deleteSchedules(['c', 'nope', 'a'])).toBe(2);
      expect((await repo.listSchedules()).map((s) => s.name)).toEqual(['b']);
      expect(await repo.deleteSchedules(['a'])).toBe(0);
      expect(await repo.deleteSchedules([])).toBe(0);
    });

    it('claims due schedules ordered by nextRunAt then name, up to limit, and sets claimedBy/claimedAt', async () => {
      const { repo, t0 } = t;
      await repo.upsertSchedules([
        schedule('b', t0 - 10),
        schedule('a', t0 - 10),
        schedule('c', t0 - 20),
        schedule('d', t0 + 1),
        schedule('e', t0),
      ]);
      const first = await repo.claimDueSchedules({ claimerId: 'c1', staleAfter: 1000, limit: 2 });
      expect(first.map((s) => [s.name, s.claimedBy, s.claimedAt])).toEqual([
        ['c', 'c1', t0],
        ['a', 'c1', t0],
      ]);
      const rest = await repo.claimDueSchedules({ claimerId: 'c1', staleAfter: 1000 });
      expect(rest.map((s) => s.name)).toEqual(['b', 'e']);
      expect(await repo.claimDueSchedules({ claimerId: 'c2', staleAfter: 1000 })).toEqual([]);
      const listed = await repo.listSchedules();
      expect(listed.map((s) => [s.name, s.claimedBy])).toEqual([
        ['a', 'c1'],
        ['b', 'c1'],
        ['c', 'c1'],
        ['d', null],
        ['e', 'c1'],
      ]);
    });

    it('lets another claimer take a claim only once it is older than staleAfter, and ignores the old claimer afterwards', async () => {
      const { repo, clock, t0 } = t;
      await repo.upsertSchedules([schedule('s', t0)]);
      expect(await repo.claimDueSchedules({ claimerId: 'c1', staleAfter: 1000 })).toHaveLength(1);
      clock.advance(1000);
      expect(await repo.claimDueSchedules({ claimerId: 'c2', staleAfter: 1000 })).toEqual([]);
      clock.advance(1);
      expect(await repo.claimDueSchedules({ claimerId: 'c2', staleAfter: 1000 })).toMatchObject([
        { name: 's', claimedBy: 'c2', claimedAt: t0 + 1001 },
      ]);
      expect(await repo.markScheduleRun([{ name: 's', claimerId: 'c1', nextRunAt: t0 + 60_000 }])).toEqual([
        false,
      ]);
      expect(await repo.listSchedules()).toMatchObject([{ claimedBy: 'c2', lastRunAt: null, nextRunAt: t0 }]);
      expect(await repo.markScheduleRun([{ name: 's', claimerId: 'c2', nextRunAt: t0 + 60_000 }])).toEqual([
        true,
      ]);
    });

    it('gives each due schedule to exactly one of several concurrent claimers', async () => {
      const { repo, t0 } = t;
      const names = Array.from({ length: 12 }, (_, i) => `s${String(i).padStart(2, '0')}`);
      await repo.upsertSchedules(names.map((n) => schedule(n, t0)));
      const claims = await Promise.all(
        ['c1', 'c2', 'c3'].map((claimerId) => repo.claimDueSchedules({ claimerId, staleAfter: 60_000 })),
      );
      const claimed = claims.flatMap((list, i) => list.map((s) => [s.name, s.claimedBy, `c${i + 1}`]));
      expect(claimed.map(([n]) => n).sort()).toEqual(names);
      for (const [, by, caller] of claimed) expect(by).toBe(caller);
      const listed = await repo.listSchedules();
      for (const s of listed) expect(claimed).toContainEqual([s.name, s.claimedBy, s.claimedBy]);
    });

    it('markScheduleRun records the run and releases the claim; false for foreign, unclaimed and unknown schedules', async () => {
      const { repo, clock, t0 } = t;
      await repo.upsertSchedules([schedule('a', t0), schedule('b', t0 + 5000)]);
      await repo.claimDueSchedules({ claimerId: 'c1', staleAfter: 60_000 });
      clock.advance(250);
      expect(
        await repo.markScheduleRun([
          { name: 'a', claimerId: 'c2', nextRunAt: t0 + 1 },
          { name: 'b', claimerId: 'c1', nextRunAt: t0 + 1 },
          { name: 'zz', claimerId: 'c1', nextRunAt: t0 + 1 },
          { name: 'a', claimerId: 'c1', nextRunAt: t0 + 60_000 },
        ]),
      ).toEqual([false, false, false, true]);
      expect(await repo.listSchedules()).toMatchObject([
        { name: 'a', lastRunAt: t0 + 250, nextRunAt: t0 + 60_000, claimedBy: null, claimedAt: null },
        { name: 'b', lastRunAt: null, nextRunAt: t0 + 5000, claimedBy: null },
      ]);
      // The next tick is not due before its nextRunAt.
      expect(await repo.claimDueSchedules({ claimerId: 'c1', staleAfter: 60_000 })).toEqual([]);
      clock.set(t0 + 60_000);
      expect(
        (await repo.claimDueSchedules({ claimerId: 'c2', staleAfter: 60_000 })).map((s) => s.name),
      ).toEqual(['b', 'a']);
    });
  });
};
