/**
 * The systems bench.ts compares, each as a producer (enqueue, in the harness process) and a set
 * of workers (started in a child process, worker.ts), and the settings each runs at.
 *
 * Settings:
 * - `equal`: the same concurrency for everyone, 4 workers x 25 concurrent jobs (tideq batchSize
 *   25, graphile-worker a local queue of 50, pg-boss batchSize 25).
 * - `best`: each system as its documentation recommends for throughput. graphile-worker: the
 *   configuration of its performance page (https://worker.graphile.org/docs/performance):
 *   4 instances, `concurrentJobs` 24, `maxPoolSize` 25, `localQueue: { size: 500 }`,
 *   `completeJobBatchDelay`/`failJobBatchDelay` 0. pg-boss: `batchSize` 100 with
 *   `burstWhenBatchFull`, LISTEN/NOTIFY (`useListenNotify`, queue `notify: true`). tideq: the
 *   best of a sweep over batchSize / maxConcurrentTasks / managers (bench/RESULTS.md).
 */
import { Pool as NeonPool, neonConfig } from '@neondatabase/serverless';
import { jsonCodec, QueueManager } from '@tideq/core';
import { createPostgresQueue, neonPoolDriver, pgPoolDriver, type SqlDriver } from '@tideq/postgres';
import { Logger, makeWorkerUtils, run as runGraphile } from 'graphile-worker';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { WebSocket } from 'ws';

export const SYSTEMS = ['tideq-pg', 'tideq-neon-ws', 'graphile-worker', 'pg-boss'] as const;
export type SystemKey = (typeof SYSTEMS)[number];
export const SETTINGS = ['equal', 'best'] as const;
export type SettingName = (typeof SETTINGS)[number];

export const LABELS: Record<SystemKey, string> = {
  'tideq-pg': 'tideq (node-postgres)',
  'tideq-neon-ws': 'tideq (Neon WebSocket)',
  'graphile-worker': 'graphile-worker 0.18',
  'pg-boss': 'pg-boss 12',
};

/** How many workers (each its own pool / runner / PgBoss instance), and each one's sizes. */
export interface WorkerSetting {
  workers: number;
  /** Jobs running at once per worker. */
  concurrency: number;
  /** Jobs fetched per query (tideq batchSize, graphile-worker localQueue.size, pg-boss batchSize). */
  batch: number;
}

/** tideq's best: what the sweep in bench/RESULTS.md found (override with --tideq-best). */
export const TIDEQ_BEST: WorkerSetting = { workers: 2, concurrency: 1000, batch: 1000 };

export function settingFor(key: SystemKey, setting: SettingName, tideqBest = TIDEQ_BEST): WorkerSetting {
  if (setting === 'equal') {
    return { workers: 4, concurrency: 25, batch: key === 'graphile-worker' ? 50 : 25 };
  }
  switch (key) {
    case 'graphile-worker':
      return { workers: 4, concurrency: 24, batch: 500 };
    case 'pg-boss':
      return { workers: 4, concurrency: 100, batch: 100 };
    default:
      return tideqBest;
  }
}

export const describe = (key: SystemKey, s: WorkerSetting): string => {
  switch (key) {
    case 'graphile-worker':
      return `${s.workers} x concurrentJobs ${s.concurrency}, localQueue ${s.batch}, batch delays 0`;
    case 'pg-boss':
      return `${s.workers} x batchSize ${s.batch}, burstWhenBatchFull, LISTEN/NOTIFY`;
    default:
      return `${s.workers} x batchSize ${s.batch}, maxConcurrentTasks ${s.concurrency}`;
  }
};

export interface Payload {
  /** Date.now() at enqueue. */
  t: number;
}

export interface Producer {
  enqueueBatch(payloads: Payload[]): Promise<void>;
  enqueueOne(payload: Payload): Promise<void>;
  close(): Promise<void>;
}

export interface Workers {
  stop(): Promise<void>;
}

/** Neon's driver through the local WebSocket-to-TCP relay (packages/postgres/test/infra). */
export function configureNeon(wsProxyPort: number): void {
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${wsProxyPort}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.coalesceWrites = false;
}

function tideqDriver(key: SystemKey, url: string): { driver: SqlDriver; end: () => Promise<void> } {
  if (key === 'tideq-neon-ws') {
    const pool = new NeonPool({ connectionString: url, max: 4 });
    return { driver: neonPoolDriver(pool), end: () => pool.end() };
  }
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  return { driver: pgPoolDriver(pool), end: () => pool.end() };
}

const codec = jsonCodec<Payload>();
const silent = new Logger(() => () => {});

/** Installs the system's schema (outside the timed enqueue) and returns its producer. */
export async function makeProducer(key: SystemKey, url: string): Promise<Producer> {
  switch (key) {
    case 'graphile-worker': {
      // Our own pool, so a connection the harness ends (DROP DATABASE ... WITH (FORCE)) is handled.
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      pool.on('error', () => {});
      pool.on('connect', (client) => client.on('error', () => {}));
      const utils = await makeWorkerUtils({ pgPool: pool, logger: silent });
      await utils.migrate();
      return {
        enqueueBatch: async (payloads) => {
          await utils.addJobs(payloads.map((p) => ({ identifier: 'noop', payload: p })));
        },
        enqueueOne: async (payload) => {
          await utils.addJobs([{ identifier: 'noop', payload }]);
        },
        close: async () => {
          await utils.release();
          await pool.end();
        },
      };
    }
    case 'pg-boss': {
      const boss = new PgBoss({ connectionString: url, useListenNotify: true, max: 4 });
      boss.on('error', () => {});
      await boss.start();
      await boss.createQueue('noop', { notify: true });
      return {
        enqueueBatch: async (payloads) => {
          await boss.insert(
            'noop',
            payloads.map((p) => ({ data: p })),
          );
        },
        enqueueOne: async (payload) => {
          await boss.send('noop', payload);
        },
        close: () => boss.stop({ graceful: false }).catch(() => {}),
      };
    }
    default: {
      const d = tideqDriver(key, url);
      const queue = createPostgresQueue({ driver: d.driver });
      await queue.install();
      return {
        enqueueBatch: async (payloads) => {
          await queue.enqueue(payloads.map((p) => ({ entrypoint: 'noop', payload: codec.encode(p) })));
        },
        enqueueOne: async (payload) => {
          await queue.enqueue([{ entrypoint: 'noop', payload: codec.encode(payload) }]);
        },
        close: () => d.end(),
      };
    }
  }
}

/** Starts `s.workers` workers calling `onJob(payload)` as each no-op job starts. */
export async function startWorkers(
  key: SystemKey,
  url: string,
  s: WorkerSetting,
  onJob: (payload: Payload) => void,
): Promise<Workers> {
  switch (key) {
    case 'graphile-worker': {
      const runners: { stop: () => Promise<void> }[] = [];
      for (let i = 0; i < s.workers; i++) {
        runners.push(
          await runGraphile({
            connectionString: url,
            noHandleSignals: true,
            logger: silent,
            taskList: {
              noop: async (payload) => {
                onJob(payload as Payload);
              },
            },
            preset: {
              worker: {
                concurrentJobs: s.concurrency,
                maxPoolSize: s.concurrency + 1,
                localQueue: { size: s.batch },
                completeJobBatchDelay: 0,
                failJobBatchDelay: 0,
              },
            },
          }),
        );
      }
      return { stop: async () => void (await Promise.all(runners.map((r) => r.stop()))) };
    }
    case 'pg-boss': {
      const bosses: PgBoss[] = [];
      for (let i = 0; i < s.workers; i++) {
        const boss = new PgBoss({ connectionString: url, useListenNotify: true, max: 4 });
        boss.on('error', () => {});
        await boss.start();
        bosses.push(boss);
        await boss.work<Payload>(
          'noop',
          { batchSize: s.batch, localConcurrency: 1, burstWhenBatchFull: true },
          async (jobs) => {
            for (const job of jobs) onJob(job.data);
          },
        );
      }
      return {
        stop: async () =>
          void (await Promise.all(bosses.map((b) => b.stop({ graceful: false }).catch(() => {})))),
      };
    }
    default: {
      const drivers: { end: () => Promise<void> }[] = [];
      const stops: AbortController[] = [];
      const runs: Promise<void>[] = [];
      for (let i = 0; i < s.workers; i++) {
        const d = tideqDriver(key, url);
        drivers.push(d);
        const repo = createPostgresQueue({ driver: d.driver });
        const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('noop', { codec }, ({ payload }) =>
          onJob(payload),
        );
        const stop = new AbortController();
        stops.push(stop);
        runs.push(qm.run({ signal: stop.signal, batchSize: s.batch, maxConcurrentTasks: s.concurrency }));
      }
      return {
        stop: async () => {
          for (const c of stops) c.abort();
          await Promise.all(runs);
          await Promise.all(drivers.map((d) => d.end()));
        },
      };
    }
  }
}
