/**
 * Killed connections never kill a worker process: three manager PROCESSES (chaos-worker.ts) drain
 * jobs while every worker connection is terminated (pg_terminate_backend) every ~100 ms. No process
 * may exit, no job may be lost, every job ends successful, and a job runs twice only after a
 * re-pick (a higher attempt number): never the same pick twice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresQueue, pgPoolDriver } from '../src/index.ts';
import { createDatabase, info, url } from './helpers.ts';

const worker = fileURLToPath(new URL('./chaos-worker.ts', import.meta.url));
const database = await createDatabase({ fromTemplate: false });
const admin = new pg.Pool({ connectionString: url(database), max: 2 });
afterAll(() => admin.end());

const PROCESSES = 3;
const JOBS = 3000;
const STORM_MS = 4000;

interface Worker {
  child: ChildProcess;
  out: string;
  exit: Promise<number | null>;
  exitedEarly: boolean;
}

function startWorker(kind: string, schema: string, id: string): Worker {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      worker,
      kind,
      url(database),
      schema,
      id,
      String(info().wsProxyPort),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const w: Worker = { child, out: '', exit: Promise.resolve(null), exitedEarly: false };
  child.stdout!.on('data', (c: Buffer) => {
    w.out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    w.out += c.toString();
  });
  w.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return w;
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const kind of ['pg', 'neon-ws'] as const) {
  describe(`terminate storm against ${PROCESSES} worker processes (${kind})`, () => {
    it('no process exits, no job is lost, every job succeeds, a job runs twice only after a re-pick', async () => {
      const schema = `chaos_${kind.replace('-', '_')}`;
      const producer = createPostgresQueue({ driver: pgPoolDriver(admin), schema });
      await producer.install();
      const ids: number[] = [];
      for (let i = 0; i < JOBS; i += 1000) {
        const batch = await producer.enqueue(Array.from({ length: 1000 }, () => ({ entrypoint: 'chaos' })));
        ids.push(...(batch as number[]));
      }
      const workers = Array.from({ length: PROCESSES }, (_, i) => startWorker(kind, schema, `${kind}-w${i}`));
      for (const w of workers) {
        void w.exit.then(() => {
          w.exitedEarly = !stopping;
        });
      }
      let stopping = false;
      let killed = 0;
      let stormMs = 0;
      try {
        // The storm starts with the workers, so it hits their start-up too (the first subscribe and
        // dequeue); it lasts STORM_MS and at least until every worker has run a job (bounded).
        const stormStart = Date.now();
        const started = () => workers.every((w) => /^run /m.test(w.out));
        while (Date.now() < stormStart + STORM_MS || !started()) {
          if (Date.now() > stormStart + 60_000) throw new Error('timed out waiting for the workers to start');
          const { rows } = await admin.query(
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = 'tideq_chaos'",
          );
          killed += Number(rows[0].n);
          await new Promise((r) => setTimeout(r, 100));
        }
        stormMs = Date.now() - stormStart;
        // Then the managers recover and finish the queue.
        await until(
          'every job to finish',
          async () => (await producer.queueSize()).length === 0 || workers.some((w) => w.exitedEarly),
          60_000,
        );
        expect(
          workers.filter((w) => w.exitedEarly).map((w) => w.out.slice(-2000)),
          'a worker process exited during the storm',
        ).toEqual([]);
      } finally {
        stopping = true;
        for (const w of workers) w.child.kill('SIGTERM');
        const codes = await Promise.all(
          workers.map((w) =>
            Promise.race([w.exit, new Promise((r) => setTimeout(() => r('hung'), 20_000))]).then((c) => {
              if (c === 'hung') w.child.kill('SIGKILL');
              return c;
            }),
          ),
        );
        expect(codes, workers.map((w) => w.out.slice(-1000)).join('\n---\n')).toEqual(workers.map(() => 0));
      }
      expect(killed).toBeGreaterThan(0);
      // Every job successful: nothing lost, nothing dead-lettered.
      const statuses = await producer.jobStatus(ids);
      expect(statuses.filter((s) => s !== 'successful')).toEqual([]);
      // A job runs twice only after a re-pick: its runs carry distinct attempt numbers.
      const runs = new Map<number, number[]>();
      for (const w of workers) {
        for (const m of w.out.matchAll(/^run (\d+) (\d+)$/gm)) {
          const id = Number(m[1]);
          const attempts = runs.get(id) ?? [];
          attempts.push(Number(m[2]));
          runs.set(id, attempts);
        }
      }
      expect(runs.size).toBe(JOBS);
      const samePickTwice = [...runs].filter(([, a]) => new Set(a).size !== a.length);
      expect(samePickTwice).toEqual([]);
      const storeErrors = workers.reduce(
        (n, w) => n + (w.out.match(/^error STORAGE_UNAVAILABLE/gm)?.length ?? 0),
        0,
      );
      const otherErrors = workers.flatMap((w) =>
        [...w.out.matchAll(/^error (\S+) .*$/gm)]
          .filter((m) => m[1] !== 'STORAGE_UNAVAILABLE')
          .map((m) => m[0]),
      );
      expect(otherErrors).toEqual([]);
      const reruns = [...runs.values()].filter((a) => a.length > 1).length;
      const atStart = workers.reduce(
        (n, w) => n + (w.out.match(/^error STORAGE_UNAVAILABLE store call at start/gm)?.length ?? 0),
        0,
      );
      console.log(
        `${kind}: ${killed} connections killed in ${stormMs} ms; ${storeErrors} STORAGE_UNAVAILABLE reported and recovered (${atStart} at start-up); ${reruns} jobs re-picked and run again`,
      );
      await producer.close();
      // Starting three tsx processes and draining under the storm: bounded by the waits above.
    }, 150_000);
  });
}
