/**
 * tideq on PostgreSQL vs graphile-worker 0.18 and pg-boss 12, against one local PostgreSQL
 * started here (throwaway cluster, fsync off, same settings for every system).
 *
 *   npm run bench:postgres [-- --jobs 20000 --rate 200 --seconds 5 --json]
 *
 * Per system, in its own database: enqueue N jobs in batches of 1000 (jobs/s); process them with
 * no-op handlers on 4 workers (separate pools), 25 concurrent jobs each (jobs/s); then trickle
 * jobs one by one at a fixed rate into the idle workers and measure enqueue-to-start latency.
 * tideq runs its runtime (QueueManager, woken by LISTEN/NOTIFY) over the Neon WebSocket driver
 * (coalesceWrites off) through a local WebSocket-to-TCP proxy, and over node-postgres.
 */
import { parseArgs } from 'node:util';
import { Pool as NeonPool, neonConfig } from '@neondatabase/serverless';
import { jsonCodec, QueueManager } from '@tideq/core';
import { createPostgresQueue, neonPoolDriver, pgPoolDriver, type SqlDriver } from '@tideq/postgres';
import { makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { WebSocket } from 'ws';
import { startCluster } from '../../packages/postgres/test/infra/cluster.ts';
import { startWsProxy } from '../../packages/postgres/test/infra/neon-local.ts';

const { values: opts } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(opts.jobs);
const RATE = Number(opts.rate);
const TRICKLE_SECONDS = Number(opts.seconds);
const WORKERS = 4;
const PER_WORKER = 25; // same total concurrency (100) for every system
const BATCH = 1000;

interface Entry {
  system: string;
  phase: 'enqueue' | 'process' | 'latency';
  jobsPerSec: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** What the harness needs from each system. */
interface System {
  name: string;
  /** Enqueue `count` jobs carrying `{ t }` in batches. */
  enqueueBatch(payloads: { t: number }[]): Promise<void>;
  enqueueOne(payload: { t: number }): Promise<void>;
  /** Start WORKERS workers calling `onJob(payload)` per job. */
  start(onJob: (payload: { t: number }) => void): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// ---- systems ----------------------------------------------------------------------------------

function tideq(name: string, makeDriver: () => { driver: SqlDriver; end: () => Promise<void> }): System {
  const drivers: { end: () => Promise<void> }[] = [];
  const producer = makeDriver();
  drivers.push(producer);
  const queue = createPostgresQueue({ driver: producer.driver });
  const codec = jsonCodec<{ t: number }>();
  const stops: AbortController[] = [];
  const runs: Promise<void>[] = [];
  return {
    name,
    async enqueueBatch(payloads) {
      await queue.install();
      await queue.enqueue(payloads.map((p) => ({ entrypoint: 'noop', payload: codec.encode(p) })));
    },
    async enqueueOne(payload) {
      await queue.enqueue([{ entrypoint: 'noop', payload: codec.encode(payload) }]);
    },
    async start(onJob) {
      for (let i = 0; i < WORKERS; i++) {
        const d = makeDriver();
        drivers.push(d);
        const repo = createPostgresQueue({ driver: d.driver });
        const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('noop', { codec }, ({ payload }) =>
          onJob(payload),
        );
        const stop = new AbortController();
        stops.push(stop);
        runs.push(qm.run({ signal: stop.signal, batchSize: PER_WORKER, maxConcurrentTasks: PER_WORKER }));
      }
    },
    async stop() {
      for (const s of stops) s.abort();
      await Promise.all(runs);
      await Promise.all(drivers.map((d) => d.end()));
    },
  };
}

function graphile(url: string): System {
  let utils: Awaited<ReturnType<typeof makeWorkerUtils>> | undefined;
  const runners: { stop: () => Promise<void> }[] = [];
  return {
    name: 'graphile-worker 0.18',
    async enqueueBatch(payloads) {
      utils ??= await makeWorkerUtils({ connectionString: url });
      await utils.migrate();
      await utils.addJobs(payloads.map((p) => ({ identifier: 'noop', payload: p })));
    },
    async enqueueOne(payload) {
      await utils!.addJobs([{ identifier: 'noop', payload }]);
    },
    async start(onJob) {
      for (let i = 0; i < WORKERS; i++) {
        // Per the performance docs: a local queue that fetches jobs in batches, and batched
        // completions; LISTEN/NOTIFY wakes idle workers.
        const runner = await runGraphile({
          connectionString: url,
          concurrency: PER_WORKER,
          noHandleSignals: true,
          pollInterval: 2000,
          logger: new (await import('graphile-worker')).Logger(() => () => {}),
          taskList: {
            noop: async (payload) => {
              onJob(payload as { t: number });
            },
          },
          preset: {
            worker: {
              maxPoolSize: PER_WORKER + 2,
              localQueue: { size: PER_WORKER * 2 },
              completeJobBatchDelay: 0,
              failJobBatchDelay: 0,
            },
          },
        });
        runners.push(runner);
      }
    },
    async stop() {
      await Promise.all(runners.map((r) => r.stop()));
      await utils?.release();
    },
  };
}

function pgBoss(url: string): System {
  const producer = new PgBoss({ connectionString: url, useListenNotify: true, max: 4 });
  const workers: PgBoss[] = [];
  let started = false;
  const ensure = async () => {
    if (started) return;
    started = true;
    producer.on('error', () => {});
    await producer.start();
    await producer.createQueue('noop', { notify: true });
  };
  return {
    name: 'pg-boss 12',
    async enqueueBatch(payloads) {
      await ensure();
      await producer.insert(
        'noop',
        payloads.map((p) => ({ data: p })),
      );
    },
    async enqueueOne(payload) {
      await producer.send('noop', payload);
    },
    async start(onJob) {
      for (let i = 0; i < WORKERS; i++) {
        // Per the docs: LISTEN/NOTIFY on the queue, batch fetches, keep fetching while batches are
        // full, the shortest polling interval allowed as the fallback.
        const boss = new PgBoss({ connectionString: url, useListenNotify: true, max: PER_WORKER + 2 });
        boss.on('error', () => {});
        await boss.start();
        workers.push(boss);
        await boss.work<{ t: number }>(
          'noop',
          {
            batchSize: PER_WORKER,
            localConcurrency: 1,
            pollingIntervalSeconds: 0.5,
            burstWhenBatchFull: true,
          },
          async (jobs) => {
            for (const job of jobs) onJob(job.data);
          },
        );
      }
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop({ graceful: false }).catch(() => {})));
      await producer.stop({ graceful: false }).catch(() => {});
    },
  };
}

// ---- harness ----------------------------------------------------------------------------------

async function measure(system: System): Promise<Entry[]> {
  const entries: Entry[] = [];
  // Enqueue.
  let t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const now = Date.now();
    await system.enqueueBatch(Array.from({ length: Math.min(BATCH, N - i) }, () => ({ t: now })));
  }
  const enqueueSeconds = (performance.now() - t0) / 1000;
  entries.push({
    system: system.name,
    phase: 'enqueue',
    jobsPerSec: Math.round(N / enqueueSeconds),
    p50Ms: null,
    p99Ms: null,
  });

  // Process the backlog.
  let done = 0;
  const latencies: number[] = [];
  let trickling = false;
  t0 = performance.now();
  await system.start((payload) => {
    done++;
    if (trickling) latencies.push(Date.now() - payload.t);
  });
  await waitUntil(() => done >= N, 300_000, `${system.name} to process ${N} jobs`);
  const processSeconds = (performance.now() - t0) / 1000;
  entries.push({
    system: system.name,
    phase: 'process',
    jobsPerSec: Math.round(N / processSeconds),
    p50Ms: null,
    p99Ms: null,
  });

  // Latency: idle workers, one job at a time at a fixed rate.
  await sleep(1000);
  trickling = true;
  const count = RATE * TRICKLE_SECONDS;
  const interval = 1000 / RATE;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    await system.enqueueOne({ t: Date.now() });
  }
  await waitUntil(() => latencies.length >= count, 60_000, `${system.name} to run the trickled jobs`);
  latencies.sort((a, b) => a - b);
  entries.push({
    system: system.name,
    phase: 'latency',
    jobsPerSec: RATE,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  });
  await system.stop();
  return entries;
}

async function main(): Promise<void> {
  const cluster = await startCluster({ settings: { max_connections: '400' } });
  const proxy = await startWsProxy();
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${proxy.port}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.coalesceWrites = false;
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  const dbFor = async (name: string) => {
    await admin.query(`CREATE DATABASE ${name}`);
    return cluster.url(name);
  };
  const entries: Entry[] = [];
  try {
    const factories: [string, () => Promise<System>][] = [
      [
        'tideq-neon-ws',
        async () => {
          const url = await dbFor('tideq_neon');
          return tideq('tideq (Neon WebSocket, coalesceWrites off)', () => {
            const pool = new NeonPool({ connectionString: url, max: 4 });
            return { driver: neonPoolDriver(pool), end: () => pool.end() };
          });
        },
      ],
      [
        'tideq-pg',
        async () => {
          const url = await dbFor('tideq_pg');
          return tideq('tideq (node-postgres)', () => {
            const pool = new pg.Pool({ connectionString: url, max: 4 });
            return { driver: pgPoolDriver(pool), end: () => pool.end() };
          });
        },
      ],
      ['graphile-worker', async () => graphile(await dbFor('graphile'))],
      ['pg-boss', async () => pgBoss(await dbFor('pgboss'))],
    ];
    for (const [key, make] of factories) {
      if (opts.only && !opts.only.split(',').includes(key)) continue;
      const system = await make();
      if (!opts.json) console.error(`running ${system.name} ...`);
      entries.push(...(await measure(system)));
    }
  } finally {
    await admin.end();
    await proxy.close();
    await cluster.stop();
  }
  if (opts.json) {
    console.log(JSON.stringify(entries, null, 2));
    return;
  }
  const fmt = (v: number | null) => (v === null ? '' : String(v));
  const rows = entries.map((e) => [e.system, e.phase, fmt(e.jobsPerSec), fmt(e.p50Ms), fmt(e.p99Ms)]);
  const head = ['system', 'phase', 'jobs/s', 'p50 ms', 'p99 ms'];
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(
    `\nN=${N} jobs, batches of ${BATCH}, ${WORKERS} workers x ${PER_WORKER} concurrent, trickle ${RATE} jobs/s for ${TRICKLE_SECONDS} s`,
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
