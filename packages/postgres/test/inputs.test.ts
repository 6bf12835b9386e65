/**
 * Inputs that used to slip through to the wrong error on Postgres (#11 item 6): a fractional
 * clock value (floored, as the memory stores do), a channel with NUL and a pg_* schema
 * (INVALID_ARGUMENT naming the option, before anything reaches the server).
 */
import type { Clock } from '@tideq/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresQueue, pgPoolDriver } from '../src/index.ts';
import { createDatabase, url } from './helpers.ts';

const database = await createDatabase();
const pool = new pg.Pool({ connectionString: url(database), max: 2 });
afterAll(() => pool.end());

describe('inputs', () => {
  it('a fractional clock value is floored on every write, as in the memory stores', async () => {
    let t = 1_700_000_000_000.75;
    const clock: Clock = { now: () => t };
    const repo = createPostgresQueue({ driver: pgPoolDriver(pool), schema: 'frac', clock });
    await repo.install();
    const [a, b] = (await repo.enqueue([{ entrypoint: 'e' }, { entrypoint: 'e' }])) as number[];
    t += 10.5;
    const picked = await repo.dequeue({ batchSize: 2, entrypoints: { e: {} }, queueManagerId: 'm' });
    expect(picked.map((j) => [j.created, j.heartbeat])).toEqual([
      [1_700_000_000_000, 1_700_000_000_011],
      [1_700_000_000_000, 1_700_000_000_011],
    ]);
    t += 0.999;
    expect(await repo.heartbeat([a!])).toEqual([true]);
    expect(await repo.retry([{ id: b!, executeAfter: Math.floor(t), error: 'again' }])).toEqual([true]);
    expect(await repo.complete([{ id: a!, status: 'successful' }])).toEqual([true]);
    await repo.upsertSchedules([{ name: 's', entrypoint: 'e', expression: '* * * * *', nextRunAt: 0 }]);
    expect(await repo.claimDueSchedules({ claimerId: 'c', staleAfter: 1000 })).toHaveLength(1);
    const log = await repo.log({ limit: 100 });
    expect(log.every((e) => Number.isInteger(e.at))).toBe(true);
    await repo.close();
  });

  it('a channel containing NUL is INVALID_ARGUMENT naming the option', () => {
    let error: unknown;
    try {
      createPostgresQueue({ driver: pgPoolDriver(pool), channel: 'tideq\u0000x' });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((error as Error).message).toMatch(/^channel .*NUL/);
  });

  it('a schema starting with pg_ is INVALID_ARGUMENT naming the option (Postgres reserves them)', () => {
    let error: unknown;
    try {
      createPostgresQueue({ driver: pgPoolDriver(pool), schema: 'pg_jobs' });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((error as Error).message).toMatch(/^schema .*"pg_"/);
    // Only the lowercase prefix is reserved (names are quoted): PG_jobs is a valid schema.
    expect(() => createPostgresQueue({ driver: pgPoolDriver(pool), schema: 'PG_jobs' })).not.toThrow();
  });
});
