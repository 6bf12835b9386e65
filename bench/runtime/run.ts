/**
 * End-to-end throughput of the runtime: jobs/s through QueueManager (enqueue, then a drain with
 * no-op async handlers) on each in-memory adapter, against the raw adapter lifecycle (the same
 * enqueue, then dequeue + complete called directly in batches), and the runtime's cost per job.
 *
 *   npm run bench:runtime              # table
 *   npm run bench:runtime -- --json    # one JSON line per entry: { adapter, scenario, jobsPerSec, ... }
 *   npm run bench:runtime -- --jobs 500000 --rounds 5
 */
// The sources, not dist: the numbers are for the code in this tree.
import {
  createMemoryQueue,
  createReferenceQueue,
  type DequeueOptions,
  type Job,
  type NewJob,
  QueueManager,
  type QueueRepository,
} from '../../packages/core/src/index.js';

interface Entry {
  adapter: string;
  scenario: string;
  jobs: number;
  batch: number;
  seconds: number;
  jobsPerSec: number;
  usPerJob: number;
  /** QueueManager entries: µs per job over the raw lifecycle of the same adapter. */
  overheadUsPerJob?: number;
}

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const JSON_OUT = args.includes('--json');
const JOBS = flag('--jobs', 200_000);
const BATCH = flag('--batch', 1000);
const ROUNDS = flag('--rounds', 5);

const adapters: { name: string; create: () => Promise<QueueRepository> }[] = [
  { name: 'reference', create: async () => createReferenceQueue() },
  { name: 'wasm', create: () => createMemoryQueue() },
  { name: 'stub port', create: async () => stubPort() },
];

const jobs = Array.from({ length: BATCH }, () => ({ entrypoint: 'noop' }));

async function enqueueAll(repo: QueueRepository): Promise<void> {
  for (let n = 0; n < JOBS; n += BATCH) await repo.enqueue(jobs);
}

/** enqueue, then dequeue + complete in batches, with `subscribers` no-op event listeners. */
async function raw(repo: QueueRepository, subscribers: number): Promise<number> {
  for (let i = 0; i < subscribers; i++) await repo.subscribe(() => {});
  const t = performance.now();
  await enqueueAll(repo);
  const options = { batchSize: BATCH, entrypoints: { noop: {} }, queueManagerId: 'raw' };
  for (;;) {
    const picked = await repo.dequeue(options);
    if (picked.length === 0) break;
    await repo.complete(picked.map((j) => ({ id: j.id, status: 'successful' as const })));
  }
  await new Promise((resolve) => setImmediate(resolve)); // let the last events be delivered
  return performance.now() - t;
}

async function managed(repo: QueueRepository): Promise<number> {
  const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('noop', async () => {});
  const t = performance.now();
  await enqueueAll(repo);
  await qm.run({ mode: 'drain', batchSize: BATCH, maxConcurrentTasks: BATCH });
  const ms = performance.now() - t;
  const s = qm.stats().noop!;
  if (s.successful !== JOBS) throw new Error(`expected ${JOBS} successful jobs, got ${s.successful}`);
  return ms;
}

/**
 * The least a store can do for the loop (a FIFO array, no validation, no events), to measure the
 * runtime's own cost per job. Only the methods QueueManager calls exist.
 */
function stubPort(): QueueRepository {
  const queue: Job[] = [];
  let head = 0;
  let nextId = 1;
  const stub = {
    async enqueue(batch: readonly NewJob[]) {
      return batch.map((j) => {
        const id = nextId++;
        queue.push({
          id,
          entrypoint: j.entrypoint,
          payload: null,
          priority: 0,
          executeAfter: 0,
          dedupeKey: null,
          headers: null,
          status: 'queued',
          attempts: 0,
          heartbeat: 0,
          created: 0,
          updated: 0,
          queueManagerId: null,
          lastError: null,
        });
        return id;
      });
    },
    async dequeue(o: DequeueOptions) {
      const picked = queue.slice(head, head + o.batchSize);
      head += picked.length;
      for (const j of picked) {
        j.status = 'picked';
        j.attempts++;
      }
      return picked;
    },
    async complete(results: readonly unknown[]) {
      return results.map(() => true);
    },
    async nextDueAt() {
      return head < queue.length ? 0 : null;
    },
    async subscribe() {
      return async () => {};
    },
    async close() {},
  };
  return stub as unknown as QueueRepository;
}

function entry(adapter: string, scenario: string, ms: number): Entry {
  return {
    adapter,
    scenario,
    jobs: JOBS,
    batch: BATCH,
    seconds: round(ms / 1000),
    jobsPerSec: Math.round(JOBS / (ms / 1000)),
    usPerJob: round((ms * 1000) / JOBS),
  };
}

/** Median time over ROUNDS fresh stores (the machine is shared; the median resists outliers). */
async function median(create: () => Promise<QueueRepository>, run: (r: QueueRepository) => Promise<number>) {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const repo = await create();
    times.push(await run(repo));
    await repo.close();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const results: Entry[] = [];
for (const adapter of adapters) {
  let rawUs: number | undefined;
  if (adapter.name !== 'stub port') {
    const rawEntry = entry(adapter.name, 'raw lifecycle', await median(adapter.create, (r) => raw(r, 0)));
    rawUs = rawEntry.usPerJob;
    results.push(rawEntry);
    results.push(
      entry(adapter.name, 'raw lifecycle + 1 subscriber', await median(adapter.create, (r) => raw(r, 1))),
    );
  }
  const run = entry(adapter.name, 'QueueManager drain', await median(adapter.create, managed));
  // What the runtime adds over driving the adapter by hand (the stub port: the runtime's whole cost).
  run.overheadUsPerJob = round(run.usPerJob - (rawUs ?? 0));
  results.push(run);
}

if (JSON_OUT) {
  for (const r of results) console.log(JSON.stringify(r));
} else {
  console.log(
    `runtime bench: ${JOBS} jobs, batches of ${BATCH}, median of ${ROUNDS}, node ${process.version}`,
  );
  console.log('adapter    scenario                          jobs/s      µs/job   overhead µs/job');
  for (const r of results) {
    const overhead = r.overheadUsPerJob === undefined ? '' : r.overheadUsPerJob.toFixed(3).padStart(18);
    console.log(
      `${r.adapter.padEnd(10)} ${r.scenario.padEnd(30)} ${String(r.jobsPerSec).padStart(10)} ${r.usPerJob.toFixed(3).padStart(10)}${overhead}`,
    );
  }
}
