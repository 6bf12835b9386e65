/**
 * Where a system's database time goes while its workers drain a backlog: pg_stat_statements
 * (`track = all`, so statements nested in functions are listed too), statements per job, and the
 * CPU split between this Node process and the cluster's PostgreSQL processes.
 *
 *   tsx --conditions=source bench/postgres/profile.ts [--jobs 20000] [--system tideq-pg|graphile-worker|pg-boss]
 *                                                    [--setting equal|best] [--tideq-best 2x1000x1000]
 *
 * The workers run as in bench.ts (systems.ts), here in this process.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startCluster } from '../../packages/postgres/test/infra/cluster.ts';
import { clusterCpuSeconds, newPostmaster, ownPostmasters } from './pgcpu.ts';
import {
  describe,
  LABELS,
  makeProducer,
  type SettingName,
  type SystemKey,
  settingFor,
  startWorkers,
  TIDEQ_BEST,
} from './systems.ts';

const { values: opts } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    system: { type: 'string', default: 'tideq-pg' },
    setting: { type: 'string', default: 'best' },
    'tideq-best': { type: 'string' },
  },
});
const N = Number(opts.jobs);
const key = opts.system as SystemKey;
let tideqBest = TIDEQ_BEST;
if (opts['tideq-best']) {
  const [workers, batch, concurrency] = opts['tideq-best'].split('x').map(Number);
  tideqBest = { workers: workers!, batch: batch!, concurrency: concurrency ?? batch! };
}
const setting = settingFor(key, opts.setting as SettingName, tideqBest);

async function main(): Promise<void> {
  const before = ownPostmasters();
  const cluster = await startCluster({
    settings: {
      max_connections: '400',
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track': 'all',
      track_functions: 'all',
    },
  });
  const postmaster = newPostmaster(before);
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE prof');
  const url = cluster.url('prof');
  const stats = new pg.Client({ connectionString: url });
  await stats.connect();
  await stats.query('CREATE EXTENSION pg_stat_statements');
  const producer = await makeProducer(key, url);
  try {
    for (let i = 0; i < N; i += 1000)
      await producer.enqueueBatch(Array.from({ length: Math.min(1000, N - i) }, () => ({ t: 0 })));
    await stats.query('SELECT pg_stat_statements_reset()');
    let done = 0;
    const cpu0 = process.cpuUsage();
    const pg0 = clusterCpuSeconds(postmaster);
    const t0 = performance.now();
    const workers = await startWorkers(key, url, setting, () => {
      done++;
    });
    while (done < N) await new Promise((r) => setTimeout(r, 2));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const pgCpu = clusterCpuSeconds(postmaster) - pg0;
    await workers.stop();
    console.log(`${LABELS[key]}, ${opts.setting}: ${describe(key, setting)}`);
    console.log(`processed ${N} jobs in ${seconds.toFixed(2)} s = ${Math.round(N / seconds)} jobs/s`);
    console.log(
      `CPU: node ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (${((cpu.user + cpu.system) / N).toFixed(1)} us/job), ` +
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
    console.log(`top-level statements: ${top.calls} = ${(Number(top.calls) / N).toFixed(4)} per job`);
  } finally {
    await producer.close();
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
