/**
 * Paired drain benchmark of the Postgres write path (issue #17): systems run in alternation in
 * ONE throwaway cluster, a fresh database each, so before/after and graphile-worker share the
 * machine's load of the moment. Per run: enqueue N no-op jobs, drain them with W workers, and
 * report jobs/s, Node CPU and PostgreSQL CPU (this cluster's processes only) per job.
 *
 *   tsx --conditions=source packages/postgres/scripts/drain.ts \
 *     [--systems tideq,graphile] [--before /tmp/tideq-before/packages/postgres/src/index.ts] \
 *     [--jobs 20000] [--rounds 3] [--workers 4] [--batch 500] [--concurrency 500] \
 *     [--graphile-concurrency 25] [--local-queue 500] [--stats] [--json]
 *
 * Systems: `tideq` (this package), `before` (the package at `--before`, e.g. a `git archive` of
 * an older commit with node_modules symlinked), any `--impl label=path/to/src/index.ts`, `graphile` (graphile-worker, localQueue and batch
 * delays 0 as its performance docs recommend). `--stats` prints pg_stat_statements (track all)
 * of the last round per system.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { jsonCodec, QueueManager } from '@tideq/core';
import pg from 'pg';
import { startCluster } from '../test/infra/cluster.ts';

const { values: opts } = parseArgs({
  options: {
    systems: { type: 'string', default: 'tideq,graphile' },
    before: { type: 'string', default: '/tmp/tideq-before/packages/postgres/src/index.ts' },
    impl: { type: 'string', multiple: true, default: [] },
    jobs: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '4' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '500' },
    'graphile-concurrency': { type: 'string', default: '25' },
    'local-queue': { type: 'string', default: '500' },
    stats: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(opts.jobs);
const W = Number(opts.workers);
const BATCH = Number(opts.batch);
const CONC = Number(opts.concurrency);

/** CPU seconds (user+sys) of the postmaster listening on `port` and its children. */
function clusterCpu(port: number): number {
  const stat = (pid: string): string[] | null => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return s.slice(s.lastIndexOf(')') + 2).split(' ');
    } catch {
      return null;
    }
  };
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  let master: string | undefined;
  for (const pid of pids) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const i = cmd.indexOf('-p');
      if (cmd[0]?.endsWith('/postgres') && i >= 0 && cmd[i + 1] === String(port)) master = pid;
    } catch {}
  }
  if (master === undefined) throw new Error(`no postmaster on port ${port}`);
  let total = 0;
  for (const pid of pids) {
    const f = stat(pid);
    if (f === null) continue;
    if (pid === master || f[1] === master) total += (Number(f[11]) + Number(f[12])) / 100;
  }
  return total;
}

interface Result {
  system: string;
  round: number;
  jobsPerSec: number;
  nodeCpuUsPerJob: number;
  pgCpuUsPerJob: number;
  statementsPerJob: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const cluster = await startCluster({
    settings: {
      max_connections: '400',
      shared_preload_libraries: 'pg_stat_statements',
      'pg_stat_statements.track': opts.stats ? 'all' : 'top',
    },
  });
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  const results: Result[] = [];
  const systems = opts.systems!.split(',');
  let dbn = 0;
  try {
    for (let round = 1; round <= Number(opts.rounds); round++) {
      for (const system of systems) {
        const db = `d${dbn++}`;
        await admin.query(`CREATE DATABASE ${db}`);
        const url = cluster.url(db);
        const stats = new pg.Client({ connectionString: url });
        await stats.connect();
        await stats.query('CREATE EXTENSION pg_stat_statements');
        try {
          const r = await drainOnce(system, url, cluster.port, stats);
          results.push({ ...r, system, round });
          if (!opts.json)
            console.log(
              `${system} round ${round}: ${Math.round(r.jobsPerSec)} jobs/s, node ${r.nodeCpuUsPerJob.toFixed(1)} us/job, ` +
                `postgres ${r.pgCpuUsPerJob.toFixed(1)} us/job, ${r.statementsPerJob.toFixed(3)} statements/job`,
            );
          if (opts.stats && round === Number(opts.rounds)) await printStats(stats, db);
        } finally {
          await stats.end();
          await admin.query(`DROP DATABASE ${db} WITH (FORCE)`);
        }
      }
    }
  } finally {
    await admin.end();
    await cluster.stop();
  }
  const summary = systems.map((system) => {
    const rs = results.filter((r) => r.system === system);
    return {
      system,
      jobsPerSec: Math.round(median(rs.map((r) => r.jobsPerSec))),
      nodeCpuUsPerJob: +median(rs.map((r) => r.nodeCpuUsPerJob)).toFixed(1),
      pgCpuUsPerJob: +median(rs.map((r) => r.pgCpuUsPerJob)).toFixed(1),
      statementsPerJob: +median(rs.map((r) => r.statementsPerJob)).toFixed(3),
    };
  });
  // Ratios within each round, then their median.
  const ratios: Record<string, number> = {};
  for (const a of systems)
    for (const b of systems) {
      if (a === b) continue;
      const per = [];
      for (let round = 1; round <= Number(opts.rounds); round++) {
        const ra = results.find((r) => r.system === a && r.round === round);
        const rb = results.find((r) => r.system === b && r.round === round);
        if (ra && rb) per.push(ra.jobsPerSec / rb.jobsPerSec);
      }
      ratios[`${a}/${b}`] = +median(per).toFixed(2);
    }
  const config = {
    jobs: N,
    workers: W,
    batch: BATCH,
    concurrency: CONC,
    localQueue: Number(opts['local-queue']),
  };
  if (opts.json) console.log(JSON.stringify({ config, summary, ratios, results }));
  else {
    console.log(JSON.stringify(config));
    for (const s of summary) console.log(JSON.stringify(s));
    console.log(JSON.stringify(ratios));
  }
}

async function printStats(stats: pg.Client, db: string): Promise<void> {
  const { rows } = await stats.query(
    `SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, rows, toplevel,
            left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query
       FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)
      ORDER BY total_exec_time DESC LIMIT 16`,
    [db],
  );
  console.log('calls\ttotal_ms\tus/job\trows\ttop\tquery');
  for (const r of rows)
    console.log(
      `${r.calls}\t${r.total_ms}\t${((Number(r.total_ms) * 1000) / N).toFixed(1)}\t${r.rows}\t${r.toplevel}\t${r.query}`,
    );
}

async function topLevelCalls(stats: pg.Client): Promise<number> {
  const { rows } = await stats.query(
    `SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_statements
      WHERE toplevel AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND query NOT LIKE '%pg_stat_statements%'`,
  );
  return Number(rows[0].calls);
}

async function drainOnce(
  system: string,
  url: string,
  port: number,
  stats: pg.Client,
): Promise<Omit<Result, 'system' | 'round'>> {
  const pools: pg.Pool[] = [];
  const pool = (max: number) => {
    const p = new pg.Pool({ connectionString: url, max });
    pools.push(p);
    return p;
  };
  let done = 0;
  let cpu0 = process.cpuUsage();
  let pg0 = 0;
  let t0 = 0;
  const begin = async () => {
    await stats.query('SELECT pg_stat_statements_reset()');
    cpu0 = process.cpuUsage();
    pg0 = clusterCpu(port);
    t0 = performance.now();
  };
  const stoppers: (() => Promise<void>)[] = [];
  try {
    if (system === 'graphile') {
      const { Logger, makeWorkerUtils, run } = await import('graphile-worker');
      const utils = await makeWorkerUtils({ connectionString: url });
      await utils.migrate();
      for (let i = 0; i < N; i += 1000)
        await utils.addJobs(
          Array.from({ length: Math.min(1000, N - i) }, () => ({ identifier: 'noop', payload: { t: 0 } })),
        );
      await utils.release();
      await begin();
      const conc = Number(opts['graphile-concurrency']);
      for (let i = 0; i < W; i++) {
        const runner = await run({
          connectionString: url,
          concurrency: conc,
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
              maxPoolSize: conc + 2,
              localQueue: { size: Number(opts['local-queue']) },
              completeJobBatchDelay: 0,
              failJobBatchDelay: 0,
            },
          },
        });
        stoppers.push(() => runner.stop());
      }
    } else {
      const impls = new Map([
        ['before', opts.before!],
        ...opts.impl!.map((x) => x.split('=', 2) as [string, string]),
      ]);
      const mod =
        system === 'tideq'
          ? await import('../src/index.ts')
          : ((await import(impls.get(system)!)) as typeof import('../src/index.ts'));
      const codec = jsonCodec<{ t: number }>();
      const producer = mod.createPostgresQueue({ driver: mod.pgPoolDriver(pool(2)) });
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
      for (let i = 0; i < W; i++) {
        const repo = mod.createPostgresQueue({ driver: mod.pgPoolDriver(pool(4)) });
        const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('noop', { codec }, () => {
          done++;
        });
        const stop = new AbortController();
        const running = qm.run({ signal: stop.signal, batchSize: BATCH, maxConcurrentTasks: CONC });
        stoppers.push(async () => {
          stop.abort();
          await running;
        });
      }
    }
    const deadline = Date.now() + 600_000;
    while (done < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    if (done < N) throw new Error(`${system}: only ${done} of ${N} jobs ran within 600 s`);
    // Until every completion is committed (the job rows are gone), not just every handler run.
    const table = system === 'graphile' ? 'graphile_worker._private_jobs' : 'tideq.jobs';
    while (
      Date.now() < deadline &&
      Number((await stats.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n) > 0
    )
      await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const pgCpu = clusterCpu(port) - pg0;
    const calls = await topLevelCalls(stats);
    return {
      jobsPerSec: N / seconds,
      nodeCpuUsPerJob: (cpu.user + cpu.system) / N,
      pgCpuUsPerJob: (pgCpu / N) * 1e6,
      statementsPerJob: calls / N,
    };
  } finally {
    await Promise.all(stoppers.map((s) => s()));
    await Promise.all(pools.map((p) => p.end()));
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
