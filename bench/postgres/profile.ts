/**
 * Where tideq's database time goes while 4 QueueManagers drain a backlog (node-postgres):
 * pg_stat_statements (nested statements of the dequeue function included), statements and round
 * trips per job, and the CPU split between this Node process and the PostgreSQL processes.
 *
 *   tsx --conditions=source bench/postgres/profile.ts [--jobs 20000] [--system tideq|graphile]
 *
 * `--system graphile` drains the same backlog with graphile-worker configured as in bench.ts.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { jsonCodec, QueueManager } from '@tideq/core';
import { createPostgresQueue, pgPoolDriver } from '@tideq/postgres';
import { Logger, makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import pg from 'pg';
import { startCluster } from '../../packages/postgres/test/infra/cluster.ts';

const { values: opts } = parseArgs({
  options: { jobs: { type: 'string', default: '20000' }, system: { type: 'string', default: 'tideq' } },
});
const N = Number(opts.jobs);

/** CPU seconds (user+sys) of every process whose command name is `postgres`. */
function postgresCpu(): number {
  const hz = 100;
  let total = 0;
  const pids = execFileSync('pgrep', ['-x', 'postgres']).toString().trim().split('\n');
  for (const pid of pids) {
    try {
      const stat = execFileSync('cat', [`/proc/${pid}/stat`]).toString();
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / hz;
    } catch {
      // exited
    }
  }
  return total;
}

async function main(): Promise<void> {
  const cluster = await startCluster({
    settings: {
      max_connections: '400',
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track': 'all',
      track_functions: 'all',
    },
  });
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE prof');
  const url = cluster.url('prof');
  const stats = new pg.Client({ connectionString: url });
  await stats.connect();
  await stats.query('CREATE EXTENSION pg_stat_statements');
  const pools: pg.Pool[] = [];
  const pool = () => {
    const p = new pg.Pool({ connectionString: url, max: 4 });
    pools.push(p);
    return p;
  };
  try {
    const codec = jsonCodec<{ t: number }>();
    let done = 0;
    const stops: AbortController[] = [];
    const runs: Promise<void>[] = [];
    const runners: { stop: () => Promise<void> }[] = [];
    let cpu0 = process.cpuUsage();
    let pg0 = 0;
    let t0 = 0;
    const begin = async () => {
      await stats.query('SELECT pg_stat_statements_reset()');
      cpu0 = process.cpuUsage();
      pg0 = postgresCpu();
      t0 = performance.now();
    };
    if (opts.system === 'graphile') {
      const utils = await makeWorkerUtils({ connectionString: url });
      await utils.migrate();
      for (let i = 0; i < N; i += 1000)
        await utils.addJobs(
          Array.from({ length: Math.min(1000, N - i) }, () => ({ identifier: 'noop', payload: { t: 0 } })),
        );
      await utils.release();
      await begin();
      for (let i = 0; i < 4; i++) {
        runners.push(
          await runGraphile({
            connectionString: url,
            concurrency: 25,
            noHandleSignals: true,
            pollInterval: 2000,
            logger: new Logger(() => () => {}),
            taskList: {
              noop: async () => {
                done++;
              },
            },
            preset: {
              worker: {
                maxPoolSize: 27,
                localQueue: { size: 50 },
                completeJobBatchDelay: 0,
                failJobBatchDelay: 0,
              },
            },
          }),
        );
      }
    } else {
      const producer = createPostgresQueue({ driver: pgPoolDriver(pool()) });
      await producer.install();
      for (let i = 0; i < N; i += 1000) {
        await producer.enqueue(
          Array.from({ length: Math.min(1000, N - i) }, () => ({
            entrypoint: 'noop',
            payload: codec.encode({ t: 0 }),
          })),
        );
      }
      await begin();
      for (let i = 0; i < 4; i++) {
        const repo = createPostgresQueue({ driver: pgPoolDriver(pool()) });
        const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('noop', { codec }, () => {
          done++;
        });
        const stop = new AbortController();
        stops.push(stop);
        runs.push(qm.run({ signal: stop.signal, batchSize: 25, maxConcurrentTasks: 25 }));
      }
    }
    while (done < N) await new Promise((r) => setTimeout(r, 2));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const pgCpu = postgresCpu() - pg0;
    for (const s of stops) s.abort();
    await Promise.all(runs);
    await Promise.all(runners.map((r) => r.stop()));
    console.log(`processed ${N} jobs in ${seconds.toFixed(2)} s = ${Math.round(N / seconds)} jobs/s`);
    console.log(
      `CPU: node ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (${(((cpu.user + cpu.system) / 1e6 / N) * 1e6).toFixed(1)} us/job), ` +
        `postgres ${pgCpu.toFixed(2)} s (${((pgCpu / N) * 1e6).toFixed(1)} us/job), wall ${seconds.toFixed(2)} s`,
    );
    const rows = (
      await stats.query(
        `SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, round((total_exec_time / calls)::numeric, 3) AS mean_ms,
                rows, toplevel, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'prof')
          ORDER BY total_exec_time DESC LIMIT 25`,
      )
    ).rows;
    console.log('calls\ttotal_ms\tmean_ms\trows\ttop\tus/job\tquery');
    for (const r of rows)
      console.log(
        `${r.calls}\t${r.total_ms}\t${r.mean_ms}\t${r.rows}\t${r.toplevel}\t${((Number(r.total_ms) * 1000) / N).toFixed(1)}\t${r.query}`,
      );
    const top = (
      await stats.query(
        `SELECT sum(calls) AS calls FROM pg_stat_statements WHERE toplevel AND dbid = (SELECT oid FROM pg_database WHERE datname = 'prof')`,
      )
    ).rows[0];
    console.log(
      `top-level statements (= round trips): ${top.calls} = ${(Number(top.calls) / N).toFixed(3)} per job`,
    );
  } finally {
    await Promise.all(pools.map((p) => p.end()));
    await stats.end();
    await admin.end();
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
