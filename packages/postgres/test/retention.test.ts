/**
 * Bounded growth on Postgres (issue #11 item 4): compaction also drops the final statuses of jobs
 * whose log rows are all gone (the `finished` table grew one row per job forever), and a
 * QueueManager's default retention compacts a busy store while it runs.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ManualClock, QueueManager } from '@tideq/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresQueue, pgPoolDriver } from '../src/index.ts';
import { createDatabase, url } from './helpers.ts';

const database = await createDatabase();
const pool = new pg.Pool({ connectionString: url(database), max: 4 });
afterAll(() => pool.end());

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** Log events, or final statuses kept: a row holds one statement's (migration 5). */
async function count(table: 'log' | 'finished', schema: string): Promise<number> {
  const column = table === 'log' ? 'job_id' : 'ids';
  const { rows } = await pool.query(
    `SELECT coalesce(sum(cardinality(${column})), 0)::int AS n FROM ${schema}.${table}`,
  );
  return rows[0].n as number;
}

describe('retention on Postgres', () => {
  it('compact drops the history of jobs that have no log row left, and keeps the rest', async () => {
    const schema = 'retention_history';
    const clock = new ManualClock(1_700_000_000_000);
    const repo = createPostgresQueue({ driver: pgPoolDriver(pool), schema, clock });
    await repo.install();
    const ids = (await repo.enqueue(Array.from({ length: 10 }, () => ({ entrypoint: 'a' })))) as number[];
    const picked = await repo.dequeue({ batchSize: 10, entrypoints: { a: {} }, queueManagerId: 'm' });
    await repo.complete(picked.map((j) => ({ id: j.id, status: 'successful' as const })));
    expect(await count('finished', schema)).toBe(10);
    // 30 rows; keep the newest 5: the completions of jobs 6..10
    expect(await repo.compact({ maxRecords: 5 })).toEqual({ removed: 25 });
    expect(await count('finished', schema)).toBe(5);
    expect(await repo.jobStatus(ids)).toEqual([...Array(5).fill(null), ...Array(5).fill('successful')]);
    await repo.compact({ maxRecords: 0 });
    expect(await count('finished', schema)).toBe(0);
    expect(await count('log', schema)).toBe(0);
    // held jobs are untouched
    const [held] = (await repo.enqueue([{ entrypoint: 'a' }])) as number[];
    await repo.compact({ maxRecords: 0 });
    expect(await repo.jobStatus([held!])).toEqual(['queued']);
    await repo.close();
  });

  // Also the race where a compaction's snapshot predates another's commit but it gets the lock
  // after it: it must not trim again the row the other one trimmed (before the fix: 27 of 60
  // rounds of 8 compactions cut the kept events).
  it('concurrent compactions (several processes) never deadlock: one does the work, the others skip', async () => {
    const schema = 'retention_race';
    const repos = Array.from({ length: 4 }, () =>
      createPostgresQueue({ driver: pgPoolDriver(pool), schema }),
    );
    await repos[0]!.install();
    for (let i = 0; i < 8; i++) {
      await repos[0]!.enqueue(Array.from({ length: 2000 }, () => ({ entrypoint: 'a' })));
      const results = await Promise.all(repos.map((r) => r.compact({ maxRecords: 10 })));
      expect(results.reduce((n, r) => n + r.removed, 0)).toBe(i === 0 ? 1990 : 2000);
      expect(await count('log', schema)).toBe(10);
    }
    await Promise.all(repos.map((r) => r.close()));
  }, 120_000);

  it("a QueueManager's default retention keeps the log and history bounded while it runs", async () => {
    const schema = 'retention_runtime';
    const repo = createPostgresQueue({ driver: pgPoolDriver(pool), schema });
    await repo.install();
    const jobs = 2000;
    await repo.enqueue(Array.from({ length: jobs }, () => ({ entrypoint: 'a' })));
    const qm = new QueueManager(repo, { logger: 'silent', retention: { maxRecords: 200 } }).entrypoint(
      'a',
      () => {},
    );
    await qm.run({ mode: 'drain', batchSize: 100 });
    await expect.poll(async () => (await repo.metrics()).compactions, { timeout: 10_000 }).toBeGreaterThan(0);
    await repo.compact({ maxRecords: 200 });
    expect(await count('log', schema)).toBe(200);
    expect(await count('finished', schema)).toBeLessThanOrEqual(200);
    await repo.close();
  }, 60_000);

  it('`tideq compact` compacts with the given retention (defaults: 100000 rows, 24 h) and checks its options', async () => {
    const schema = 'retention_cli';
    const repo = createPostgresQueue({ driver: pgPoolDriver(pool), schema });
    await repo.install();
    await repo.enqueue(Array.from({ length: 10 }, () => ({ entrypoint: 'a' })));
    await repo.close();
    const tideq = (...args: string[]) =>
      run(process.execPath, ['--conditions=source', '--import', 'tsx', cli, ...args, '--url', url(database)]);
    const { stdout } = await tideq('compact', '--schema', schema, '--max-records', '4', '--json');
    expect(JSON.parse(stdout)).toEqual({ removed: 6, maxRecords: 4, maxAge: 86_400_000 });
    expect(await count('log', schema)).toBe(4);
    expect((await tideq('compact', '--schema', schema)).stdout).toMatch(/dropped 0 log rows/);
    const bad = await tideq('compact', '--schema', schema, '--max-age', '1.5').then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toMatch(/--max-age takes a whole number/);
  }, 60_000);
});
