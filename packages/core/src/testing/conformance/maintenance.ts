import { describe, expect, it } from 'vitest';
import type { QueueRepository } from '../../port.js';
import { dumpRepository } from '../dump.js';
import {
  allLog,
  dequeue,
  enqueueIds,
  expectCode,
  job,
  type ScenarioGroup,
  useRepository,
} from './harness.js';

/** Every port method except install, upgrade, verify and close, called with valid arguments. */
function callsWhileUninstalled(repo: QueueRepository, now: number): [string, () => Promise<unknown>][] {
  return [
    ['enqueue', () => repo.enqueue([job()])],
    ['dequeue', () => dequeue(repo)],
    ['complete', () => repo.complete([{ id: 1, status: 'successful' }])],
    ['retry', () => repo.retry([{ id: 1, executeAfter: now }])],
    ['requeue', () => repo.requeue([1])],
    ['heartbeat', () => repo.heartbeat([1])],
    ['cancel', () => repo.cancel([1])],
    ['clear', () => repo.clear()],
    ['jobStatus', () => repo.jobStatus([1])],
    ['getJobs', () => repo.getJobs([1])],
    ['queueSize', () => repo.queueSize()],
    ['failedJobs', () => repo.failedJobs()],
    ['log', () => repo.log()],
    ['statistics', () => repo.statistics()],
    ['nextDueAt', () => repo.nextDueAt(['a'])],
    [
      'upsertSchedules',
      () => repo.upsertSchedules([{ name: 's', entrypoint: 'a', expression: '* * * * *', nextRunAt: now }]),
    ],
    ['claimDueSchedules', () => repo.claimDueSchedules({ claimerId: 'c', staleAfter: 1000 })],
    ['markScheduleRun', () => repo.markScheduleRun([{ name: 's', claimerId: 'c', nextRunAt: now }])],
    ['deleteSchedules', () => repo.deleteSchedules(['s'])],
    ['listSchedules', () => repo.listSchedules()],
    ['subscribe', () => repo.subscribe(() => {})],
    ['uninstall', () => repo.uninstall()],
    ['scan', () => repo.scan({ staleAfter: 1000 })],
    ['recover', () => repo.recover({ staleAfter: 1000 })],
    ['compact', () => repo.compact({ maxRecords: 10 })],
    ['metrics', () => repo.metrics()],
    ['resetMetrics', () => repo.resetMetrics()],
  ];
}

export const maintenanceScenarios: ScenarioGroup = (factory, options) => {
  describe('install, verify, uninstall', () => {
    const t = useRepository(factory, options);

    it('verify reports a fresh store as installed and current', async () => {
      const report = await t.repo.verify();
      expect(report).toEqual({
        installed: true,
        version: report.expectedVersion,
        expectedVersion: report.expectedVersion,
        current: true,
        problems: [],
      });
      expect(Number.isSafeInteger(report.expectedVersion) && report.expectedVersion >= 1).toBe(true);
    });

    it('install and upgrade are idempotent on an installed store and keep its data', async () => {
      const { repo } = t;
      await enqueueIds(repo, [job('a', { dedupeKey: 'k' })]);
      await dequeue(repo);
      const before = await dumpRepository(repo);
      await repo.install();
      await repo.upgrade();
      await repo.install();
      expect(await dumpRepository(repo)).toEqual(before);
      expect((await repo.verify()).current).toBe(true);
    });

    it('rejects every method but install, verify and close with NOT_INSTALLED after uninstall', async () => {
      const { repo, t0 } = t;
      await enqueueIds(repo, [job()]);
      await repo.uninstall();
      expect(await repo.verify()).toMatchObject({ installed: false, version: null, current: false });
      for (const [name, call] of callsWhileUninstalled(repo, t0)) {
        const error = await expectCode(call(), 'NOT_INSTALLED').catch((e: Error) => {
          throw new Error(`${name}: ${e.message}`);
        });
        expect(error.message.length, name).toBeGreaterThan(0);
      }
    });

    it('starts fresh after uninstall and install: empty, ids from 1, no schedules, no history', async () => {
      const { repo, t0 } = t;
      await enqueueIds(repo, [job(), job()]);
      await dequeue(repo);
      await repo.complete([{ id: 1, status: 'successful' }]);
      await repo.upsertSchedules([{ name: 's', entrypoint: 'a', expression: '* * * * *', nextRunAt: t0 }]);
      await repo.uninstall();
      await repo.install();
      expect((await repo.verify()).current).toBe(true);
      expect(await repo.jobStatus([1, 2])).toEqual([null, null]);
      expect(await dumpRepository(repo)).toEqual({
        maxId: 0,
        queueSize: [],
        jobs: [],
        statuses: [],
        log: [],
        statistics: [],
        failedJobs: [],
        schedules: [],
      });
      expect(await repo.enqueue([job()])).toEqual([1]);
    });
  });

  describe('scan, recover, compact, metrics', () => {
    const t = useRepository(factory, options);

    it('scan finds stale picked jobs of any entrypoint (strictly older), reads only, and counts a scan', async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job('b'), job('a'), job('a'), job('c')]);
      await dequeue(repo, { entrypoints: { a: {}, b: {} } });
      clock.advance(500);
      await repo.heartbeat([3]);
      clock.advance(500);
      await repo.resetMetrics();
      const before = await dumpRepository(repo);
      expect(await repo.scan({ staleAfter: 1000 })).toEqual({
        stalePicked: [],
        orphans: [],
        logBeyondRetention: 0,
      });
      clock.advance(1);
      expect(await repo.scan({ staleAfter: 1000 })).toEqual({
        stalePicked: [1, 2],
        orphans: [],
        logBeyondRetention: 0,
      });
      expect(await repo.scan({ staleAfter: 400 })).toMatchObject({ stalePicked: [1, 2, 3] });
      expect(await dumpRepository(repo)).toEqual(before);
      expect((await repo.metrics()).scans).toBe(3);
    });

    it('recover requeues stale picked jobs (attempts kept, requeued event) and counts recoveries', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job('a'), job('b'), job('a')]);
      await dequeue(repo, { batchSize: 2, entrypoints: { a: {}, b: {} } });
      clock.advance(2000);
      await repo.resetMetrics();
      const seq = (await repo.log()).at(-1)!.seq;
      expect(await repo.recover({ staleAfter: 1000 })).toEqual([1, 2]);
      expect(await repo.getJobs([1, 2])).toMatchObject([
        { status: 'queued', attempts: 1, queueManagerId: null },
        { status: 'queued', attempts: 1, queueManagerId: null },
      ]);
      expect((await repo.log({ after: seq })).map((e) => [e.kind, e.jobId, e.status, e.at])).toEqual([
        ['requeued', 1, 'queued', t0 + 2000],
        ['requeued', 2, 'queued', t0 + 2000],
      ]);
      expect((await repo.metrics()).recoveries).toBe(2);
      expect(await repo.recover({ staleAfter: 1000 })).toEqual([]);
      expect(await dequeue(repo)).toMatchObject([
        { id: 1, attempts: 2 },
        { id: 3, attempts: 1 },
      ]);
    });

    it('compact with maxRecords keeps the newest rows, returns the removed count and counts it in metrics', async () => {
      const { repo } = t;
      await enqueueIds(
        repo,
        Array.from({ length: 10 }, () => job()),
      );
      await dequeue(repo, { batchSize: 5 });
      const log = await allLog(repo);
      expect(log).toHaveLength(15);
      await repo.resetMetrics();
      expect(await repo.scan({ staleAfter: 1000, retention: { maxRecords: 4 } })).toMatchObject({
        logBeyondRetention: 11,
      });
      expect(await repo.compact({ maxRecords: 4 })).toEqual({ removed: 11 });
      expect(await repo.log()).toEqual(log.slice(11));
      expect(await repo.log({ after: 0, limit: 2 })).toEqual(log.slice(11, 13));
      expect(await repo.compact({ maxRecords: 4 })).toEqual({ removed: 0 });
      const metrics = await repo.metrics();
      expect(metrics.compactions).toBe(2);
      expect(metrics.compactedRecords).toBe(11);
      // Jobs are untouched by compaction.
      expect(await repo.queueSize()).toEqual([
        { entrypoint: 'a', status: 'queued', priority: 0, count: 5 },
        { entrypoint: 'a', status: 'picked', priority: 0, count: 5 },
      ]);
    });

    it('compact with maxAge drops older log rows and statistics buckets', async () => {
      const { repo, clock, t0 } = t;
      await enqueueIds(repo, [job(), job()]);
      await repo.complete([{ id: 1, status: 'successful' }]);
      clock.advance(5000);
      await repo.complete([{ id: 2, status: 'successful' }]);
      clock.advance(1000);
      // now = t0 + 6000: rows at t0 are older than maxAge 3000, the row at t0 + 5000 is not.
      expect(await repo.scan({ staleAfter: 1000, retention: { maxAge: 3000 } })).toMatchObject({
        logBeyondRetention: 3,
      });
      expect(await repo.compact({ maxAge: 3000 })).toEqual({ removed: 3 });
      expect((await repo.log()).map((e) => [e.kind, e.jobId, e.at])).toEqual([['completed', 2, t0 + 5000]]);
      expect(await repo.statistics()).toEqual([
        { entrypoint: 'a', status: 'successful', priority: 0, second: t0 + 5000, count: 1 },
      ]);
      expect((await repo.metrics()).compactedRecords).toBe(3);
    });

    it('compact forgets the statuses of ids older than every retained row and every held job', async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job(), job(), job(), job()]);
      await repo.complete([1, 2, 4].map((id) => ({ id, status: 'successful' as const })));
      await repo.cancel([3]);
      clock.advance(10);
      await enqueueIds(repo, [job()]);
      // Job 1's rows go; job 2's completion row stays (maxRecords 4 keeps the newest 4 of 9).
      expect(await repo.compact({ maxRecords: 4 })).toEqual({ removed: 5 });
      expect((await repo.log()).map((e) => e.jobId)).toEqual([2, 4, 3, 5]);
      expect(await repo.jobStatus([1, 2, 3, 4, 5, 6])).toEqual([
        null,
        'successful',
        'canceled',
        'successful',
        'queued',
        null,
      ]);
      // Only job 5 (held) and its row remain: everything older is forgotten.
      expect(await repo.compact({ maxRecords: 1 })).toEqual({ removed: 3 });
      expect(await repo.jobStatus([2, 3, 4, 5])).toEqual([null, null, null, 'queued']);
      await repo.complete([{ id: 5, status: 'successful' }]);
      expect(await repo.jobStatus([5])).toEqual(['successful']);
    });

    it('compact applies maxAge and maxRecords together, and a later subscriber replays only retained rows', async () => {
      const { repo, clock } = t;
      await enqueueIds(repo, [job(), job(), job()]);
      clock.advance(10_000);
      await enqueueIds(repo, [job(), job(), job()]);
      expect(await repo.compact({ maxAge: 5000, maxRecords: 2 })).toEqual({ removed: 4 });
      expect((await repo.log()).map((e) => e.jobId)).toEqual([5, 6]);
      const seen: number[] = [];
      const unsubscribe = await repo.subscribe((batch) => seen.push(...batch.map((e) => e.jobId)), {
        after: 0,
      });
      const deadline = Date.now() + options.eventTimeout;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      expect(seen).toEqual([5, 6]);
      await unsubscribe();
    });

    it('counts calls, errors, records and bytes by the metrics rules of @tideq/core/adapter, exactly', async () => {
      const { repo, clock, t0 } = t;
      await repo.resetMetrics();
      // '{"k":"ü€"}' is 10 UTF-16 units but 13 UTF-8 bytes: bytesWritten counts UTF-8.
      const headers = { k: 'ü€' };
      const [a, b, c, d] = await enqueueIds(repo, [
        job('a', { payload: new Uint8Array(100), headers }),
        job(),
        job(),
        job(),
      ]); // 4 rows x 2
      await expectCode(repo.enqueue([{ entrypoint: '' }]), 'INVALID_ARGUMENT'); // nothing written
      await expectCode(dequeue(repo, { batchSize: 0 }), 'INVALID_ARGUMENT');
      expect(await dequeue(repo, { batchSize: 3 })).toHaveLength(3); // 3 x 2
      expect(await repo.heartbeat([a!, b!, 999])).toEqual([true, true, false]); // 2 x 1
      expect(
        await repo.complete([
          { id: a!, status: 'successful' },
          { id: b!, status: 'failed', error: 'x' },
          { id: 999, status: 'successful' },
        ]),
      ).toEqual([true, true, false]); // completed 3 + failed 3
      expect(await repo.retry([{ id: c!, executeAfter: t0 }])).toEqual([true]); // 2
      expect(await repo.requeue([b!])).toEqual([true]); // 2
      expect(await repo.cancel([d!])).toEqual([true]); // 3
      expect(await repo.clear()).toBe(2); // 2 x 3
      await repo.upsertSchedules([
        { name: 's1', entrypoint: 'a', expression: '* * * * *', nextRunAt: t0 },
        { name: 's2', entrypoint: 'a', expression: '* * * * *', nextRunAt: t0 },
      ]); // 2
      expect(await repo.claimDueSchedules({ claimerId: 'c', staleAfter: 60_000 })).toHaveLength(2); // 2
      expect(await repo.markScheduleRun([{ name: 's1', claimerId: 'c', nextRunAt: t0 + 60_000 }])).toEqual([
        true,
      ]); // 1
      expect(await repo.deleteSchedules(['s1', 's2', 'none'])).toBe(2); // 2
      const [e] = await enqueueIds(repo, [job()]); // 2
      expect(await dequeue(repo)).toHaveLength(1); // 2
      clock.advance(5000);
      expect(await repo.recover({ staleAfter: 1000 })).toEqual([e]); // 2
      await repo.scan({ staleAfter: 1000 });
      // 17 log rows so far: compacting to 5 drops 12.
      expect(await repo.compact({ maxRecords: 5 })).toEqual({ removed: 12 });
      const m = await repo.metrics();
      expect({ ...m, ops: undefined }).toEqual({
        recordsWritten: 8 + 6 + 2 + 6 + 2 + 2 + 3 + 6 + 2 + 2 + 1 + 2 + 2 + 2 + 2,
        bytesWritten: 100 + 13,
        scans: 1,
        recoveries: 1,
        compactions: 1,
        compactedRecords: 12,
        errors: 2,
        ops: undefined,
      });
      // Every call counted once, at its start (so metrics() sees itself); resetMetrics zeroed its own.
      const calls = Object.fromEntries(
        Object.entries(m.ops)
          .filter(([, op]) => op.count > 0)
          .map(([name, op]) => [name, [op.count, op.errors]]),
      );
      expect(calls).toEqual({
        enqueue: [3, 1],
        dequeue: [3, 1],
        heartbeat: [1, 0],
        complete: [1, 0],
        retry: [1, 0],
        requeue: [1, 0],
        cancel: [1, 0],
        clear: [1, 0],
        upsertSchedules: [1, 0],
        claimDueSchedules: [1, 0],
        markScheduleRun: [1, 0],
        deleteSchedules: [1, 0],
        recover: [1, 0],
        scan: [1, 0],
        compact: [1, 0],
        metrics: [1, 0],
      });
      for (const op of Object.values(m.ops)) expect(op.maxMs).toBeLessThanOrEqual(op.totalMs);
      await repo.scan({ staleAfter: 0 });
      await repo.compact({ maxRecords: 0 });
      await repo.resetMetrics();
      expect(await repo.metrics()).toMatchObject({
        recordsWritten: 0,
        bytesWritten: 0,
        scans: 0,
        recoveries: 0,
        compactions: 0,
        compactedRecords: 0,
        errors: 0,
      });
    });
  });
};
