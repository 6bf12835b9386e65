/**
 * Round trips of a batch lifecycle (issue #17 item 3): over Neon HTTP every statement is a
 * network round trip, so enqueue, dequeue and complete of a batch must each stay ONE statement
 * whatever the batch size. Counted on each driver by wrapping its query function.
 */

import { afterAll, describe, expect, it } from 'vitest';
import type { SqlDriver } from '../src/index.ts';
import { createPostgresQueue } from '../src/index.ts';
import { createDatabase, type DriverKind, makeDriver } from './helpers.ts';

const database = await createDatabase();

/** The driver with a counter of the statements sent through it. */
function counting(driver: SqlDriver): { driver: SqlDriver; count: () => number } {
  let n = 0;
  const wrapped: SqlDriver = {
    name: driver.name,
    query: (text, params, options) => {
      n++;
      return driver.query(text, params, options);
    },
    ...(driver.listen ? { listen: driver.listen.bind(driver) } : {}),
    ...(driver.check ? { check: driver.check.bind(driver) } : {}),
  };
  return { driver: wrapped, count: () => n };
}

describe.each<DriverKind>(['pg', 'neon-ws', 'neon-http'])('statements per batch lifecycle (%s)', (kind) => {
  const handle = makeDriver(kind, database);
  afterAll(() => handle.close());

  it.each([1, 100])('enqueue, dequeue and complete of a batch of %i: one statement each', async (size) => {
    const { driver, count } = counting(handle.driver);
    const entrypoint = `ep_${kind}_${size}`;
    const repo = createPostgresQueue({ driver });
    await repo.queueSize(); // the one-time readiness check (driver check, schema version)
    const steps: Record<string, number> = {};
    const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      const before = count();
      const out = await run();
      steps[name] = count() - before;
      return out;
    };
    const ids = await step('enqueue', () =>
      repo.enqueue(
        Array.from({ length: size }, (_, i) => ({ entrypoint, payload: new Uint8Array([i % 256]) })),
      ),
    );
    expect(ids).toHaveLength(size);
    const jobs = await step('dequeue', () =>
      repo.dequeue({ batchSize: size, entrypoints: { [entrypoint]: {} }, queueManagerId: `m_${kind}` }),
    );
    expect(jobs).toHaveLength(size);
    const done = await step('complete', () =>
      repo.complete(
        jobs.map((j) => ({ id: j.id, status: 'successful' as const })),
        { queueManagerId: `m_${kind}` },
      ),
    );
    expect(done).toEqual(jobs.map(() => true));
    expect(steps).toEqual({ enqueue: 1, dequeue: 1, complete: 1 });
    expect(await repo.jobStatus(ids as number[])).toEqual(ids.map(() => 'successful'));
    await repo.close();
  });
});
