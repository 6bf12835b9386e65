/**
 * `npm run bench:roundtrips [-- --json]`: what a job's life costs in round trips and statements
 * on each driver (node-postgres Pool, Neon WebSocket Pool through the local relay, Neon HTTP
 * through the local endpoint; packages/postgres/test/infra), at batch 1 and batch 100.
 *
 * - lifecycle: `enqueue(B jobs)`, `dequeue({ batchSize: B })`, `complete(B results)` on the
 *   port, after one warm-up lifecycle (first-use checks, prepared statements), 3 times.
 *   Round trips = calls of the driver's `query` (over HTTP each is one request); statements =
 *   top-level pg_stat_statements calls in the database (the HTTP endpoint's BEGIN/COMMIT too).
 * - drain: a QueueManager (batchSize = maxConcurrentTasks = B) drains 200 jobs in drain mode:
 *   the lifecycle plus what the runtime adds (subscription, idle checks; over HTTP it polls).
 */
import { parseArgs } from 'node:util';
import { Pool as NeonPool, neon, neonConfig } from '@neondatabase/serverless';
import { QueueManager } from '@tideq/core';
import {
  createPostgresQueue,
  neonHttpDriver,
  neonPoolDriver,
  pgPoolDriver,
  type SqlDriver,
} from '@tideq/postgres';
import pg from 'pg';
import { WebSocket } from 'ws';
import { startCluster } from '../../packages/postgres/test/infra/cluster.ts';
import { startHttpEndpoint, startWsProxy } from '../../packages/postgres/test/infra/neon-local.ts';

const { values: opts } = parseArgs({
  options: { json: { type: 'boolean', default: false }, drain: { type: 'string', default: '200' } },
});
const DRIVERS = ['pg', 'neon-ws', 'neon-http'] as const;
type Driver = (typeof DRIVERS)[number];
const BATCHES = [1, 100];
const CYCLES = 3;
const DRAIN = Number(opts.drain);

interface Row {
  driver: Driver;
  batch: number;
  what: 'enqueue' | 'dequeue' | 'complete' | 'lifecycle' | 'drain';
  /** Per call of the operation (lifecycle: per enqueue+dequeue+complete); drain: in total. */
  roundTrips: number;
  statements: number;
  roundTripsPerJob: number;
  statementsPerJob: number;
}

/** Counts the driver's query calls. */
function counted(driver: SqlDriver): { driver: SqlDriver; calls: () => number } {
  let n = 0;
  return {
    driver: {
      ...driver,
      name: driver.name,
      query: (text, params, options) => {
        n++;
        return driver.query(text, params, options);
      },
    },
    calls: () => n,
  };
}

async function main(): Promise<void> {
  const cluster = await startCluster({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
  const proxy = await startWsProxy();
  const http = await startHttpEndpoint(cluster.port);
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${proxy.port}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.coalesceWrites = false;
  neonConfig.fetchEndpoint = `http://127.0.0.1:${http.port}/sql`;
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query('CREATE EXTENSION pg_stat_statements');
  const statements = async (db: string) =>
    Number(
      (
        await admin.query(
          `SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements
            WHERE toplevel AND dbid = (SELECT oid FROM pg_database WHERE datname = $1)`,
          [db],
        )
      ).rows[0].n,
    );
  const rows: Row[] = [];
  try {
    for (const kind of DRIVERS)
      for (const batch of BATCHES) {
        const db = `rt_${kind.replace('-', '_')}_${batch}`;
        await admin.query(`CREATE DATABASE ${db}`);
        const url = cluster.url(db);
        let end: () => Promise<void> = async () => {};
        let raw: SqlDriver;
        if (kind === 'pg') {
          const pool = new pg.Pool({ connectionString: url, max: 4 });
          raw = pgPoolDriver(pool);
          end = () => pool.end();
        } else if (kind === 'neon-ws') {
          const pool = new NeonPool({ connectionString: url, max: 4 });
          raw = neonPoolDriver(pool);
          end = () => pool.end();
        } else {
          raw = neonHttpDriver(neon(url, { fullResults: true }));
        }
        const c = counted(raw);
        try {
          const repo = createPostgresQueue({ driver: c.driver });
          await repo.install();
          const jobs = () => Array.from({ length: batch }, () => ({ entrypoint: 'noop', payload: null }));
          const sums = { enqueue: [0, 0], dequeue: [0, 0], complete: [0, 0] };
          for (let cycle = 0; cycle <= CYCLES; cycle++) {
            const step = async (what: keyof typeof sums, op: () => Promise<unknown>) => {
              await admin.query('SELECT pg_stat_statements_reset()');
              const before = c.calls();
              const out = await op();
              if (cycle > 0) {
                sums[what][0]! += c.calls() - before;
                sums[what][1]! += await statements(db);
              }
              return out;
            };
            await step('enqueue', () => repo.enqueue(jobs()));
            const picked = (await step('dequeue', () =>
              repo.dequeue({
                batchSize: batch,
                entrypoints: { noop: {} },
                queueManagerId: 'm',
                maxOwned: batch,
              }),
            )) as { id: number }[];
            if (picked.length !== batch)
              throw new Error(`dequeue returned ${picked.length}, expected ${batch}`);
            await step('complete', () =>
              repo.complete(picked.map((j) => ({ id: j.id, status: 'successful' }))),
            );
          }
          let total = [0, 0];
          for (const what of ['enqueue', 'dequeue', 'complete'] as const) {
            const [rt, st] = sums[what].map((v) => v / CYCLES) as [number, number];
            total = [total[0]! + rt, total[1]! + st];
            rows.push({
              driver: kind,
              batch,
              what,
              roundTrips: rt,
              statements: st,
              roundTripsPerJob: rt / batch,
              statementsPerJob: st / batch,
            });
          }
          rows.push({
            driver: kind,
            batch,
            what: 'lifecycle',
            roundTrips: total[0]!,
            statements: total[1]!,
            roundTripsPerJob: total[0]! / batch,
            statementsPerJob: total[1]! / batch,
          });

          // The runtime around the same lifecycle.
          await repo.enqueue(Array.from({ length: DRAIN }, () => ({ entrypoint: 'noop', payload: null })));
          await admin.query('SELECT pg_stat_statements_reset()');
          const before = c.calls();
          let ran = 0;
          const qm = new QueueManager(repo, { logger: 'silent', retention: false }).entrypoint('noop', () => {
            ran++;
          });
          await qm.run({ mode: 'drain', batchSize: batch, maxConcurrentTasks: batch });
          if (ran !== DRAIN) throw new Error(`drain ran ${ran} jobs, expected ${DRAIN}`);
          const rt = c.calls() - before;
          const st = await statements(db);
          rows.push({
            driver: kind,
            batch,
            what: 'drain',
            roundTrips: rt,
            statements: st,
            roundTripsPerJob: rt / DRAIN,
            statementsPerJob: st / DRAIN,
          });
          await repo.close();
        } finally {
          await end();
          await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        }
      }
  } finally {
    await admin.end();
    await http.close();
    await proxy.close();
    await cluster.stop();
  }
  const r2 = (v: number) => Math.round(v * 100) / 100;
  if (opts.json) {
    console.log(
      JSON.stringify({ results: rows.map((r) => ({ ...r, roundTripsPerJob: r2(r.roundTripsPerJob) })) }),
    );
    return;
  }
  console.log(
    '| driver | batch | operation | round trips | statements | round trips / job | statements / job |\n|---|---:|---|---:|---:|---:|---:|',
  );
  for (const r of rows)
    console.log(
      `| ${r.driver} | ${r.batch} | ${r.what === 'drain' ? `QueueManager drain of ${DRAIN}` : r.what} | ${r2(r.roundTrips)} | ${r2(r.statements)} | ${r2(r.roundTripsPerJob)} | ${r2(r.statementsPerJob)} |`,
    );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
