/**
 * EXPLAIN (ANALYZE, BUFFERS) of the statements a QueueManager runs per batch of 25: complete, and
 * the dequeue function's inner statements (auto_explain, nested). One-off diagnostics.
 *
 *   tsx --conditions=source bench/postgres/explain.ts
 */
import { createPostgresQueue, pgClientDriver } from '@tideq/postgres';
import pg from 'pg';
import { renderQueries, resolveSchemaConfig } from '../../packages/postgres/src/sql.ts';
import { startCluster } from '../../packages/postgres/test/infra/cluster.ts';

async function main(): Promise<void> {
  const cluster = await startCluster();
  const client = new pg.Client({ connectionString: cluster.url() });
  await client.connect();
  try {
    const queue = createPostgresQueue({ driver: pgClientDriver(client), listen: false });
    await queue.install();
    for (let i = 0; i < 20; i++)
      await queue.enqueue(
        Array.from({ length: 1000 }, () => ({ entrypoint: 'noop', payload: new Uint8Array(8) })),
      );
    await client.query('ANALYZE');
    const q = renderQueries(resolveSchemaConfig({}));
    if (process.argv.includes('--timing')) {
      // Per-call latency over one connection, uncontended: round 1 plans, later ones reuse.
      for (let round = 1; round <= 12; round++) {
        let t = performance.now();
        const jobs = await client.query(q.dequeue, [
          Date.now(),
          25,
          'm1',
          25,
          ['noop'],
          [0],
          [0],
          [0],
          [3],
          'c',
        ]);
        const d = performance.now() - t;
        const ids = jobs.rows.map((r) => Number(r.id));
        t = performance.now();
        await client.query(q.complete, [
          ids,
          ids.map(() => 'successful'),
          ids.map(() => null),
          Date.now(),
          'c',
          null,
        ]);
        console.log(
          `round ${round}: dequeue ${d.toFixed(2)} ms, complete ${(performance.now() - t).toFixed(2)} ms`,
        );
      }
      return;
    }
    await client.query("LOAD 'auto_explain'");
    await client.query('SET auto_explain.log_min_duration = 0');
    await client.query('SET auto_explain.log_analyze = on');
    await client.query('SET auto_explain.log_nested_statements = on');
    await client.query("SET client_min_messages = 'log'");
    await client.query("SET auto_explain.log_level = 'notice'");
    client.on('notice', (n) => console.log(n.message));
    for (let round = 0; round < 3; round++) {
      const last = round === 2;
      if (last) console.log('==== dequeue (round 3)');
      else client.removeAllListeners('notice');
      const jobs = await client.query(q.dequeue, [
        Date.now(),
        25,
        'm1',
        25,
        ['noop'],
        [0],
        [0],
        [0],
        [3],
        'tideq_tideq',
      ]);
      const ids = jobs.rows.map((r) => Number(r.id));
      if (last) console.log('==== complete (round 3)');
      await client.query(q.complete, [
        ids,
        ids.map(() => 'successful'),
        ids.map(() => null),
        Date.now(),
        'tideq_tideq',
        null,
      ]);
      if (!last) client.on('notice', (n) => round === 1 && console.log(n.message));
    }
  } finally {
    await client.end();
    await cluster.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
