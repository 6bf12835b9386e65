import { ManualClock } from '@tideq/core';
import { describe, expect, it } from 'vitest';
import { conformanceFactory, type DriverKind } from './helpers.ts';

for (const kind of ['pg', 'neon-ws', 'neon-http'] as DriverKind[]) {
  describe(`smoke ${kind}`, async () => {
    const factory = await conformanceFactory(kind);
    it('enqueue, dequeue, complete', async () => {
      const clock = new ManualClock();
      const repo = await factory({ clock });
      const ids = await repo.enqueue([
        { entrypoint: 'a', payload: Uint8Array.from([1, 2]), dedupeKey: 'k', headers: { b: 1, a: 'x' } },
        { entrypoint: 'a', priority: 5 },
      ]);
      expect(ids).toEqual([1, 2]);
      const jobs = await repo.dequeue({ batchSize: 10, entrypoints: { a: {} }, queueManagerId: 'm1' });
      expect(jobs.map((j) => j.id)).toEqual([2, 1]);
      expect(jobs[1]!.payload).toEqual(Uint8Array.from([1, 2]));
      expect(jobs[1]!.dedupeKey).toBe('k');
      expect(
        await repo.complete([
          { id: 1, status: 'successful' },
          { id: 2, status: 'failed', error: 'x' },
        ]),
      ).toEqual([true, true]);
      expect(await repo.jobStatus([1, 2, 3])).toEqual(['successful', 'failed', null]);
      expect((await repo.log()).map((e) => e.kind)).toEqual([
        'enqueued',
        'enqueued',
        'picked',
        'picked',
        'completed',
        'failed',
      ]);
      await repo.close();
    });
  });
}
