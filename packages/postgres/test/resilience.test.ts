/**
 * What only a real server shows: killed connections, a batch cut off mid-statement, exotic
 * strings and bytes through every driver, and the dequeue plan on an un-analyzed table.
 */
import { Client as NeonClient } from '@neondatabase/serverless';
import { ManualClock } from '@tideq/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresQueue, neonClientDriver, pgClientDriver, pgPoolDriver } from '../src/index.ts';
import { configureNeon, createDatabase, type DriverKind, makeDriver, url } from './helpers.ts';

const database = await createDatabase();
const admin = new pg.Pool({ connectionString: url(database), max: 3 });
afterAll(() => admin.end());

let schemas = 0;
async function freshSchema(): Promise<string> {
  const schema = `r${schemas++}`;
  await createPostgresQueue({ driver: pgPoolDriver(admin), schema }).install();
  return schema;
}

async function terminate(applicationName: string): Promise<number> {
  const { rows } = await admin.query(
    'SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1',
    [applicationName],
  );
  return Number(rows[0].n);
}

describe('connections lost', () => {
  it('a worker whose connection is killed mid-job loses the job to another manager after retryTimer', async () => {
    configureNeon();
    const schema = await freshSchema();
    const clock = new ManualClock(Date.now());
    const victimClient = new NeonClient({
      connectionString: `${url(database)}?application_name=victim_worker`,
    });
    await victimClient.connect();
    const victim = createPostgresQueue({ driver: neonClientDriver(victimClient), schema, clock });
    const survivor = createPostgresQueue({ driver: pgPoolDriver(admin), schema, clock });
    const [id] = await survivor.enqueue([{ entrypoint: 'job' }]);
    const limits = { job: { retryTimer: 1000, maxAttempts: 3 } };
    expect(
      (await victim.dequeue({ batchSize: 1, entrypoints: limits, queueManagerId: 'victim' }))[0]?.id,
    ).toBe(id);

    expect(await terminate('victim_worker')).toBe(1);
    clock.advance(400);
    // The dead session cannot heartbeat: a clear STORAGE_UNAVAILABLE, not a crash.
    await expect(victim.heartbeat([id!])).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(await survivor.dequeue({ batchSize: 1, entrypoints: limits, queueManagerId: 'survivor' })).toEqual(
      [],
    );
    clock.advance(601); // heartbeat now older than retryTimer
    const [again] = await survivor.dequeue({ batchSize: 1, entrypoints: limits, queueManagerId: 'survivor' });
    expect(again).toMatchObject({ id, attempts: 2, queueManagerId: 'survivor', status: 'picked' });
    expect(await survivor.complete([{ id: id!, status: 'successful' }])).toEqual([true]);
    // end() of a client whose session the server killed never settles: do not wait for it.
    void victimClient.end().catch(() => {});
  });

  it('a batch enqueue cut off by a dropped connection is stored whole or not at all', async () => {
    const schema = await freshSchema();
    const reader = createPostgresQueue({ driver: pgPoolDriver(admin), schema });
    const batch = 20_000;
    const outcomes: string[] = [];
    let expected = 0;
    for (let round = 0; round < 4; round++) {
      const pool = new pg.Pool({
        connectionString: url(database),
        max: 1,
        application_name: 'victim_enqueue',
      });
      const repo = createPostgresQueue({ driver: pgPoolDriver(pool), schema });
      await repo.verify(); // connect and warm up before the cut
      const payload = new Uint8Array(200).fill(round);
      const settled = repo
        .enqueue(Array.from({ length: batch }, (_, i) => ({ entrypoint: 'bulk', payload, priority: i % 5 })))
        .then(
          (ids) => ({ ok: true as const, ids }),
          (error: { code?: string }) => ({ ok: false as const, code: error.code }),
        );
      // Kill the session while the statement runs (or as soon as it shows up).
      const deadline = Date.now() + 5000;
      let killed = 0;
      while (killed === 0 && Date.now() < deadline) {
        const { rows } = await admin.query(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'victim_enqueue' AND state = 'active'",
        );
        if (rows.length > 0) killed = await terminate('victim_enqueue');
        else await new Promise((r) => setTimeout(r, round));
      }
      const result = await settled;
      const held = (await reader.queueSize()).reduce((a, r) => a + r.count, 0);
      if (result.ok) {
        expected += batch;
        expect(result.ids).toHaveLength(batch);
      } else {
        expect(result.code).toBe('STORAGE_UNAVAILABLE');
        // A commit racing the kill may have landed: still all or nothing.
        if (held > expected) expected += batch;
      }
      expect(held).toBe(expected);
      const log = await reader.log({ after: 0, limit: 100_000 });
      expect(log.filter((e) => e.kind === 'enqueued')).toHaveLength(expected);
      outcomes.push(result.ok ? 'stored' : held === expected ? 'rejected' : 'rejected-but-committed');
      await pool.end().catch(() => {});
    }
    expect(outcomes).toContain('rejected');
  });
});

describe('exotic text and bytes round-trip exactly', () => {
  const nasty = [
    "'; DROP TABLE jobs; --",
    '$1 $$ $tag$ %s \\x00 \\\\ " \' `',
    'nul\u0000inside',
    '\u0001\u0002\u001f\u007f',
    'lone \ud800 high, lone \udfff low',
    'emoji 🧪👩🏽‍🔬, RTL \u202e, BOM \ufeff, LS \u2028 PS \u2029',
    'e\u0301 vs é (not normalised)',
  ];
  const bytes = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);

  for (const kind of ['pg', 'neon-ws', 'neon-http'] as DriverKind[]) {
    it(`through ${kind}`, async () => {
      const schema = await freshSchema();
      const handle = makeDriver(kind, database);
      try {
        const repo = createPostgresQueue({ driver: handle.driver, schema });
        const headers = Object.fromEntries(nasty.map((s, i) => [`${s}#${i}`, { v: s, n: [i, -0.5, 1e21] }]));
        const ids = await repo.enqueue(
          nasty.map((s, i) => ({
            entrypoint: `ns.v1:send-mail_${i}`,
            dedupeKey: s,
            headers,
            payload: i === 0 ? new Uint8Array(0) : bytes,
          })),
        );
        const jobs = await repo.getJobs(ids as number[]);
        jobs.forEach((job, i) => {
          expect(job!.dedupeKey).toBe(nasty[i]);
          expect(JSON.stringify(job!.headers)).toBe(JSON.stringify(headers));
          expect(Array.from(job!.payload!)).toEqual(Array.from(i === 0 ? new Uint8Array(0) : bytes));
        });
        // Dedupe keys compare exactly: a differently normalised or escaped key is another key.
        await expect(repo.enqueue([{ entrypoint: 'x', dedupeKey: nasty[2] }])).rejects.toMatchObject({
          code: 'DUPLICATE_JOB',
          keys: [nasty[2]],
        });
        expect(
          await repo.enqueue([
            { entrypoint: 'x', dedupeKey: 'nul' },
            { entrypoint: 'x', dedupeKey: 'é vs é' },
          ]),
        ).toHaveLength(2);
        const eps = Object.fromEntries(nasty.map((_, i) => [`ns.v1:send-mail_${i}`, {}]));
        // Manager ids are stored as text: any well-formed string (no NUL, no lone surrogate).
        const manager = nasty[5]!;
        const picked = await repo.dequeue({ batchSize: 100, entrypoints: eps, queueManagerId: manager });
        expect(picked.map((j) => j.queueManagerId)).toEqual(nasty.map(() => manager));
        await repo.complete(
          picked.map((j, i) => ({ id: j.id, status: 'failed' as const, error: nasty[i]! })),
        );
        const dead = await repo.failedJobs();
        expect(dead.map((j) => j.lastError)).toEqual(nasty);
        const events = (await repo.log({ limit: 10_000 })).filter((e) => e.kind === 'failed');
        expect(events.map((e) => e.error)).toEqual(nasty);
      } finally {
        await handle.close();
      }
    });
  }
});

describe('query plans', () => {
  it('the dequeue walks the dequeue index on a freshly filled, never analyzed table', async () => {
    const schema = await freshSchema();
    const repo = createPostgresQueue({ driver: pgPoolDriver(admin), schema });
    // Keep autovacuum from analyzing the table behind the test's back.
    await admin.query(`ALTER TABLE ${schema}.jobs SET (autovacuum_enabled = false)`);
    for (let i = 0; i < 4; i++) {
      await repo.enqueue(
        Array.from({ length: 5000 }, (_, j) => ({ entrypoint: `e${j % 5}`, priority: j % 7 })),
      );
    }
    const { rows } = await admin.query(
      `SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'jobs'`,
      [schema],
    );
    expect(rows[0]).toEqual({ last_analyze: null, last_autoanalyze: null });
    // auto_explain reports the plans of the statements inside the dequeue function as notices.
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    const notices: string[] = [];
    client.on('notice', (n) => notices.push(n.message ?? ''));
    try {
      await client.query(`LOAD 'auto_explain'`);
      await client.query('SET auto_explain.log_min_duration = 0');
      await client.query('SET auto_explain.log_nested_statements = on');
      await client.query("SET auto_explain.log_level = 'notice'");
      const q = createPostgresQueue({ driver: pgClientDriver(client), schema });
      const jobs = await q.dequeue({ batchSize: 50, entrypoints: { e1: {}, e3: {} }, queueManagerId: 'm' });
      expect(jobs).toHaveLength(50);
    } finally {
      await client.end();
    }
    // The candidates: the walk's query, or (no gate, no stale job: migration 5) the fast path's.
    const candidatePlan = notices.find(
      (n) => n.includes('SKIP LOCKED') && (n.includes('UNION ALL') || n.includes('array_agg(cand.id')),
    );
    expect(candidatePlan, notices.join('\n---\n')).toBeDefined();
    expect(candidatePlan).toContain('jobs_dequeue');
    expect(candidatePlan).not.toMatch(/Seq Scan on jobs/);
  });
});
