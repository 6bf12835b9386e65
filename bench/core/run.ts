/**
 * Core benchmark: the WASM adapter (createMemoryQueue) and the reference adapter side by side.
 *
 *   npm run bench:core                # full matrix, median of 3 fresh processes per figure
 *   npm run bench:core -- --quick     # small matrix
 *   npm run bench:core -- --json      # one JSON object: { lifecycle: [...], memory: [...] }
 *   npm run bench:core -- --runs 5
 *
 * deep:   enqueue N jobs into a fresh queue (batches of B), then dequeue B + complete B until empty.
 * steady: per round enqueue B, dequeue B, complete B (the queue stays shallow).
 * Payloads of 0 or 256 bytes; the consumer reads every returned payload's bytes.
 * Memory per queued job, measured after the deep enqueue phase: WASM linear memory growth for
 * the WASM adapter; JS heap + array buffers after GC for the reference.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
// Sources, not dist/: the bench needs no build step (tsx compiles on the fly).
import {
  createMemoryQueue,
  createReferenceQueue,
  type Job,
  type QueueRepository,
} from '../../packages/core/src/index.js';

type Adapter = 'wasm' | 'reference';
type State = 'deep' | 'steady';

interface Cell {
  adapter: Adapter;
  state: State;
  jobs: number;
  batch: number;
  payload: number;
}

interface CellResult extends Cell {
  jobsPerSec: number;
  /** Jobs per second of this process's CPU time (user + system): robust to a shared, loaded machine. */
  jobsPerCpuSec: number;
  /** Bytes per queued job after the deep enqueue phase (deep only). */
  bytesPerJob?: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function fullGc(): void {
  if (gc === undefined) return;
  for (let i = 0; i < 3; i++) gc();
}

async function makeQueue(adapter: Adapter): Promise<{ repo: QueueRepository; memory: () => number }> {
  if (adapter === 'wasm') {
    const repo = await createMemoryQueue();
    return { repo, memory: () => repo.memoryBytes() };
  }
  const repo = createReferenceQueue();
  return {
    repo,
    memory: () => {
      fullGc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    },
  };
}

let checksum = 0;
function consume(jobs: Job[]): { id: number; status: 'successful' }[] {
  const out = new Array<{ id: number; status: 'successful' }>(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i]!;
    const p = j.payload;
    if (p !== null && p.length > 0) checksum += p[0]! + p[p.length - 1]!;
    out[i] = { id: j.id, status: 'successful' };
  }
  return out;
}

function makeBatch(batch: number, payload: number) {
  const bytes = new Uint8Array(payload).map((_, i) => i & 255);
  return Array.from({ length: batch }, () => ({
    entrypoint: 'bench',
    payload: payload === 0 ? null : bytes,
  }));
}

const DEQ = (batch: number) => ({
  batchSize: batch,
  entrypoints: { bench: {} },
  queueManagerId: 'bench-worker',
});

async function runCell(cell: Cell): Promise<CellResult> {
  const { repo, memory } = await makeQueue(cell.adapter);
  const batch = makeBatch(cell.batch, cell.payload);
  const deq = DEQ(cell.batch);
  if (cell.state === 'deep') {
    const before = memory();
    const c0 = cpuMs();
    const t0 = performance.now();
    for (let left = cell.jobs; left > 0; left -= cell.batch) {
      await repo.enqueue(left >= cell.batch ? batch : batch.slice(0, left));
    }
    const t1 = performance.now();
    const c1 = cpuMs();
    const after = memory();
    const c2 = cpuMs();
    const t2 = performance.now();
    let done = 0;
    for (;;) {
      const jobs = await repo.dequeue(deq);
      if (jobs.length === 0) break;
      await repo.complete(consume(jobs));
      done += jobs.length;
    }
    const t3 = performance.now();
    const c3 = cpuMs();
    if (done !== cell.jobs) throw new Error(`drained ${done} of ${cell.jobs}`);
    const ms = t1 - t0 + (t3 - t2);
    return {
      ...cell,
      jobsPerSec: Math.round((cell.jobs / ms) * 1000),
      jobsPerCpuSec: Math.round((cell.jobs / (c1 - c0 + (c3 - c2))) * 1000),
      bytesPerJob: Math.round((after - before) / cell.jobs),
    };
  }
  // steady: warm up, then time
  const rounds = Math.max(1, Math.floor(cell.jobs / cell.batch));
  const round = async () => {
    await repo.enqueue(batch);
    const jobs = await repo.dequeue(deq);
    await repo.complete(consume(jobs));
  };
  for (let i = 0; i < Math.min(rounds, 50); i++) await round();
  const c0 = cpuMs();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await round();
  const ms = performance.now() - t0;
  const cpu = cpuMs() - c0;
  return {
    ...cell,
    jobsPerSec: Math.round(((rounds * cell.batch) / ms) * 1000),
    jobsPerCpuSec: Math.round(((rounds * cell.batch) / cpu) * 1000),
  };
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function child(cells: Cell[]): Promise<void> {
  const results: CellResult[] = [];
  for (const cell of cells) results.push(await runCell(cell));
  process.stdout.write(`${JSON.stringify({ results, checksum })}\n`);
}

function spawnChild(cells: Cell[]): CellResult[] {
  const res = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      '--expose-gc',
      '--max-old-space-size=8192',
      fileURLToPath(import.meta.url),
      '--child',
      JSON.stringify(cells),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (res.status !== 0) throw new Error(`bench child failed (${res.status}): ${res.stderr}`);
  const line = res.stdout.trim().split('\n').pop()!;
  return (JSON.parse(line) as { results: CellResult[] }).results;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const childAt = args.indexOf('--child');
  if (childAt >= 0) return child(JSON.parse(args[childAt + 1]!) as Cell[]);
  const fromAt = args.indexOf('--from');
  if (fromAt >= 0) {
    // Print the tables of a saved --json result.
    const { readFileSync } = await import('node:fs');
    const saved = JSON.parse(readFileSync(args[fromAt + 1]!, 'utf8')) as Report;
    return printTables(saved);
  }
  const quick = args.includes('--quick');
  const json = args.includes('--json');
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
  const adapters: Adapter[] = ['wasm', 'reference'];
  const depths = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  const batches = quick ? [1, 100, 1000] : [1, 10, 100, 1000];
  const payloads = [0, 256];
  // Each child process runs one group of cells; every figure is the median over `runs` processes.
  const groups: Cell[][] = [];
  for (const adapter of adapters) {
    for (const payload of payloads) {
      for (const jobs of depths) groups.push([{ adapter, state: 'deep', jobs, batch: 1000, payload }]);
      groups.push(
        batches.map((batch) => ({
          adapter,
          state: 'steady' as const,
          // enough rounds for a stable figure, bounded for B = 1 (one call per job)
          jobs: batch === 1 ? (quick ? 5_000 : 20_000) : quick ? 50_000 : 200_000,
          batch,
          payload,
        })),
      );
    }
  }
  const samples = new Map<string, CellResult[]>();
  const key = (c: Cell) => `${c.adapter}|${c.state}|${c.jobs}|${c.batch}|${c.payload}`;
  for (let r = 0; r < runs; r++) {
    for (const group of groups) {
      for (const res of spawnChild(group)) {
        const list = samples.get(key(res)) ?? [];
        list.push(res);
        samples.set(key(res), list);
        if (!json) process.stderr.write('.');
      }
    }
  }
  if (!json) process.stderr.write('\n');
  const lifecycle = [...samples.values()].map((list) => {
    const c = list[0]!;
    return {
      adapter: c.adapter,
      state: c.state,
      jobs: c.jobs,
      batch: c.batch,
      payload: c.payload,
      jobsPerSec: median(list.map((x) => x.jobsPerSec)),
      jobsPerCpuSec: median(list.map((x) => x.jobsPerCpuSec)),
    };
  });
  // Memory per queued job from the deepest run of each adapter and payload.
  const deepest = Math.max(...depths);
  const memory = [...samples.values()]
    .filter((list) => list[0]!.state === 'deep' && list[0]!.jobs === deepest)
    .map((list) => ({
      adapter: list[0]!.adapter,
      payload: list[0]!.payload,
      jobs: deepest,
      bytesPerJob: median(list.map((x) => x.bytesPerJob!)),
    }));
  const report: Report = { runs, quick, lifecycle, memory };
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  printTables(report);
}

interface Report {
  runs: number;
  quick: boolean;
  lifecycle: {
    adapter: Adapter;
    state: State;
    jobs: number;
    batch: number;
    payload: number;
    jobsPerSec: number;
    jobsPerCpuSec: number;
  }[];
  memory: { adapter: Adapter; payload: number; jobs: number; bytesPerJob: number }[];
}

function printTables({ runs, lifecycle, memory }: Report): void {
  const deepest = Math.max(...memory.map((m) => m.jobs));
  const fmt = (n: number) => n.toLocaleString('en-US');
  console.log(`\nlifecycle (jobs/s, median of ${runs} fresh processes; wall clock, and per CPU second)\n`);
  console.log(
    '| state | jobs | batch | payload | wasm | reference | wasm / ref | wasm (cpu) | ref (cpu) | wasm / ref (cpu) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const find = (a: Adapter, c: { state: State; jobs: number; batch: number; payload: number }) =>
    lifecycle.find(
      (x) =>
        x.adapter === a &&
        x.state === c.state &&
        x.jobs === c.jobs &&
        x.batch === c.batch &&
        x.payload === c.payload,
    )!;
  for (const row of lifecycle.filter((x) => x.adapter === 'wasm')) {
    const ref = find('reference', row);
    console.log(
      `| ${row.state} | ${fmt(row.jobs)} | ${row.batch} | ${row.payload} | ${fmt(row.jobsPerSec)} | ${fmt(ref.jobsPerSec)} | ${(row.jobsPerSec / ref.jobsPerSec).toFixed(1)}x | ` +
        `${fmt(row.jobsPerCpuSec)} | ${fmt(ref.jobsPerCpuSec)} | ${(row.jobsPerCpuSec / ref.jobsPerCpuSec).toFixed(1)}x |`,
    );
  }
  console.log(`\nmemory per queued job (${fmt(deepest)} queued)\n`);
  console.log('| adapter | payload | bytes/job |');
  console.log('|---|---:|---:|');
  for (const m of memory) console.log(`| ${m.adapter} | ${m.payload} | ${fmt(m.bytesPerJob)} |`);
}

await main();
