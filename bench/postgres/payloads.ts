/**
 * `npm run bench:payloads [-- --jobs 200 --http-jobs 50 --size 1048576 --batches 3 --only pg,neon-ws,neon-http --json]`
 *
 * Enqueue throughput (MB/s of payload) and peak RSS for large payloads, per driver: node-postgres
 * Pool, Neon WebSocket Pool (through the local relay) and Neon HTTP (through the local endpoint),
 * against a throwaway PostgreSQL. Each driver runs in a fresh child process so its peak RSS
 * (getrusage maxrss) is its own. `legacy-hex` repeats the pre-fix client path (payloads turned
 * into hex one byte at a time, sent as a text[] and decoded by the server) on the same server
 * and driver, as the before figure; it is run with fewer jobs (--legacy-jobs, default 16) because
 * at 200 jobs of 1 MiB it runs out of heap. Neon HTTP sends a batch as one JSON request (hex text
 * inside), so it runs smaller batches (--http-jobs, default 50): a 200 MiB request body is more
 * than an HTTP SQL endpoint should be asked to take (the local one sometimes drops it).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool as NeonPool, neon, neonConfig } from '@neondatabase/serverless';
import {
  createPostgresQueue,
  neonHttpDriver,
  neonPoolDriver,
  pgPoolDriver,
  type SqlDriver,
} from '@tideq/postgres';
import pg from 'pg';
import { WebSocket } from 'ws';
import { startCluster } from '../../packages/postgres/test/infra/cluster.ts';
import { startHttpEndpoint, startWsProxy } from '../../packages/postgres/test/infra/neon-local.ts';

const DRIVERS = ['pg', 'neon-ws', 'neon-http'] as const;
type Driver = (typeof DRIVERS)[number];

interface Sample {
  driver: Driver;
  mode: 'binary' | 'legacy-hex';
  jobs: number;
  payloadBytes: number;
  batchMiB: number;
  /** Median over the batches. */
  mbPerSecond: number;
  batchSeconds: number[];
  baselineRssMiB: number;
  peakRssMiB: number;
  /** (peak RSS - RSS before the first enqueue) / batch bytes */
  peakOverBatch: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MiB = 1024 * 1024;

// ---- child: one driver, one mode --------------------------------------------------------------

async function child(argv: string[]): Promise<void> {
  const [driverName, mode, connectionString, wsPort, httpPort, jobsArg, sizeArg, batchesArg] = argv;
  const kind = driverName as Driver;
  const jobs = Number(jobsArg);
  const size = Number(sizeArg);
  const batches = Number(batchesArg);
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${wsPort}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.coalesceWrites = false;
  neonConfig.fetchEndpoint = `http://127.0.0.1:${httpPort}/sql`;
  let driver: SqlDriver;
  let close = async () => {};
  if (kind === 'pg') {
    const pool = new pg.Pool({ connectionString, max: 2 });
    driver = pgPoolDriver(pool);
    close = () => pool.end();
  } else if (kind === 'neon-ws') {
    const pool = new NeonPool({ connectionString, max: 2 });
    driver = neonPoolDriver(pool);
    close = () => pool.end();
  } else {
    driver = neonHttpDriver(neon(connectionString, { fullResults: true }));
  }
  const schema = `pl_${kind.replace('-', '_')}_${mode.replace('-', '_')}`;
  const repo = createPostgresQueue({ driver, schema, listen: false });
  await repo.install();
  await driver.query(`CREATE TABLE IF NOT EXISTS ${schema}.legacy (p bytea)`);
  // Distinct payloads, allocated before the baseline is taken.
  const payloads = Array.from({ length: jobs }, (_, i) => new Uint8Array(size).fill(i % 251));
  // Warm up (connection, prepared statement) with a small batch.
  await repo.enqueue([{ entrypoint: 'warm', payload: new Uint8Array(16) }]);
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  const seconds: number[] = [];
  for (let b = 0; b < batches; b++) {
    const started = performance.now();
    if (mode === 'binary') {
      const ids = await repo.enqueue(payloads.map((payload) => ({ entrypoint: 'big', payload })));
      if (ids.length !== jobs) throw new Error('short enqueue');
    } else {
      // The pre-fix client path: per-byte hex strings in a text[], decoded by the server.
      const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
      const hex = payloads.map((p) => {
        let out = '';
        for (let i = 0; i < p.length; i++) out += HEX[p[i]!];
        return out;
      });
      await driver.query(
        `INSERT INTO ${schema}.legacy (p) SELECT decode(h, 'hex') FROM unnest($1::text[]) AS h`,
        [hex],
      );
    }
    seconds.push((performance.now() - started) / 1000);
  }
  const peak = process.resourceUsage().maxRSS * 1024;
  const batchBytes = jobs * size;
  const sample: Sample = {
    driver: kind,
    mode: mode as Sample['mode'],
    jobs,
    payloadBytes: size,
    batchMiB: batchBytes / MiB,
    mbPerSecond: Math.round((batchBytes / MiB / median(seconds)) * 10) / 10,
    batchSeconds: seconds.map((s) => Math.round(s * 1000) / 1000),
    baselineRssMiB: Math.round(baseline / MiB),
    peakRssMiB: Math.round(peak / MiB),
    peakOverBatch: Math.round(((peak - baseline) / batchBytes) * 100) / 100,
  };
  await repo.close();
  await close();
  process.stdout.write(`${JSON.stringify(sample)}\n`);
}

// ---- parent: the server, the relays, one child per driver and mode ----------------------------

async function runChild(args: string[]): Promise<Sample | { error: string }> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve) => {
    const proc = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', '--expose-gc', self, '--child', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    proc.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as Sample);
      else resolve({ error: `exit ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '200' },
      size: { type: 'string', default: String(MiB) },
      batches: { type: 'string', default: '3' },
      'legacy-jobs': { type: 'string', default: '16' },
      'http-jobs': { type: 'string', default: '50' },
      only: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const drivers = values.only ? (values.only.split(',') as Driver[]) : [...DRIVERS];
  const cluster = await startCluster();
  const ws = await startWsProxy();
  const http = await startHttpEndpoint(cluster.port);
  const results: (Sample | { driver: Driver; mode: string; error: string })[] = [];
  try {
    for (const driver of drivers) {
      for (const mode of ['binary', 'legacy-hex'] as const) {
        const jobs =
          mode === 'legacy-hex'
            ? values['legacy-jobs']
            : driver === 'neon-http'
              ? values['http-jobs']
              : values.jobs;
        const r = await runChild([
          driver,
          mode,
          cluster.url(),
          String(ws.port),
          String(http.port),
          jobs,
          values.size,
          values.batches,
        ]);
        results.push('error' in r ? { driver, mode, error: r.error } : r);
        if (!values.json) {
          console.log(
            'error' in r
              ? `${driver.padEnd(9)} ${mode.padEnd(10)} FAILED ${r.error}`
              : `${driver.padEnd(9)} ${mode.padEnd(10)} ${String(r.jobs).padStart(4)} x ${r.payloadBytes} B: ` +
                  `${String(r.mbPerSecond).padStart(7)} MB/s (median of ${r.batchSeconds.length}), ` +
                  `peak RSS ${r.peakRssMiB} MiB (baseline ${r.baselineRssMiB} MiB; +${r.peakOverBatch} x the batch)`,
          );
        }
      }
    }
  } finally {
    await http.close();
    await ws.close();
    await cluster.stop();
  }
  if (values.json) console.log(JSON.stringify({ results }));
}

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await main();
