/**
 * The edge benchmark: cold start (instantiate the WASM + first enqueue) in workerd and in Node,
 * POST /jobs throughput with batches of 100 into the memory queue in workerd, and the gzip size of
 * the bundled edge entry with its .wasm, without and with the Neon driver.
 *
 *   npm run bench:edge              # table
 *   npm run bench:edge -- --json    # one line: {"coldStartMs":{"workerd":N,"node":N},"enqueue":{...},"bundle":{...}}
 *   npm run bench:edge -- --rounds 5 --seconds 3 --connections 8
 *
 * Cold start in workerd: the latency of the first POST /jobs on a fresh workerd (the store is
 * created on that request) minus the median latency of GET /health on the same, now warm, worker
 * (the HTTP round trip through Miniflare's entry worker). workerd freezes its clocks between I/O, so
 * the time cannot be taken inside the isolate. In Node: measured in a fresh process around the same
 * work (file read + compile + instantiate + first enqueue through handler.fetch).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const JSON_OUT = args.includes('--json');
const ROUNDS = flag('--rounds', 5);
const SECONDS = flag('--seconds', 3);
const CONNECTIONS = flag('--connections', 8);
const BATCH = 100;
const TOKEN = 'bench-token-0123456789';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const WASM = here('../../packages/core/wasm/tideq_core.wasm');
const wasmBytes = new Uint8Array(readFileSync(WASM));
const scratch = mkdtempSync(join(tmpdir(), 'tideq-bench-edge-'));
const run = promisify(execFile);

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round1 = (n: number) => Math.round(n * 10) / 10;

const wasmExternal: Plugin = {
  name: 'wasm-external',
  setup(b) {
    b.onResolve({ filter: /\.wasm$/ }, () => ({ path: 'tideq_core.wasm', external: true }));
  },
};

/** As wrangler bundles for workerd (esbuild, ESM, browser platform), minified as `wrangler deploy --minify`. */
async function bundleWorker(entry: string, minify: boolean): Promise<string> {
  const result = await build({
    entryPoints: [here(entry)],
    bundle: true,
    write: false,
    format: 'esm',
    platform: entry.endsWith('cold-node.ts') ? 'node' : 'browser',
    target: 'es2022',
    minify,
    conditions: ['source', 'workerd', 'worker', 'browser'],
    plugins: [wasmExternal],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

function startWorker(script: string): Miniflare {
  return new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        {
          name: 'bench',
          modules: [
            { type: 'ESModule', path: 'worker.js', contents: script },
            { type: 'CompiledWasm', path: 'tideq_core.wasm', contents: wasmBytes },
          ],
          compatibilityDate: '2025-09-01',
          bindings: { TOKEN },
          // A socket straight to this worker, bypassing Miniflare's entry worker.
          unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
        },
      ],
    }),
  );
}

const jobsBody = JSON.stringify({
  jobs: Array.from({ length: BATCH }, (_, i) => ({ entrypoint: 'noop', payload: { i } })),
});
const oneJob = '{"entrypoint":"noop"}';

/**
 * One HTTP request over a keep-alive node:http agent (cheaper on the client than fetch, so the
 * worker is what is measured); resolves to [status, ms].
 */
function send(
  agent: Agent,
  url: URL,
  method: string,
  token: string,
  body?: string,
): Promise<[number, number]> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve([res.statusCode ?? 0, performance.now() - t]));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** This process's workerd children (Miniflare starts one per instance). */
function workerdPids(): string[] {
  const pids: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (comm.startsWith('workerd') && ppid === process.pid) pids.push(pid);
    } catch {
      // The process ended meanwhile.
    }
  }
  return pids;
}

/**
 * CPU seconds used so far by this process's workerd children, summed over their threads from
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds on CPU): on a shared machine, CPU time says what a
 * dedicated core would do, where wall time follows the load.
 */
function workerdCpuSeconds(): number {
  let ns = 0;
  for (const pid of workerdPids()) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      }
    } catch {
      // The process ended meanwhile.
    }
  }
  return ns / 1e9;
}

/** The user worker's own socket (not Miniflare's entry worker in front of it). */
async function directUrl(mf: Miniflare): Promise<URL> {
  await mf.ready;
  return mf.unsafeGetDirectURL('bench');
}

/**
 * Per fresh workerd: a request refused by auth first (warms the isolate, HTTP, crypto; the store is
 * not touched), then the first POST /jobs (creates the store: instantiate the WASM + first enqueue),
 * minus the median of the same request warm.
 */
async function coldStartWorkerd(
  script: string,
): Promise<{ cold: number; first: number; floor: number; coldCpu: number }> {
  const firsts: number[] = [];
  const colds: number[] = [];
  const floors: number[] = [];
  const coldCpus: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const mf = startWorker(script);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const jobs = new URL('jobs', await directUrl(mf));
      const [refused] = await send(agent, jobs, 'POST', 'wrong-token-0123456789', oneJob);
      if (refused !== 401) throw new Error(`expected 401, got ${refused}`);
      let cpu = workerdCpuSeconds();
      const [status, first] = await send(agent, jobs, 'POST', TOKEN, oneJob);
      const firstCpu = workerdCpuSeconds() - cpu;
      if (status !== 201) throw new Error(`first POST /jobs: HTTP ${status}`);
      const warm: number[] = [];
      for (let i = 0; i < 5; i++) await send(agent, jobs, 'POST', TOKEN, oneJob);
      cpu = workerdCpuSeconds();
      for (let i = 0; i < 20; i++) warm.push((await send(agent, jobs, 'POST', TOKEN, oneJob))[1]);
      const warmCpu = (workerdCpuSeconds() - cpu) / 20;
      coldCpus.push(Math.max(0, (firstCpu - warmCpu) * 1000));
      const floor = median(warm);
      firsts.push(first);
      floors.push(floor);
      colds.push(Math.max(0, first - floor));
    } finally {
      agent.destroy();
      await mf.dispose();
    }
  }
  return { cold: median(colds), first: median(firsts), floor: median(floors), coldCpu: median(coldCpus) };
}

async function coldStartNode(): Promise<{ ms: number; cpuMs: number }> {
  const file = join(scratch, 'cold-node.mjs');
  writeFileSync(file, await bundleWorker('./cold-node.ts', false));
  const times: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const { stdout } = await run(process.execPath, [file, WASM]);
    const { ms, cpuMs } = JSON.parse(stdout) as { ms: number; cpuMs: number };
    times.push(ms);
    cpus.push(cpuMs);
  }
  return { ms: median(times), cpuMs: median(cpus) };
}

async function enqueueThroughput(
  script: string,
): Promise<{ requestsPerSec: number; jobsPerSec: number; jobsPerWorkerdCpuSecond: number }> {
  const perRound: number[] = [];
  const perCpu: number[] = [];
  for (let r = 0; r < Math.min(ROUNDS, 3); r++) {
    const mf = startWorker(script);
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    try {
      const url = new URL('jobs', await directUrl(mf));
      const post = async () => {
        const [status] = await send(agent, url, 'POST', TOKEN, jobsBody);
        if (status !== 201) throw new Error(`POST /jobs: HTTP ${status}`);
      };
      // Warm up: the store, the JIT, the connections.
      for (let i = 0; i < 50; i++) await post();
      let requests = 0;
      const end = performance.now() + SECONDS * 1000;
      const cpu = workerdCpuSeconds();
      const t = performance.now();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < end) {
            await post();
            requests++;
          }
        }),
      );
      perRound.push(requests / ((performance.now() - t) / 1000));
      const cpuUsed = workerdCpuSeconds() - cpu;
      if (cpuUsed > 0) perCpu.push((requests * BATCH) / cpuUsed);
    } finally {
      agent.destroy();
      await mf.dispose();
    }
  }
  const requestsPerSec = median(perRound);
  return {
    requestsPerSec: Math.round(requestsPerSec),
    jobsPerSec: Math.round(requestsPerSec * BATCH),
    jobsPerWorkerdCpuSecond: perCpu.length > 0 ? Math.round(median(perCpu)) : 0,
  };
}

try {
  const memory = await bundleWorker('./worker.ts', true);
  const withNeon = await bundleWorker('./worker-neon.ts', true);
  const wasmGzip = gzipSync(wasmBytes, { level: 9 }).byteLength;
  const bundle = {
    gzipBytes: gzipSync(memory, { level: 9 }).byteLength + wasmGzip,
    gzipBytesWithNeon: gzipSync(withNeon, { level: 9 }).byteLength + wasmGzip,
  };
  const workerd = await coldStartWorkerd(await bundleWorker('./worker.ts', false));
  const node = await coldStartNode();
  const enqueue = await enqueueThroughput(await bundleWorker('./worker.ts', false));
  const result = {
    coldStartMs: { workerd: round1(workerd.cold), node: round1(node.ms) },
    enqueue: { requestsPerSec: enqueue.requestsPerSec, jobsPerSec: enqueue.jobsPerSec },
    bundle,
  };
  if (JSON_OUT) {
    console.log(JSON.stringify(result));
  } else {
    console.log(`rounds ${ROUNDS} (medians), ${SECONDS} s x ${CONNECTIONS} connections, batches of ${BATCH}`);
    console.log(
      `cold start, workerd: ${round1(workerd.cold)} ms (first POST /jobs ${round1(workerd.first)} ms - the same request warm ${round1(workerd.floor)} ms); workerd CPU ${round1(workerd.coldCpu)} ms  target <= 20 ms`,
    );
    console.log(
      `cold start, node:    ${round1(node.ms)} ms, CPU ${round1(node.cpuMs)} ms (fresh process: read + compile + instantiate + first enqueue)`,
    );
    console.log(
      `POST /jobs in workerd: ${enqueue.requestsPerSec} requests/s, ${enqueue.jobsPerSec} jobs/s  target >= 50000 jobs/s`,
    );
    console.log(
      `  per workerd CPU-second: ${enqueue.jobsPerWorkerdCpuSecond} jobs (what one dedicated core would do)`,
    );
    console.log(
      `  load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
    console.log(
      `bundle (minified JS + .wasm, gzip -9): ${(bundle.gzipBytes / 1024).toFixed(1)} KiB without Neon (target <= 100 KB), ${(bundle.gzipBytesWithNeon / 1024).toFixed(1)} KiB with Neon`,
    );
    console.log(
      `  of which the .wasm: ${(wasmGzip / 1024).toFixed(1)} KiB; JS: ${((bundle.gzipBytes - wasmGzip) / 1024).toFixed(1)} KiB / ${((bundle.gzipBytesWithNeon - wasmGzip) / 1024).toFixed(1)} KiB`,
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
