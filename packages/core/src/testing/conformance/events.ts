import { describe, expect, it, vi } from 'vitest';
import type { EventListener, QueueRepository } from '../../port.js';
import type { JobEvent } from '../../types.js';
import {
  dequeue,
  enqueueIds,
  expectCode,
  job,
  type ScenarioGroup,
  useRepository,
  waitUntil,
} from './harness.js';

interface Recorder {
  events: JobEvent[];
  batches: number;
  listener: EventListener;
}

function recorder(): Recorder {
  const r: Recorder = {
    events: [],
    batches: 0,
    listener: (batch) => {
      r.batches++;
      r.events.push(...batch);
    },
  };
  return r;
}

/** Enqueue one more job and wait until `r` saw its event: everything committed before has then arrived. */
async function settle(repo: QueueRepository, r: Recorder, timeout: number): Promise<number> {
  const [id] = await enqueueIds(repo, [job('sentinel')]);
  await waitUntil(() => r.events.some((e) => e.jobId === id), timeout, `the event of job ${id}`);
  return id!;
}

export const eventScenarios: ScenarioGroup = (factory, options) => {
  describe('events', () => {
    const t = useRepository(factory, options);
    const wait = options.eventTimeout;

    it('delivers every event once, in commit order, matching the log rows', async () => {
      const { repo } = t;
      const r = recorder();
      const unsubscribe = await repo.subscribe(r.listener);
      await enqueueIds(repo, [job(), job(), job()]);
      await dequeue(repo, { batchSize: 2 });
      await repo.complete([{ id: 1, status: 'successful' }]);
      await repo.cancel([3]);
      await settle(repo, r, wait);
      expect(r.events).toEqual(await repo.log());
      expect(r.events.map((e) => e.kind)).toEqual([
        'enqueued',
        'enqueued',
        'enqueued',
        'picked',
        'picked',
        'completed',
        'cancelled',
        'enqueued',
      ]);
      await unsubscribe();
    });

    it('delivers asynchronously, never inside the call that committed the events', async () => {
      const { repo } = t;
      const r = recorder();
      const unsubscribe = await repo.subscribe(r.listener);
      const pending = repo.enqueue([job()]);
      // The listener must not have run synchronously from within enqueue.
      expect(r.events).toEqual([]);
      await pending;
      await waitUntil(() => r.events.length === 1, wait, 'the enqueued event');
      expect(r.events[0]).toMatchObject({ kind: 'enqueued', jobId: 1 });
      await unsubscribe();
    });

    it('gives each of two subscribers every event exactly once', async () => {
      const { repo } = t;
      const r1 = recorder();
      const r2 = recorder();
      const u1 = await repo.subscribe(r1.listener);
      const u2 = await repo.subscribe(r2.listener);
      await enqueueIds(repo, [job(), job()]);
      await dequeue(repo);
      await Promise.all([repo.heartbeat([1]), repo.complete([{ id: 2, status: 'exception', error: 'x' }])]);
      await settle(repo, r1, wait);
      await waitUntil(() => r2.events.length === r1.events.length, wait, 'the second subscriber');
      const log = await repo.log();
      expect(r1.events).toEqual(log);
      expect(r2.events).toEqual(log);
      expect(new Set(r1.events.map((e) => e.seq)).size).toBe(r1.events.length);
      await u1();
      await u2();
    });

    it('replays retained rows with seq > after first, then live events', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job(), job(), job()]);
      const log = await repo.log();
      const r = recorder();
      const unsubscribe = await repo.subscribe(r.listener, { after: log[0]!.seq });
      await enqueueIds(repo, [job()]);
      await waitUntil(() => r.events.length >= 3, wait, 'replayed and live events');
      await settle(repo, r, wait);
      expect(r.events.map((e) => e.jobId)).toEqual([2, 3, 4, 5]);
      expect(r.events.slice(0, 2)).toEqual(log.slice(1));
      await unsubscribe();
    });

    it('replays the whole retained log with after: 0, and only new events without after', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job(), job()]);
      const all = recorder();
      const fresh = recorder();
      const u1 = await repo.subscribe(all.listener, { after: 0 });
      const u2 = await repo.subscribe(fresh.listener);
      await settle(repo, all, wait);
      await waitUntil(() => fresh.events.length >= 1, wait, 'the live event');
      expect(all.events.map((e) => e.jobId)).toEqual([1, 2, 3]);
      expect(fresh.events.map((e) => e.jobId)).toEqual([3]);
      await u1();
      await u2();
    });

    it('delivers only new events when after is at or beyond the last seq', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job()]);
      const last = (await repo.log()).at(-1)!.seq;
      const r = recorder();
      const unsubscribe = await repo.subscribe(r.listener, { after: last });
      await settle(repo, r, wait);
      expect(r.events.map((e) => e.jobId)).toEqual([2]);
      await unsubscribe();
    });

    it('delivers only the requested kinds, in seq order, replay included', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job(), job(), job()]);
      await dequeue(repo, { batchSize: 2 });
      const some = recorder();
      const picks = recorder();
      const everything = recorder();
      const u1 = await repo.subscribe(some.listener, { kinds: ['enqueued', 'completed', 'cancelled'] });
      const u2 = await repo.subscribe(picks.listener, { kinds: ['picked'], after: 0 });
      const u3 = await repo.subscribe(everything.listener);
      await repo.complete([{ id: 1, status: 'successful' }]);
      await repo.cancel([3]);
      await settle(repo, some, wait);
      await enqueueIds(repo, [job()]);
      await dequeue(repo, { batchSize: 5 });
      await settle(repo, everything, wait);
      const log = await repo.log();
      const after = everything.events[0]!.seq - 1;
      const wanted = new Set(['enqueued', 'completed', 'cancelled']);
      expect(some.events).toEqual(log.filter((e) => e.seq > after && wanted.has(e.kind)));
      expect(some.events.map((e) => e.kind)).toEqual([
        'completed',
        'cancelled',
        'enqueued',
        'enqueued',
        'enqueued',
      ]);
      await waitUntil(() => picks.events.length >= 3, wait, 'the picked events');
      expect(picks.events).toEqual(log.filter((e) => e.kind === 'picked'));
      expect(picks.batches).toBeLessThanOrEqual(picks.events.length);
      await u1();
      await u2();
      await u3();
    });

    it('rejects unknown event kinds in subscribe', async () => {
      const { repo } = t;
      await expectCode(
        repo.subscribe(() => {}, { kinds: ['finished' as never] }),
        'INVALID_ARGUMENT',
      );
      await expectCode(
        repo.subscribe(() => {}, { kinds: 'enqueued' as never }),
        'INVALID_ARGUMENT',
      );
    });

    it('stops delivery once unsubscribe resolves', async () => {
      const { repo } = t;
      const gone = recorder();
      const stay = recorder();
      const u1 = await repo.subscribe(gone.listener);
      const u2 = await repo.subscribe(stay.listener);
      await settle(repo, gone, wait);
      await u1();
      const seen = gone.events.length;
      await enqueueIds(repo, [job(), job()]);
      await settle(repo, stay, wait);
      expect(stay.events.map((e) => e.jobId)).toEqual([1, 2, 3, 4]);
      expect(gone.events).toHaveLength(seen);
      await u2();
    });

    it('reports a throwing listener, keeps its subscription and leaves the store working', async () => {
      const { repo } = t;
      const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
      try {
        const seen: number[] = [];
        const u1 = await repo.subscribe((batch) => {
          seen.push(...batch.map((e) => e.jobId));
          throw new Error('listener bug');
        });
        const r = recorder();
        const u2 = await repo.subscribe(r.listener);
        await enqueueIds(repo, [job()]);
        await waitUntil(() => seen.includes(1), wait, 'the first event');
        await settle(repo, r, wait);
        await waitUntil(() => seen.includes(2), wait, 'the event after the throw');
        expect(seen).toEqual([1, 2]);
        expect(r.events.map((e) => e.jobId)).toEqual([1, 2]);
        expect(spy).toHaveBeenCalled();
        expect(await dequeue(repo, { entrypoints: { a: {}, sentinel: {} } })).toHaveLength(2);
        await u1();
        await u2();
      } finally {
        spy.mockRestore();
      }
    });
  });
};
