/**
 * tideq on PostgreSQL vs graphile-worker 0.18 and pg-boss 12, each at equal concurrency and at
 * its best documented settings (systems.ts), with fsync off and on.
 *
 *   npm run bench:postgres [-- --jobs 40000 --runs 3 --fsync both --settings equal,best
 *                              --only tideq-pg,graphile-worker,pg-boss --tideq-best 2x1000x1000 --json]
 *
 * Per run, per fsync mode (one throwaway cluster each: `off` = fsync, synchronous_commit and
 * full_page_writes off; `on` = all three on), per setting, per system (order rotated each run),
 * in a fresh database:
 * - enqueue: N jobs in batches of 1000 from this process (jobs/s);
 * - process: a child process (worker.ts) starts the workers on the backlog; jobs/s from `go` to
 *   the N-th handler start; PostgreSQL CPU (every process of that cluster, /proc) and the
 *   child's CPU (process.cpuUsage) per job; statements per job = top-level pg_stat_statements
 *   calls in that database over the phase (each one a round trip, or more than one statement in
 *   one round trip for multi-statement strings);
 * - latency: the idle workers get jobs one at a time at --rate jobs/s for --seconds s;
 *   enqueue-to-start p50/p99 (handler start minus the enqueue time carried in the payload).
 * Every figure printed is the median over the runs; ratios (tideq / peer) are taken within each
 * run, fsync mode and setting, then medianed.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type Cluster, startCluster } from '../../packages/postgres/test/infra/cluster.ts';
import { type Stoppable, startWsProxy } from '../../packages/postgres/test/infra/neon-local.ts';
import { clusterCpuSeconds, newPostmaster, ownPostmasters } from './pgcpu.ts';
import {
  configureNeon,
  describe,
  LABELS,
  makeProducer,
  type Payload,
  SETTINGS,
  type SettingName,
  SYSTEMS,
  type SystemKey,
  settingFor,
  TIDEQ_BEST,
  type WorkerSetting,
} from './systems.ts';

const { values: opts } = parseArgs({
  options: {
    jobs: { type: 'string', default: '40000' },
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '3' },
    only: { type: 'string', default: 'tideq-pg,graphile-worker,pg-boss' },
    settings: { type: 'string', default: 'equal,best' },
    fsync: { type: 'string', default: 'both' },
    'tideq-best': { type: 'string' },
    json: { type: 'boolean', default: false },
    /** Also write the --json line to this file. */
    save: { type: 'string' },
  },
});
const N = Number(opts.jobs);
const RUNS = Number(opts.runs);
const RATE = Number(opts.rate);
const TRICKLE_SECONDS = Number(opts.seconds);
const BATCH = 1000;
const keys = opts.only.split(',').map((k) => {
  if (!(SYSTEMS as readonly string[]).includes(k))
    throw new Error(`--only: unknown system ${k} (${SYSTEMS})`);
  return k as SystemKey;
});
const settings = opts.settings.split(',').map((s) => {
  if (!(SETTINGS as readonly string[]).includes(s)) throw new Error(`--settings: unknown ${s} (${SETTINGS})`);
  return s as SettingName;
});
const fsyncModes = opts.fsync === 'both' ? (['off', 'on'] as const) : [opts.fsync as 'off' | 'on'];
if (!fsyncModes.every((m) => m === 'off' || m === 'on')) throw new Error('--fsync off|on|both');
let tideqBest = TIDEQ_BEST;
if (opts['tideq-best']) {
  const [workers, batch, concurrency] = opts['tideq-best'].split('x').map(Number);
  tideqBest = { workers: workers!, batch: batch!, concurrency: concurrency ?? batch! };
}
const log = (msg: string) => {
  if (!opts.json) console.error(msg);
};

type Phase = 'enqueue' | 'process' | 'latency';
interface Row {
  system: string;
  key: SystemKey;
  setting: SettingName;
  /** What the setting means for this system. */
  config: string;
  fsync: 'off' | 'on';
  phase: Phase;
  jobsPerSec: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  pgCpuUsPerJob: number | null;
  nodeCpuUsPerJob: number | null;
  statementsPerJob: number | null;
}
type Sample = Row & { run: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (v: number, digits = 0) => Math.round(v * 10 ** digits) / 10 ** digits;

// ---- one cluster per fsync mode -------------------------------------------------------------

interface Server {
  cluster: Cluster;
  postmaster: number;
  admin: pg.Client;
}

async function startServer(fsync: 'off' | 'on'): Promise<Server> {
  const before = ownPostmasters();
  const durable: Record<string, string> =
    fsync === 'on' ? { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' } : {};
  const cluster = await startCluster({
    settings: { max_connections: '400', shared_preload_libraries: 'pg_stat_statements', ...durable },
  });
  const postmaster = newPostmaster(before);
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  return { cluster, postmaster, admin };
}

async function statements(server: Server, db: string): Promise<number> {
  const res = await server.admin.query(
    `SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements
      WHERE toplevel AND dbid = (SELECT oid FROM pg_database WHERE datname = $1)`,
    [db],
  );
  return Number(res.rows[0].n);
}

// ---- the worker child -----------------------------------------------------------------------

const workerScript = fileURLToPath(new URL('./worker.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  next(type: string, timeoutMs: number): Promise<Record<string, unknown>>;
}

function spawnWorkers(key: SystemKey, url: string, s: WorkerSetting, wsPort: number): Child {
  const proc = fork(
    workerScript,
    [key, url, String(s.workers), String(s.concurrency), String(s.batch), String(N), String(wsPort)],
    { execArgv: ['--conditions=source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const inbox: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  proc.on('message', (m) => {
    inbox.push(m as Record<string, unknown>);
    wake?.();
  });
  proc.on('exit', () => wake?.());
  return {
    proc,
    async next(type, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = inbox.findIndex((m) => m.type === type);
        if (i >= 0) return inbox.splice(i, 1)[0]!;
        if (proc.exitCode !== null) throw new Error(`${key} worker process exited (${proc.exitCode})`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${key} workers: ${type}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    },
  };
}

async function endChild(child: Child): Promise<void> {
  if (child.proc.exitCode !== null) return;
  const exited = new Promise((r) => child.proc.once('exit', r));
  child.proc.send({ type: 'stop' });
  await Promise.race([exited, sleep(20_000)]);
  if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
}

// ---- one system, one setting ----------------------------------------------------------------

async function measure(
  server: Server,
  fsync: 'off' | 'on',
  key: SystemKey,
  setting: SettingName,
  run: number,
  wsPort: number,
): Promise<Sample[]> {
  const s = settingFor(key, setting, tideqBest);
  const base = {
    system: LABELS[key],
    key,
    setting,
    config: describe(key, s),
    fsync,
    run,
    p50Ms: null,
    p99Ms: null,
  };
  const db = `b_${key.replaceAll('-', '_')}_${setting}_${run}`;
  await server.admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await server.admin.query(`CREATE DATABASE ${db}`);
  const url = server.cluster.url(db);
  const producer = await makeProducer(key, url);
  let child: Child | undefined;
  try {
    const samples: Sample[] = [];
    // Enqueue.
    await server.admin.query('SELECT pg_stat_statements_reset()');
    let pg0 = clusterCpuSeconds(server.postmaster);
    const cpu0 = process.cpuUsage();
    let t0 = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      const now = Date.now();
      await producer.enqueueBatch(Array.from({ length: Math.min(BATCH, N - i) }, () => ({ t: now })));
    }
    const enqueueSeconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    samples.push({
      ...base,
      phase: 'enqueue',
      jobsPerSec: round(N / enqueueSeconds),
      pgCpuUsPerJob: round(((clusterCpuSeconds(server.postmaster) - pg0) * 1e6) / N, 1),
      nodeCpuUsPerJob: round((cpu.user + cpu.system) / N, 1),
      statementsPerJob: round((await statements(server, db)) / N, 4),
    });

    // Process the backlog in the worker process.
    child = spawnWorkers(key, url, s, wsPort);
    await child.next('ready', 60_000);
    await server.admin.query('SELECT pg_stat_statements_reset()');
    pg0 = clusterCpuSeconds(server.postmaster);
    child.proc.send({ type: 'go' });
    const done = (await child.next('done', 600_000)) as { seconds: number; cpuUs: number };
    const pgSeconds = clusterCpuSeconds(server.postmaster) - pg0;
    samples.push({
      ...base,
      phase: 'process',
      jobsPerSec: round(N / done.seconds),
      pgCpuUsPerJob: round((pgSeconds * 1e6) / N, 1),
      nodeCpuUsPerJob: round(done.cpuUs / N, 1),
      statementsPerJob: round((await statements(server, db)) / N, 4),
    });

    // Latency: idle workers, one job at a time at a fixed rate.
    await sleep(1000);
    const count = RATE * TRICKLE_SECONDS;
    child.proc.send({ type: 'trickle', count });
    await sleep(50);
    const interval = 1000 / RATE;
    t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = t0 + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      await producer.enqueueOne({ t: Date.now() } satisfies Payload);
    }
    const { ms } = (await child.next('latencies', 60_000)) as { ms: number[] };
    ms.sort((a, b) => a - b);
    samples.push({
      ...base,
      phase: 'latency',
      jobsPerSec: RATE,
      p50Ms: percentile(ms, 50),
      p99Ms: percentile(ms, 99),
      pgCpuUsPerJob: null,
      nodeCpuUsPerJob: null,
      statementsPerJob: null,
    });
    return samples;
  } finally {
    if (child) await endChild(child);
    await producer.close();
    await server.admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
  }
}

// ---- aggregation ----------------------------------------------------------------------------

const FIELDS = [
  'jobsPerSec',
  'p50Ms',
  'p99Ms',
  'pgCpuUsPerJob',
  'nodeCpuUsPerJob',
  'statementsPerJob',
] as const;

function medians(samples: Sample[]): Row[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.fsync}|${s.setting}|${s.key}|${s.phase}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  return [...groups.values()].map((g) => {
    const { run: _run, ...first } = g[0]!;
    const row: Row = { ...first };
    for (const f of FIELDS) {
      const xs = g.map((s) => s[f]).filter((v): v is number => v !== null);
      row[f] = xs.length
        ? round(median(xs), f === 'statementsPerJob' ? 4 : f === 'jobsPerSec' ? 0 : 1)
        : null;
    }
    return row;
  });
}

interface Ratio {
  fsync: 'off' | 'on';
  setting: SettingName;
  system: string;
  peer: string;
  /** tideq jobs/s / peer jobs/s (process), per run, then the median. */
  process: number;
  perRun: number[];
  /**
   * Peer CPU per job / tideq CPU per job (PostgreSQL + Node, process phase), per run, then the
   * median: the throughput ratio a machine with nothing else on its cores would give when both
   * are CPU-bound. Less sensitive to other load than the jobs/s ratio.
   */
  cpu: number;
  /** tideq p50 / peer p50, tideq p99 / peer p99 (latency phase), medians of per-run ratios. */
  p50: number | null;
  p99: number | null;
}

function ratios(samples: Sample[]): Ratio[] {
  const out: Ratio[] = [];
  const find = (run: number, fsync: string, setting: string, key: string, phase: Phase) =>
    samples.find(
      (s) =>
        s.run === run && s.fsync === fsync && s.setting === setting && s.key === key && s.phase === phase,
    );
  for (const fsync of fsyncModes)
    for (const setting of settings)
      for (const t of keys.filter((k) => k.startsWith('tideq')))
        for (const p of keys.filter((k) => !k.startsWith('tideq'))) {
          const proc: number[] = [];
          const cpu: number[] = [];
          const p50: number[] = [];
          const p99: number[] = [];
          for (let run = 1; run <= RUNS; run++) {
            const a = find(run, fsync, setting, t, 'process');
            const b = find(run, fsync, setting, p, 'process');
            if (a && b) {
              proc.push(a.jobsPerSec! / b.jobsPerSec!);
              cpu.push((b.pgCpuUsPerJob! + b.nodeCpuUsPerJob!) / (a.pgCpuUsPerJob! + a.nodeCpuUsPerJob!));
            }
            const la = find(run, fsync, setting, t, 'latency');
            const lb = find(run, fsync, setting, p, 'latency');
            if (la && lb) {
              p50.push(la.p50Ms! / Math.max(lb.p50Ms!, 1));
              p99.push(la.p99Ms! / Math.max(lb.p99Ms!, 1));
            }
          }
          if (proc.length === 0) continue;
          out.push({
            fsync,
            setting,
            system: LABELS[t],
            peer: LABELS[p],
            process: round(median(proc), 2),
            perRun: proc.map((r) => round(r, 2)),
            cpu: round(median(cpu), 2),
            p50: p50.length ? round(median(p50), 2) : null,
            p99: p99.length ? round(median(p99), 2) : null,
          });
        }
  return out;
}

function commit(): string {
  if (process.env.TIDEQ_BENCH_COMMIT) return process.env.TIDEQ_BENCH_COMMIT; // snapshot.sh
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages/postgres', 'packages/core'])
      .toString()
      .trim();
    return dirty ? `${sha}+uncommitted` : sha;
  } catch {
    return 'unknown';
  }
}

// ---- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const servers = new Map<'off' | 'on', Server>();
  let proxy: Stoppable | undefined;
  const samples: Sample[] = [];
  const errors: { run: number; fsync: string; setting: string; key: string; error: string }[] = [];
  const startedAt = new Date().toISOString();
  const load = loadavg()[0]!;
  try {
    proxy = await startWsProxy();
    configureNeon(proxy.port);
    for (const fsync of fsyncModes) servers.set(fsync, await startServer(fsync));
    for (let run = 1; run <= RUNS; run++) {
      const order = keys.map((_, i) => keys[(i + run - 1) % keys.length]!);
      for (const fsync of fsyncModes)
        for (const setting of settings)
          for (const key of order) {
            log(`run ${run}/${RUNS}, fsync ${fsync}, ${setting}: ${LABELS[key]} ...`);
            let got: Sample[];
            try {
              got = await measure(servers.get(fsync)!, fsync, key, setting, run, proxy.port);
            } catch (error) {
              // One failed measurement (a shared tree mid-edit, a timeout under load) loses that
              // sample, not the whole run; the error is reported.
              console.error(`run ${run}, fsync ${fsync}, ${setting}, ${key} failed:`, error);
              errors.push({ run, fsync, setting, key, error: String(error) });
              continue;
            }
            for (const s of got)
              log(
                `  ${s.phase}: ${s.jobsPerSec} jobs/s` +
                  (s.phase === 'latency'
                    ? `, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms`
                    : `, PG ${s.pgCpuUsPerJob} us/job, node ${s.nodeCpuUsPerJob} us/job, ${s.statementsPerJob} stmts/job`),
              );
            samples.push(...got);
          }
    }
  } finally {
    for (const server of servers.values()) {
      await server.admin.end().catch(() => {});
      await server.cluster.stop();
    }
    await proxy?.close();
  }
  const results = medians(samples);
  const rs = ratios(samples);
  const meta = {
    commit: commit(),
    startedAt,
    loadAverage1m: round(load, 1),
    jobs: N,
    runs: RUNS,
    trickle: { rate: RATE, seconds: TRICKLE_SECONDS },
  };
  const line = JSON.stringify({ ...meta, results, ratios: rs, errors, samples });
  if (opts.save) writeFileSync(opts.save, `${line}\n`);
  if (opts.json) {
    console.log(line);
    return;
  }
  const fmt = (v: number | null) => (v === null ? '' : v.toLocaleString('en-US'));
  for (const fsync of fsyncModes) {
    console.log(`\n#### fsync ${fsync} (medians of ${RUNS} runs)\n`);
    const head = [
      'system',
      'setting',
      'enqueue jobs/s',
      'process jobs/s',
      'PG CPU µs/job',
      'Node CPU µs/job',
      'statements/job',
      'p50 ms',
      'p99 ms',
    ];
    console.log(`| ${head.join(' | ')} |\n|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
    for (const setting of settings)
      for (const key of keys) {
        const get = (phase: Phase) =>
          results.find(
            (r) => r.fsync === fsync && r.setting === setting && r.key === key && r.phase === phase,
          );
        const e = get('enqueue');
        const p = get('process');
        const l = get('latency');
        if (!p) continue;
        console.log(
          `| ${p.system} | ${setting}: ${p.config} | ${fmt(e?.jobsPerSec ?? null)} | ${fmt(p.jobsPerSec)} | ${fmt(p.pgCpuUsPerJob)} | ${fmt(p.nodeCpuUsPerJob)} | ${p.statementsPerJob} | ${fmt(l?.p50Ms ?? null)} | ${fmt(l?.p99Ms ?? null)} |`,
        );
      }
  }
  console.log(
    '\n#### tideq / peer, within each run, median (processing jobs/s; peer / tideq CPU per job; latency p50, p99)\n',
  );
  console.log(
    '| fsync | setting | ratio | jobs/s | per run | CPU/job | p50 | p99 |\n|---|---|---|---:|---|---:|---:|---:|',
  );
  for (const r of rs)
    console.log(
      `| ${r.fsync} | ${r.setting} | ${r.system} / ${r.peer} | **${r.process}x** | ${r.perRun.join(' / ')} | ${r.cpu}x | ${r.p50 ?? ''} | ${r.p99 ?? ''} |`,
    );
  console.log(
    `${errors.length ? `\n${errors.length} measurement(s) failed (see stderr)` : ''}\ncommit ${meta.commit}, ${startedAt}, load average ${meta.loadAverage1m}, N=${N}, ${RUNS} runs, trickle ${RATE} jobs/s for ${TRICKLE_SECONDS} s`,
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
