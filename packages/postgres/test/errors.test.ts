/**
 * Outage or bug: only an outage becomes STORAGE_UNAVAILABLE (errors.ts). Each class against the
 * real thing: a server that is stopped, a connection the server terminates, an HTTP endpoint that
 * is gone, a corrupt row (a bug surfaces as itself, and the QueueManager stops on it at once
 * instead of retrying it as an outage), and an SQL error from a live server.
 */
import { Client as NeonClient, Pool as NeonPool, neon, neonConfig } from '@neondatabase/serverless';
import { QueueManager, type QueueRepository } from '@tideq/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isStorageUnavailable } from '../src/errors.ts';
import {
  createPostgresQueue,
  neonClientDriver,
  neonHttpDriver,
  neonPoolDriver,
  pgClientDriver,
  pgPoolDriver,
} from '../src/index.ts';
import { configureNeon, createDatabase, url } from './helpers.ts';
import { freePort, startCluster } from './infra/cluster.ts';

const database = await createDatabase();
const admin = new pg.Pool({ connectionString: url(database), max: 2 });
afterAll(() => admin.end());

const unavailable = { code: 'STORAGE_UNAVAILABLE' };

describe('the server is stopped', () => {
  it('every driver (pg Pool, Neon WebSocket Pool, Neon HTTP) reports STORAGE_UNAVAILABLE', async () => {
    configureNeon();
    const cluster = await startCluster();
    const pools: { end(): Promise<void> }[] = [];
    try {
      const connectionString = cluster.url();
      const pgPool = new pg.Pool({ connectionString, max: 2 });
      const neonPool = new NeonPool({ connectionString, max: 2 });
      pools.push(pgPool, neonPool);
      const repos: [string, QueueRepository][] = [
        ['pg', createPostgresQueue({ driver: pgPoolDriver(pgPool) })],
        ['neon-ws', createPostgresQueue({ driver: neonPoolDriver(neonPool) })],
        [
          'neon-http',
          createPostgresQueue({ driver: neonHttpDriver(neon(connectionString, { fullResults: true })) }),
        ],
      ];
      await repos[0]![1].install();
      for (const [, repo] of repos) expect(await repo.queueSize()).toEqual([]);
      await cluster.stop();
      for (const [kind, repo] of repos) {
        const error = await repo.queueSize().then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, kind).toMatchObject(unavailable);
        expect(isStorageUnavailable((error as { cause?: unknown }).cause), kind).toBe(true);
      }
    } finally {
      await Promise.all(pools.map((p) => p.end().catch(() => {})));
      await cluster.stop();
    }
  });

  it('Neon HTTP: an endpoint that cannot be reached (fetch fails) is STORAGE_UNAVAILABLE', async () => {
    configureNeon();
    const deadPort = await freePort();
    const endpoint = neonConfig.fetchEndpoint;
    neonConfig.fetchEndpoint = `http://127.0.0.1:${deadPort}/sql`;
    try {
      const repo = createPostgresQueue({
        driver: neonHttpDriver(neon(url(database), { fullResults: true })),
      });
      await expect(repo.queueSize()).rejects.toMatchObject(unavailable);
    } finally {
      neonConfig.fetchEndpoint = endpoint;
    }
  });
});

async function terminate(applicationName: string): Promise<number> {
  const { rows } = await admin.query(
    'SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1',
    [applicationName],
  );
  return Number(rows[0].n);
}

describe('the server terminates the connection', () => {
  it('in flight and afterwards: STORAGE_UNAVAILABLE on a Client; a Pool recovers on the next call', async () => {
    configureNeon();
    const tagged = `${url(database)}?application_name=errors_victim`;
    const pgClient = new pg.Client({ connectionString: tagged });
    const neonClient = new NeonClient({ connectionString: tagged });
    await pgClient.connect();
    await neonClient.connect();
    const pgPool = new pg.Pool({ connectionString: tagged, max: 2 });
    try {
      const clients = [
        createPostgresQueue({ driver: pgClientDriver(pgClient) }),
        createPostgresQueue({ driver: neonClientDriver(neonClient) }),
      ];
      const pooled = createPostgresQueue({ driver: pgPoolDriver(pgPool) });
      for (const repo of [...clients, pooled]) expect(await repo.queueSize()).toEqual([]);

      // In flight: a dequeue blocked on the state row lock when the kill lands (57P01).
      const blocker = await admin.connect();
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM tideq.state FOR UPDATE');
      const inFlight = clients.map((repo) =>
        repo.enqueue([{ entrypoint: 'e' }]).then(
          () => null,
          (e: unknown) => e,
        ),
      );
      // Wait until both are waiting on the lock, then kill them.
      for (let i = 0; i < 200; i++) {
        const { rows } = await admin.query(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'errors_victim' AND wait_event_type = 'Lock'",
        );
        if (Number(rows[0].n) >= 2) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(await terminate('errors_victim')).toBeGreaterThanOrEqual(2);
      await blocker.query('ROLLBACK');
      blocker.release();
      for (const error of await Promise.all(inFlight)) expect(error).toMatchObject(unavailable);
      // Afterwards: the Clients' sessions are gone for good; the Pool hands out a new connection.
      for (const repo of clients) await expect(repo.queueSize()).rejects.toMatchObject(unavailable);
      expect(await pooled.queueSize()).toEqual([]);
    } finally {
      await pgPool.end().catch(() => {});
      void pgClient.end().catch(() => {});
      // end() of a Neon client whose session the server killed never settles: do not wait.
      void neonClient.end().catch(() => {});
    }
  });
});

describe('a bug is not an outage', () => {
  it('a corrupt row surfaces as a SyntaxError, and the QueueManager stops on it instead of retrying', async () => {
    const schema = 'corrupt';
    const repo = createPostgresQueue({ driver: pgPoolDriver(admin), schema });
    await repo.install();
    const [id] = await repo.enqueue([{ entrypoint: 'work', headers: { a: 1 } }]);
    await admin.query(`UPDATE ${schema}.jobs SET headers = '{not json' WHERE id = $1`, [id]);
    const error = await repo.getJobs([id!]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SyntaxError);
    expect(error).not.toMatchObject(unavailable);
    expect((await repo.metrics()).errors).toBe(1);

    const reported: string[] = [];
    const qm = new QueueManager(repo, { logger: 'silent' }).entrypoint('work', () => {});
    qm.on('error', ({ where }) => reported.push(where));
    await expect(qm.run({ mode: 'drain' })).rejects.toBeInstanceOf(SyntaxError);
    expect(reported.filter((w) => w.startsWith('store call (retry'))).toEqual([]);
  });

  it('an SQL error from a live server surfaces with its SQLSTATE', async () => {
    const repo = createPostgresQueue({ driver: pgPoolDriver(admin), schema: 'sqlerr' });
    await repo.install();
    // A trigger that rejects writes: the server is up and answers with an error (P0001).
    await admin.query(
      `CREATE FUNCTION sqlerr.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by policy'; END $$`,
    );
    await admin.query(
      'CREATE TRIGGER refuse BEFORE INSERT ON sqlerr.jobs FOR EACH ROW EXECUTE FUNCTION sqlerr.refuse()',
    );
    await expect(repo.enqueue([{ entrypoint: 'e' }])).rejects.toMatchObject({
      code: 'P0001',
      message: 'refused by policy',
    });
  });
});

describe('isStorageUnavailable', () => {
  it('classifies the shapes the drivers produce', () => {
    const sql = (code: string) => Object.assign(new Error('x'), { code, severity: 'ERROR' });
    const outages: unknown[] = [
      sql('57P01'),
      sql('08006'),
      sql('53300'),
      sql('58030'),
      sql('25006'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
        code: 'ECONNREFUSED',
        syscall: 'connect',
      }),
      // a write on a socket the server closed: five capital letters, yet not a SQLSTATE
      Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' }),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
      Object.assign(new Error('Server error (HTTP status 503): busy'), { name: 'NeonDbError' }),
    ];
    const bugs: unknown[] = [
      new TypeError("Cannot read properties of undefined (reading 'x')"),
      new SyntaxError('Unexpected token n in JSON at position 1'),
      sql('22P02'),
      sql('42601'),
      sql('23505'),
      Object.assign(new Error('Server error (HTTP status 404): no'), { name: 'NeonDbError' }),
      'a string',
      null,
    ];
    expect(outages.map((e) => isStorageUnavailable(e))).toEqual(outages.map(() => true));
    expect(bugs.map((e) => isStorageUnavailable(e))).toEqual(bugs.map(() => false));
  });
});
