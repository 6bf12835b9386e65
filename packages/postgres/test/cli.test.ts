/** The `tideq` CLI as users run it: a subprocess (tsx on the source) against the real server. */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '@tideq/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresQueue, pgPoolDriver } from '../src/index.ts';
import { createDatabase, info, url } from './helpers.ts';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const database = await createDatabase({ fromTemplate: false });
const pool = new pg.Pool({ connectionString: url(database), max: 4 });
afterAll(() => pool.end());

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function tideq(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', cli, ...args],
      { env: { ...process.env, DATABASE_URL: '', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('tideq CLI', () => {
  it('install, verify, status (table and --json), upgrade, uninstall', async () => {
    const dbUrl = url(database);
    let r = await tideq(['verify', '--url', dbUrl]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('npx tideq install');

    r = await tideq(['status'], { DATABASE_URL: dbUrl });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('is not installed');

    r = await tideq(['install'], { DATABASE_URL: dbUrl });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/installed tideq in schema "tideq": applied migrations 1, 2/);
    r = await tideq(['install', '--url', dbUrl]);
    expect(r.stdout).toContain('already installed');
    r = await tideq(['verify', '--url', dbUrl, '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ installed: true, current: true, problems: [] });

    // Some history for status: two queued, one dead letter, one exception.
    const repo = createPostgresQueue({ driver: pgPoolDriver(pool), clock: new ManualClock(Date.now()) });
    await repo.enqueue([
      { entrypoint: 'mail.send' },
      { entrypoint: 'mail.send' },
      { entrypoint: 'img', priority: 2 },
    ]);
    await repo.enqueue([{ entrypoint: 'img' }]);
    const picked = await repo.dequeue({ batchSize: 2, entrypoints: { img: {} }, queueManagerId: 'm1' });
    await repo.complete([
      { id: picked[0]!.id, status: 'failed', error: 'SMTP 550: mailbox unavailable' },
      { id: picked[1]!.id, status: 'exception', error: 'TypeError: boom' },
    ]);
    await repo.close();

    r = await tideq(['status', '--url', dbUrl]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mail\.send\s+queued\s+0\s+2/);
    expect(r.stdout).toMatch(/img\s+failed\s+2\s+1/);
    expect(r.stdout).toContain('SMTP 550: mailbox unavailable');
    expect(r.stdout).toContain('TypeError: boom');
    expect(r.stdout).toMatch(/Throughput \(last 60 s\): [\d.]+ jobs\/s \(.*exception 1/);

    r = await tideq(['status', '--json', '--url', dbUrl]);
    const status = JSON.parse(r.stdout);
    expect(status.queueSize).toEqual([
      { entrypoint: 'img', status: 'failed', priority: 2, count: 1 },
      { entrypoint: 'mail.send', status: 'queued', priority: 0, count: 2 },
    ]);
    expect(status.deadLetters).toMatchObject([
      { entrypoint: 'img', lastError: 'SMTP 550: mailbox unavailable' },
    ]);
    expect(status.throughput.byStatus).toEqual({ exception: 1, failed: 1 });

    r = await tideq(['upgrade', '--url', dbUrl]);
    expect(r.stdout).toContain('is current');
    r = await tideq(['uninstall', '--url', dbUrl]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    r = await tideq(['uninstall', '--yes', '--url', dbUrl]);
    expect(r.code, r.stderr).toBe(0);
    r = await tideq(['verify', '--url', dbUrl]);
    expect(r.code).toBe(1);
  });

  it('status --watch refreshes until interrupted', async () => {
    const dbUrl = url(database);
    await tideq(['install', '--schema', 'watched', '--url', dbUrl]);
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        cli,
        'status',
        '--schema',
        'watched',
        '--watch',
        '0.2',
        '--json',
        '--url',
        dbUrl,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no 3 refreshes in 15 s: ${out}`)), 15_000);
      const poll = setInterval(() => {
        if (out.split('\n').filter((l) => l.startsWith('{')).length >= 3) {
          clearInterval(poll);
          clearTimeout(deadline);
          resolve();
        }
      }, 50);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const reports = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(reports[0]).toMatchObject({ schema: 'watched', queueSize: [] });
  });

  it('explains a missing URL, a bad URL, an unreachable server, a missing database', async () => {
    let r = await tideq(['verify']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('set DATABASE_URL or pass --url');
    r = await tideq(['verify', '--url', 'not a url']);
    expect(r.stderr).toContain('not a valid database URL');
    r = await tideq(['verify', '--url', 'mysql://root@127.0.0.1/x']);
    expect(r.stderr).toContain('must start with postgres://');
    r = await tideq(['verify', '--url', 'postgres://postgres:secret@127.0.0.1:1/x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach PostgreSQL at 127.0.0.1:1: connection refused');
    expect(r.stderr).not.toContain('secret');
    r = await tideq(['verify', '--url', `postgres://postgres@127.0.0.1:${info().port}/no_such_db`]);
    expect(r.stderr).toContain('database "no_such_db" does not exist');
    r = await tideq(['frobnicate', '--url', url(database)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });

  it('an invalid --schema or --prefix is a usage error (exit 2), with no stack trace', async () => {
    for (const args of [
      ['--schema', 'bad;schema'],
      ['--schema', 'pg_jobs'],
      ['--prefix', 'Upper'],
      ['--prefix', '1x'],
    ]) {
      const r = await tideq(['verify', ...args, '--url', url(database)]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`invalid ${args[0]}:`);
      expect(r.stderr).toContain('usage: tideq');
      expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
    }
  });

  it('a role without CREATE permission is told which permission is missing', async () => {
    const db = await createDatabase({ fromTemplate: false });
    const admin = new pg.Client({ connectionString: url(db) });
    await admin.connect();
    try {
      await admin.query('DROP ROLE IF EXISTS tideq_limited');
      await admin.query('CREATE ROLE tideq_limited LOGIN');
      const limited = `postgres://tideq_limited@127.0.0.1:${info().port}/${db}`;
      let r = await tideq(['install', '--url', limited]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the role "tideq_limited" lacks the CREATE permission on database "${db}"`);
      expect(r.stderr).toContain(`GRANT CREATE ON DATABASE "${db}" TO "tideq_limited"`);
      expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
      // A schema it may use but not create in.
      await admin.query('CREATE SCHEMA tideq');
      await admin.query('GRANT USAGE ON SCHEMA tideq TO tideq_limited');
      r = await tideq(['install', '--url', limited]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('lacks the CREATE permission on schema "tideq"');
      expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
    } finally {
      await admin.query('DROP SCHEMA IF EXISTS tideq CASCADE');
      await admin.query('DROP OWNED BY tideq_limited').catch(() => {});
      await admin.end();
    }
  });

  it('text from the database is printed with control characters escaped (status, --json, verify)', async () => {
    const dbUrl = url(database);
    await tideq(['install', '--schema', 'hostile', '--url', dbUrl]);
    const repo = createPostgresQueue({ driver: pgPoolDriver(pool), schema: 'hostile' });
    const evil = 'boom\u001b]0;pwned\u0007\u001b[2J\u009b31m\u007f\u202eevil';
    await repo.enqueue([{ entrypoint: 'work' }, { entrypoint: 'work' }]);
    const jobs = await repo.dequeue({ batchSize: 2, entrypoints: { work: {} }, queueManagerId: 'm' });
    await repo.complete([
      { id: jobs[0]!.id, status: 'failed', error: evil },
      { id: jobs[1]!.id, status: 'exception', error: evil },
    ]);
    // Entrypoints are validated on the way in; one written behind tideq's back is printed safely too.
    await pool.query(`INSERT INTO hostile.jobs (id, entrypoint, priority, execute_after, status, attempts, heartbeat, created, updated)
      VALUES (1000, E'ep\\x1b[31m', 0, 0, 'queued', 0, 0, 0, 0)`);
    await repo.close();
    // Raw control characters (newlines aside) in the output, as code points.
    const raw = (text: string) =>
      [...text]
        .map((c) => c.charCodeAt(0))
        .filter((n) => (n < 0x20 && n !== 0x0a) || (n >= 0x7f && n <= 0x9f) || n === 0x202e);
    let r = await tideq(['status', '--schema', 'hostile', '--url', dbUrl]);
    expect(r.code, r.stderr).toBe(0);
    expect(raw(r.stdout)).toEqual([]);
    expect(r.stdout).toContain('boom\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\x7f\\u202eevil');
    expect(r.stdout).toContain('ep\\x1b[31m');
    r = await tideq(['status', '--json', '--schema', 'hostile', '--url', dbUrl]);
    expect(raw(r.stdout)).toEqual([]);
    // Still valid JSON that decodes to the exact text.
    expect(JSON.parse(r.stdout).deadLetters[0].lastError).toBe(evil);
  });

  it('install --dry-run prints the SQL with the schema token replaced', async () => {
    const r = await tideq(['install', '--dry-run', '--schema', 'billing', '--url', url(database)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('CREATE TABLE "billing".jobs');
    expect(r.stdout).not.toContain(':TIDEQ_SCHEMA');
  });
});
