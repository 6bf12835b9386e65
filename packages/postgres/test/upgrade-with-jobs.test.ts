/**
 * Upgrading an installation WITH JOBS IN IT (issue #17): schema version 3 (one log row and one
 * `finished` row per job) is written by version 3's own statements (test/fixtures/v3, copied from
 * the commit before migration 4; its dequeue is the function migration 3 installs), then
 * upgraded; the jobs in every state finish under the new code with their log, statuses,
 * statistics, dedupe keys and fencing intact.
 */
import { readFileSync } from 'node:fs';
import { ManualClock } from '@tideq/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresQueue, installUpTo, pgPoolDriver, renderSql, SCHEMA_VERSION } from '../src/index.ts';
import { createDatabase, url } from './helpers.ts';

const V3_ENQUEUE = readFileSync(new URL('./fixtures/v3/enqueue.sql', import.meta.url), 'utf8');
const V3_COMPLETE = readFileSync(new URL('./fixtures/v3/complete.sql', import.meta.url), 'utf8');

const database = await createDatabase({ fromTemplate: false });
const pool = new pg.Pool({ connectionString: url(database), max: 4 });
afterAll(() => pool.end());

describe('upgrade from schema version 3 with jobs in it', () => {
  it('queued, picked, failed and finished jobs keep their log, statuses, statistics, keys and fences', async () => {
    const config = { schema: 'upgrade_jobs', tablePrefix: 'q_' };
    const driver = pgPoolDriver(pool);
    await installUpTo(driver, config, 3);
    const t0 = 1_700_000_000_000;
    const channel = 'tideq_upgrade_jobs_q_';
    const v3Enqueue = (entrypoints: string[], dedupe: (string | null)[], now: number) =>
      pool.query(renderSql(V3_ENQUEUE, config), [
        entrypoints,
        entrypoints.map(() => null),
        entrypoints.map(() => 0),
        entrypoints.map(() => null),
        dedupe.map((k) => (k === null ? null : JSON.stringify(k))),
        entrypoints.map(() => null),
        now,
        false,
        channel,
        Buffer.alloc(0),
      ]);
    // Five jobs; job 5 holds the dedupe key "k".
    await v3Enqueue(['a', 'a', 'a', 'a', 'a'], [null, null, null, null, 'k'], t0);
    // Version 3's dequeue function picks jobs 1..3 for manager m1.
    const picked = await pool.query(
      `SELECT id FROM upgrade_jobs.q_dequeue($1, 3, 'm1', 100, '{a}', '{0}', '{0}', '{0}', '{0}', $2)`,
      [t0 + 10, channel],
    );
    expect(picked.rows.map((r) => Number(r.id))).toEqual([1, 2, 3]);
    // Job 1 succeeds, job 2 becomes a dead letter, job 3 stays picked by m1.
    await pool.query(renderSql(V3_COMPLETE, config), [
      [1, 2],
      ['successful', 'failed'],
      [null, JSON.stringify('boom')],
      t0 + 20,
      channel,
      'm1',
    ]);
    const { rows: oldLog } = await pool.query('SELECT * FROM upgrade_jobs.q_log ORDER BY seq');
    expect(oldLog).toHaveLength(5 + 3 + 2);

    const clock = new ManualClock(t0 + 30);
    const repo = createPostgresQueue({ driver, ...config, clock });
    await expect(repo.jobStatus([1])).rejects.toMatchObject({ code: 'SCHEMA_OUTDATED' });
    await repo.upgrade();
    expect(await repo.verify()).toMatchObject({ version: SCHEMA_VERSION, current: true, problems: [] });

    // The log reads back event for event, seqs included.
    expect(await repo.log()).toEqual(
      oldLog.map((r) => ({
        seq: Number(r.seq),
        kind: r.kind,
        jobId: Number(r.job_id),
        entrypoint: r.entrypoint,
        priority: r.priority,
        status: r.status,
        at: Number(r.at),
        queueManagerId: r.queue_manager_id,
        error: r.error === null ? null : JSON.parse(r.error),
      })),
    );
    expect(await repo.jobStatus([1, 2, 3, 4, 5, 6])).toEqual([
      'successful',
      'failed',
      'picked',
      'queued',
      'queued',
      null,
    ]);
    // The dedupe key of the queued job 5 is still held.
    await expect(repo.enqueue([{ entrypoint: 'a', dedupeKey: 'k' }])).rejects.toMatchObject({
      code: 'DUPLICATE_JOB',
    });
    // The fence still holds: another manager cannot finish m1's job.
    expect(await repo.complete([{ id: 3, status: 'successful' }], { queueManagerId: 'm2' })).toEqual([false]);
    expect(await repo.complete([{ id: 3, status: 'successful' }], { queueManagerId: 'm1' })).toEqual([true]);
    const rest = await repo.dequeue({ batchSize: 10, entrypoints: { a: {} }, queueManagerId: 'm2' });
    expect(rest.map((j) => j.id)).toEqual([4, 5]);
    expect(
      await repo.complete(
        [
          { id: 4, status: 'successful' },
          { id: 5, status: 'exception', error: 'x' },
        ],
        { queueManagerId: 'm2' },
      ),
    ).toEqual([true, true]);
    expect(await repo.requeue([2])).toEqual([true]);
    expect(await repo.cancel([2])).toEqual([true]);
    expect(await repo.jobStatus([1, 2, 3, 4, 5])).toEqual([
      'successful',
      'canceled',
      'successful',
      'successful',
      'exception',
    ]);
    // The key was freed when job 5 finished.
    expect(await repo.enqueue([{ entrypoint: 'a', dedupeKey: 'k' }])).toEqual([6]);

    // New events continue the old seqs without a gap, in commit order.
    const log = await repo.log();
    expect(log.map((e) => e.seq)).toEqual(Array.from({ length: log.length }, (_, i) => i + 1));
    expect(log.slice(oldLog.length).map((e) => [e.kind, e.jobId, e.status])).toEqual([
      ['completed', 3, 'successful'],
      ['picked', 4, 'picked'],
      ['picked', 5, 'picked'],
      ['completed', 4, 'successful'],
      ['completed', 5, 'exception'],
      ['requeued', 2, 'queued'],
      ['cancelled', 2, 'canceled'],
      ['enqueued', 6, 'queued'],
    ]);
    // Statistics: the old increments and the new ones add up exactly.
    const stats = await repo.statistics({ since: 0 });
    const total = (status: string) =>
      stats.filter((s) => s.status === status).reduce((n, s) => n + s.count, 0);
    expect([total('successful'), total('failed'), total('exception'), total('canceled')]).toEqual([
      3, 1, 1, 1,
    ]);
    // Compaction across old (one event) and new (one statement) rows keeps exactly the newest.
    expect(await repo.compact({ maxRecords: 3 })).toEqual({ removed: log.length - 3 });
    expect(await repo.log()).toEqual(log.slice(-3));
    expect(await repo.jobStatus([2, 6])).toEqual(['canceled', 'queued']);
    await repo.close();
  });
});
