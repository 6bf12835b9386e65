/**
 * Soak: millions of jobs through one QueueManager with the default retention, memory sampled as
 * it goes. The process and the store must stay flat after warm-up (issue #11: before retention a
 * WASM queue that had run 3M jobs held 959 MB RSS).
 *
 *   npm run bench:soak                          # 10M jobs on the WASM core, a table
 *   npm run bench:soak -- --json                # one line: {"samples":[{"jobs","rssBytes","storeBytes"},...]}
 *   npm run bench:soak -- --store postgres      # a throwaway local cluster; storeBytes = table sizes
 *   npm run bench:soak -- --jobs 1000000 --samples 20
 *
 * A producer keeps about 20,000 jobs queued (batches of 1,000, 64-byte payloads) while the
 * manager drains them with a no-op handler. storeBytes: the WASM core's linear memory (it never
 * shrinks, so growth shows up at once), or pg_total_relation_size of every table of the queue.
 */
import { parseArgs } from 'node:util';
import { createMemoryQueue, QueueManager, type QueueRepository } from '../../packages/core/src/index.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    store: { type: 'string', default: 'wasm' },
    jobs: { type: 'string' },
    samples: { type: 'string', default: '20' },
  },
});
const STORE = values.store;
if (STORE !== 'wasm' && STORE !== 'postgres')
  throw new Error(`--store must be wasm or postgres, got ${STORE}`);
const JOBS = Number(values.jobs ?? (STORE === 'wasm' ? 10_000_000 : 300_000));
const SAMPLES = Math.max(10, Number(values.samples));
const BATCH = 1000;
const DEPTH = 20_000;

interface Sample {
  jobs: number;
  rssBytes: number;
  storeBytes: number;
}

interface Store {
  repo: QueueRepository;
  storeBytes(): Promise<number>;
  /** Where the bytes are (Postgres: per table, with dead rows), for the text report. */
  breakdown(): Promise<string>;
  close(): Promise<void>;
}

async function wasmStore(): Promise<Store> {
  const repo = await createMemoryQueue();
  return {
    repo,
    storeBytes: async () => repo.memoryBytes(),
    breakdown: async () => `linear memory ${mib(repo.memoryBytes())}, heap in use ${mib(repo.heapBytes())}`,
    close: () => repo.close(),
  };
}

async function postgresStore(): Promise<Store> {
  const { startCluster } = await import('../../packages/postgres/test/infra/cluster.ts');
  const { createPostgresQueue, pgPoolDriver } = await import('../../packages/postgres/src/index.ts');
  const pg = (await import('pg')).default;
  // Autovacuum every 10 s instead of every minute: the queue tables churn (every job row is
  // inserted, updated and deleted); their size plateaus once vacuum reuses the dead rows' space,
  // and a short soak should reach that plateau. Production queues want the same (see README).
  const cluster = await startCluster({ settings: { autovacuum_naptime: '10s' } });
  const pool = new pg.Pool({ connectionString: cluster.url(), max: 6 });
  const repo = createPostgresQueue({ driver: pgPoolDriver(pool), schema: 'soak' });
  await repo.install();
  return {
    repo,
    async storeBytes() {
      const { rows } = await pool.query(
        `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'soak' AND c.relkind = 'r'`,
      );
      return Number(rows[0].bytes);
    },
    async breakdown() {
      const { rows } = await pool.query(
        `SELECT relname, pg_total_relation_size(relid)::bigint AS bytes, n_live_tup, n_dead_tup, autovacuum_count
           FROM pg_stat_user_tables WHERE schemaname = 'soak' ORDER BY 2 DESC`,
      );
      return rows
        .map(
          (r) =>
            `${r.relname} ${mib(Number(r.bytes))} (${r.n_live_tup} live, ${r.n_dead_tup} dead rows, ${r.autovacuum_count} autovacuums)`,
        )
        .join('; ');
    },
    async close() {
      await repo.close();
      await pool.end();
      await cluster.stop();
    },
  };
}

const store = STORE === 'wasm' ? await wasmStore() : await postgresStore();
const { repo } = store;
const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('soak', () => {});
const stop = new AbortController();
const running = qm.run({ signal: stop.signal, batchSize: BATCH, maxConcurrentTasks: 2 * BATCH });
const done = (): number => qm.stats().soak!.successful;

const payload = new Uint8Array(64).fill(1);
const batch = Array.from({ length: BATCH }, () => ({ entrypoint: 'soak', payload }));
const samples: Sample[] = [];
const every = Math.ceil(JOBS / SAMPLES);
let produced = 0;
let nextSample = every;
const started = performance.now();
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

while (samples.length < SAMPLES) {
  if (produced < JOBS && produced - done() < DEPTH) {
    await repo.enqueue(batch);
    produced += BATCH;
  } else {
    await tick();
  }
  if (done() >= nextSample || done() >= JOBS) {
    samples.push({ jobs: done(), rssBytes: process.memoryUsage().rss, storeBytes: await store.storeBytes() });
    nextSample += every;
    // Progress on stderr in both modes: with --json, stdout carries only the one line.
    const s = samples.at(-1)!;
    const rate = Math.round(s.jobs / ((performance.now() - started) / 1000));
    console.error(`${s.jobs} jobs: rss ${mib(s.rssBytes)}, store ${mib(s.storeBytes)} (${rate} jobs/s)`);
  }
}
stop.abort();
await running;
const seconds = (performance.now() - started) / 1000;
const log = await repo.log({ after: 0, limit: 1 });
const breakdown = await store.breakdown();
await store.close();

if (values.json) {
  console.log(JSON.stringify({ samples }));
  console.error(`store at the end: ${breakdown}`);
} else {
  // Warm-up: the first quarter of the samples (the log fills up to its retention meanwhile).
  const steady = samples.slice(Math.floor(samples.length / 4));
  const growth = (key: 'rssBytes' | 'storeBytes'): string => {
    const first = steady[0]![key];
    const max = Math.max(...steady.map((s) => s[key]));
    return `${mib(first)} -> max ${mib(max)} (${(((max - first) / first) * 100).toFixed(1)}%)`;
  };
  console.log(`soak on ${STORE}: ${samples.at(-1)!.jobs} jobs in ${seconds.toFixed(0)} s`);
  console.log(
    `after warm-up (${steady[0]!.jobs} jobs): rss ${growth('rssBytes')}, store ${growth('storeBytes')}`,
  );
  console.log(`oldest log row kept: seq ${log[0]?.seq ?? '-'}`);
  console.log(`store at the end: ${breakdown}`);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
