#!/usr/bin/env node
/**
 * `tideq`: install, upgrade, uninstall, verify and inspect a tideq queue on PostgreSQL / Neon.
 * Connects with node-postgres to DATABASE_URL or --url. `pg` is loaded only when a command needs a
 * connection, so it is an optional peer of @tideq/postgres (edge users never install it).
 * Everything printed that comes from the database goes through `safe`/`safeJson` first: a job's
 * error text must not be able to put escape sequences on an operator's terminal.
 */
import { parseArgs } from 'node:util';
import { isTideqError, type QueueSizeRow, type StatisticsRow, systemClock } from '@tideq/core';
import type { Pool } from 'pg';
import { pgPoolDriver } from './index.js';
import { install, uninstall, upgrade, verify } from './migrate.js';
import { createPostgresQueue } from './repository.js';
import {
  MIGRATIONS,
  QUERIES,
  renderMigration,
  renderSql,
  resolveSchemaConfig,
  SCHEMA_VERSION,
  type SchemaConfig,
} from './sql.js';

const USAGE = `usage: tideq <command> [options]

commands:
  install     create the schema and apply every migration (safe to run again, and concurrently)
  upgrade     apply the migrations an installed queue is missing
  uninstall   drop the queue's tables and functions (needs --yes)
  verify      check the queue is installed and current (exit code 1 if not)
  status      queue sizes, throughput, recent failures and dead letters
  compact     drop log rows, statistics and job history beyond the retention

options:
  --url <url>        postgres://user:password@host:port/database (default: $DATABASE_URL)
  --schema <name>    schema of the tables (default: tideq)
  --prefix <prefix>  table name prefix (default: none)
  --json             machine-readable output (verify, status)
  --watch [seconds]  status: refresh every few seconds (default 2) until Ctrl-C
  --dry-run          install/upgrade: print the SQL instead of running it
  --yes              uninstall: confirm dropping every job
  --max-records <n>  compact: log rows kept, newest first (default 100000)
  --max-age <ms>     compact: drop log rows and statistics older than this (default 86400000, 24 h)
  -h, --help         this text`;

class UsageError extends Error {}

interface Args {
  command: string;
  url: string;
  config: SchemaConfig;
  json: boolean;
  watch: number | null;
  dryRun: boolean;
  yes: boolean;
  retention: { maxRecords: number; maxAge: number };
}

function parse(argv: string[]): Args | null {
  // `--watch` takes an optional number: normalise `--watch` alone to `--watch=2`.
  const normalized = argv.map((a, i) =>
    a === '--watch' && !/^\d+(\.\d+)?$/.test(argv[i + 1] ?? '') ? '--watch=2' : a,
  );
  let parsed: ReturnType<
    typeof parseArgs<{
      options: Record<string, { type: 'string' | 'boolean'; short?: string }>;
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args: normalized,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        schema: { type: 'string' },
        prefix: { type: 'string' },
        json: { type: 'boolean' },
        watch: { type: 'string' },
        'dry-run': { type: 'boolean' },
        yes: { type: 'boolean' },
        'max-records': { type: 'string' },
        'max-age': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(safe((error as Error).message));
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help || parsed.positionals.length === 0) return null;
  if (parsed.positionals.length > 1)
    throw new UsageError(`one command at a time, got: ${safe(parsed.positionals.join(' '))}`);
  const command = parsed.positionals[0]!;
  if (!['install', 'upgrade', 'uninstall', 'verify', 'status', 'compact'].includes(command)) {
    throw new UsageError(`unknown command ${safeJson(command)}`);
  }
  const url = (v.url as string | undefined) ?? process.env.DATABASE_URL ?? '';
  if (url === '')
    throw new UsageError(
      'no database URL: set DATABASE_URL or pass --url postgres://user:password@host:port/database',
    );
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new UsageError(
      `not a valid database URL: ${safe(redact(url))} (expected postgres://user:password@host:port/database)`,
    );
  }
  if (parsedUrl.protocol !== 'postgres:' && parsedUrl.protocol !== 'postgresql:') {
    throw new UsageError(
      `not a PostgreSQL URL: ${safe(redact(url))} (it must start with postgres:// or postgresql://)`,
    );
  }
  let config: SchemaConfig;
  try {
    config = resolveSchemaConfig({
      schema: v.schema as string | undefined,
      tablePrefix: v.prefix as string | undefined,
    });
  } catch (error) {
    const field = (error as { details?: { field?: string } }).details?.field;
    throw new UsageError(
      `invalid --${field === 'tablePrefix' ? 'prefix' : 'schema'}: ${safe((error as Error).message)}`,
    );
  }
  const watch = v.watch === undefined ? null : Number(v.watch);
  if (watch !== null && !(watch > 0))
    throw new UsageError(`--watch takes a number of seconds > 0, got ${safe(String(v.watch))}`);
  return {
    command,
    url,
    config,
    json: v.json === true,
    watch,
    dryRun: v['dry-run'] === true,
    yes: v.yes === true,
    retention: {
      maxRecords: count(v['max-records'], '--max-records', 100_000),
      maxAge: count(v['max-age'], '--max-age', 86_400_000),
    },
  };
}

/** A whole number >= 0 from an option, or the default (the QueueManager's default retention). */
function count(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new UsageError(`${name} takes a whole number >= 0, got ${safe(String(value))}`);
  return n;
}

/**
 * Terminal-safe text: C0 and C1 control characters (ESC, BEL, the CSI/OSC introducers...), DEL,
 * line separators and bidi overrides become visible escapes (\x1b, \u202e), so text from the
 * database cannot move the cursor, retitle the window, hide itself or reorder what is shown.
 */
function unsafe(code: number, keepNewlines: boolean): boolean {
  return (
    (code < 0x20 && !(keepNewlines && code === 0x0a)) ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x200e ||
    code === 0x200f ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}
function escapeUnsafe(text: string, keepNewlines: boolean, visible: (code: number) => string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!unsafe(code, keepNewlines)) continue;
    out += text.slice(from, i) + visible(code);
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}
const hex = (code: number, width: number) => code.toString(16).padStart(width, '0');
function safe(text: string, options: { keepNewlines?: boolean } = {}): string {
  return escapeUnsafe(text, options.keepNewlines === true, (c) =>
    c < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`,
  );
}
/** JSON whose strings carry no raw control character (JSON.stringify leaves DEL, C1, bidi raw). */
function safeJson(value: unknown, indent?: number): string {
  return escapeUnsafe(JSON.stringify(value, null, indent), true, (c) => `\\u${hex(c, 4)}`);
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@/]*@/, '$1:***@');
}

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (typeof rows[0]?.[i] === 'number' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const iso = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
const clip = (text: string | null, n = 60) => {
  const s = text === null ? '' : safe(text.replace(/\s+/g, ' '));
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
};

interface StatusReport {
  schema: string;
  tablePrefix: string;
  version: number | null;
  expectedVersion: number;
  queueSize: QueueSizeRow[];
  throughput: { windowSeconds: number; byStatus: Record<string, number>; jobsPerSecond: number };
  recentFailures: {
    seq: number;
    kind: string;
    jobId: number;
    entrypoint: string;
    status: string;
    at: number;
    error: string | null;
  }[];
  deadLetters: {
    id: number;
    entrypoint: string;
    attempts: number;
    updated: number;
    lastError: string | null;
  }[];
}

async function status(pool: Pool, args: Args): Promise<StatusReport> {
  const config = args.config;
  const driver = pgPoolDriver(pool);
  const repo = createPostgresQueue({
    driver,
    schema: config.schema,
    tablePrefix: config.tablePrefix,
    listen: false,
  });
  const report = await repo.verify();
  if (!report.installed || !report.current)
    throw new CliError(report.problems.map((p) => safe(p)).join('\n'), 3);
  const now = systemClock.now();
  const windowSeconds = 60;
  const [queueSize, stats, failures, dead] = await Promise.all([
    repo.queueSize(),
    repo.statistics({ since: Math.floor(now / 1000) * 1000 - windowSeconds * 1000, limit: 100_000 }),
    driver.query(renderSql(QUERIES.recentFailures, config), [10]),
    repo.failedJobs({ limit: 10 }),
  ]);
  const byStatus: Record<string, number> = {};
  for (const s of stats as StatisticsRow[]) byStatus[s.status] = (byStatus[s.status] ?? 0) + s.count;
  const finished = Object.values(byStatus).reduce((a, b) => a + b, 0);
  await repo.close();
  return {
    schema: config.schema,
    tablePrefix: config.tablePrefix,
    version: report.version,
    expectedVersion: report.expectedVersion,
    queueSize,
    throughput: {
      windowSeconds,
      byStatus,
      jobsPerSecond: Math.round((finished / windowSeconds) * 100) / 100,
    },
    recentFailures: failures.rows.map((r) => ({
      seq: Number(r.seq),
      kind: String(r.kind),
      jobId: Number(r.job_id),
      entrypoint: String(r.entrypoint),
      status: String(r.status),
      at: Number(r.at),
      error: r.error === null ? null : (JSON.parse(String(r.error)) as string),
    })),
    deadLetters: dead.map((j) => ({
      id: j.id,
      entrypoint: j.entrypoint,
      attempts: j.attempts,
      updated: j.updated,
      lastError: j.lastError,
    })),
  };
}

function renderStatus(s: StatusReport): string {
  const out: string[] = [];
  out.push(
    `tideq status: schema "${s.schema}"${s.tablePrefix ? `, prefix "${s.tablePrefix}"` : ''}, version ${s.version}`,
  );
  out.push('');
  out.push('Queue');
  out.push(
    s.queueSize.length === 0
      ? '  (empty)'
      : table(
          ['entrypoint', 'status', 'priority', 'jobs'],
          s.queueSize.map((r) => [safe(r.entrypoint), safe(r.status), r.priority, r.count]),
        ),
  );
  out.push('');
  const parts = Object.entries(s.throughput.byStatus).map(([k, v]) => `${safe(k)} ${v}`);
  out.push(
    `Throughput (last ${s.throughput.windowSeconds} s): ${s.throughput.jobsPerSecond} jobs/s${parts.length ? ` (${parts.join(', ')})` : ''}`,
  );
  out.push('');
  out.push('Recent failures');
  out.push(
    s.recentFailures.length === 0
      ? '  (none)'
      : table(
          ['at', 'job', 'entrypoint', 'event', 'error'],
          s.recentFailures.map((f) => [
            iso(f.at),
            f.jobId,
            safe(f.entrypoint),
            safe(f.kind === 'completed' ? f.status : f.kind),
            clip(f.error),
          ]),
        ),
  );
  out.push('');
  out.push('Dead letters');
  out.push(
    s.deadLetters.length === 0
      ? '  (none)'
      : table(
          ['job', 'entrypoint', 'attempts', 'since', 'last error'],
          s.deadLetters.map((d) => [d.id, safe(d.entrypoint), d.attempts, iso(d.updated), clip(d.lastError)]),
        ),
  );
  return out.join('\n');
}

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

function describeConnectionError(error: unknown, url: string): string | null {
  const e = error as { code?: string; message?: string };
  const u = new URL(url);
  const at = `${u.hostname}:${u.port || '5432'}`;
  if (e.code === 'ECONNREFUSED')
    return `cannot reach PostgreSQL at ${at}: connection refused (is the server running, and is the port right?)`;
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
    return `cannot reach PostgreSQL at ${at}: unknown host ${u.hostname}`;
  if (e.code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? ''))
    return `cannot reach PostgreSQL at ${at}: timed out`;
  if (e.code === '3D000') return `database ${JSON.stringify(u.pathname.slice(1))} does not exist on ${at}`;
  if (e.code === '28P01' || e.code === '28000')
    return `PostgreSQL at ${at} rejected the credentials: ${e.message}`;
  return null;
}

/** node-postgres, loaded on first use: an optional peer dependency of @tideq/postgres. */
async function loadPg(): Promise<typeof import('pg').default> {
  try {
    return (await import('pg')).default;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND')
      throw new CliError(
        'the tideq CLI connects with node-postgres, which is not installed: run `npm install pg` (it is an optional peer dependency of @tideq/postgres)',
        1,
      );
    throw error;
  }
}

/**
 * 42501 insufficient_privilege: name the privilege the role lacks and how to grant it, instead of
 * a stack trace.
 */
function describePermissionError(
  error: unknown,
  command: string,
  config: SchemaConfig,
  url: string,
): string | null {
  const e = error as { code?: string; message?: string };
  if (e.code !== '42501') return null;
  const u = new URL(url);
  const role = decodeURIComponent(u.username) || 'the connecting role';
  const database = decodeURIComponent(u.pathname.slice(1)) || role;
  const message = e.message ?? '';
  const schema = `"${config.schema}"`;
  if (/permission denied for database/.test(message))
    return (
      `the role "${role}" lacks the CREATE permission on database "${database}", which \`tideq ${command}\` needs to create schema ${schema}. ` +
      `Grant it (GRANT CREATE ON DATABASE "${database}" TO "${role}"), or have a role that has it run \`tideq install\` once (or create the schema: CREATE SCHEMA ${schema} AUTHORIZATION "${role}")`
    );
  if (/permission denied for schema/.test(message))
    return (
      `the role "${role}" lacks the ${command === 'install' || command === 'upgrade' ? 'CREATE' : 'USAGE'} permission on schema ${schema} (${message}). ` +
      `Grant it (GRANT ${command === 'install' || command === 'upgrade' ? 'CREATE, USAGE' : 'USAGE'} ON SCHEMA ${schema} TO "${role}"), or run \`tideq ${command}\` as the schema's owner`
    );
  if (/must be owner of/.test(message))
    return `the role "${role}" is not the owner of tideq's objects in schema ${schema} (${message}): run \`tideq ${command}\` as the role that installed it`;
  return `the role "${role}" lacks a permission \`tideq ${command}\` needs in schema ${schema}: ${message} (GRANT it, or run as the role that installed tideq)`;
}

async function main(argv: string[]): Promise<number> {
  let args: Args | null;
  try {
    args = parse(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`tideq: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  const config = args.config;
  if (args.dryRun) {
    if (args.command !== 'install' && args.command !== 'upgrade')
      throw new CliError('--dry-run applies to install and upgrade', 2);
    console.log(
      `-- tideq ${args.command} (schema version ${SCHEMA_VERSION}); the migration runner skips versions already applied`,
    );
    console.log(
      `${renderSql(QUERIES.installSchema, config)}\n${renderSql(QUERIES.installMigrationsTable, config)}`,
    );
    for (const m of MIGRATIONS)
      console.log(`-- migration ${m.version} ${m.name}\n${renderMigration(m, config)};\n`);
    return 0;
  }
  const pg = await loadPg();
  const pool = new pg.Pool({ connectionString: args.url, max: 4, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {});
  const driver = pgPoolDriver(pool);
  try {
    switch (args.command) {
      case 'install': {
        const ran = await install(driver, config);
        console.log(
          ran.length === 0
            ? `tideq is already installed in schema "${config.schema}" (version ${SCHEMA_VERSION})`
            : `installed tideq in schema "${config.schema}": applied migration${ran.length === 1 ? '' : 's'} ${ran.join(', ')} (version ${SCHEMA_VERSION})`,
        );
        return 0;
      }
      case 'upgrade': {
        const ran = await upgrade(driver, config);
        console.log(
          ran.length === 0
            ? `tideq in schema "${config.schema}" is current (version ${SCHEMA_VERSION})`
            : `upgraded tideq in schema "${config.schema}": applied migration${ran.length === 1 ? '' : 's'} ${ran.join(', ')} (version ${SCHEMA_VERSION})`,
        );
        return 0;
      }
      case 'uninstall': {
        if (!args.yes)
          throw new CliError(
            'uninstall drops every job, log row and schedule of this queue: run again with --yes',
            2,
          );
        const report = await verify(driver, config);
        if (!report.installed) {
          console.log(`tideq is not installed in schema "${config.schema}": nothing to do`);
          return 0;
        }
        await uninstall(driver, config);
        console.log(`uninstalled tideq from schema "${config.schema}"`);
        return 0;
      }
      case 'verify': {
        const report = await verify(driver, config);
        if (args.json) console.log(safeJson(report, 2));
        else if (report.current)
          console.log(
            `ok: tideq is installed in schema "${config.schema}" and current (version ${report.version})`,
          );
        else console.error(report.problems.map((p) => `tideq: ${safe(p)}`).join('\n'));
        return report.current ? 0 : 1;
      }
      case 'compact': {
        const repo = createPostgresQueue({ driver, schema: config.schema, tablePrefix: config.tablePrefix });
        const { removed } = await repo.compact(args.retention);
        await repo.close();
        if (args.json) console.log(JSON.stringify({ removed, ...args.retention }));
        else
          console.log(
            `compacted tideq in schema "${config.schema}": dropped ${removed} log row${removed === 1 ? '' : 's'} (kept the newest ${args.retention.maxRecords}, none older than ${args.retention.maxAge} ms)`,
          );
        return 0;
      }
      case 'status': {
        if (args.watch === null) {
          const report = await status(pool, args);
          console.log(args.json ? safeJson(report, 2) : renderStatus(report));
          return 0;
        }
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        while (!stop.signal.aborted) {
          const report = await status(pool, args);
          if (args.json) console.log(safeJson(report));
          else
            process.stdout.write(
              `\x1b[2J\x1b[H${renderStatus(report)}\n\n(refreshing every ${args.watch} s; Ctrl-C to stop)\n`,
            );
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, args.watch! * 1000);
            stop.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        return 0;
      }
    }
    return 2;
  } catch (error) {
    const connection = describeConnectionError(error, args.url);
    if (connection !== null) throw new CliError(safe(connection), 1);
    const permission = describePermissionError(error, args.command, config, args.url);
    if (permission !== null) throw new CliError(safe(permission), 1);
    if (isTideqError(error))
      throw new CliError(
        safe(error.message),
        error.code === 'NOT_INSTALLED' || error.code === 'SCHEMA_OUTDATED' ? 3 : 1,
      );
    throw error;
  } finally {
    await pool.end().catch(() => {});
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      console.error(`tideq: ${error.message}`);
      process.exitCode = error.exitCode;
    } else {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`tideq: unexpected error: ${safe(text, { keepNewlines: true })}`);
      process.exitCode = 1;
    }
  },
);
