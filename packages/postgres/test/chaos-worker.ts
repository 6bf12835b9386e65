/**
 * One worker process of the chaos test (chaos.test.ts): a QueueManager on its own pool, tagged
 * with application_name 'tideq_chaos' so the test can kill its connections. Prints one line per
 * run (`run <job id> <attempt>`) and per store error, stops cleanly on SIGTERM (exit 0). An
 * uncaught error kills it with a non-zero exit, which the test reports.
 *
 * argv: <pg|neon-ws> <connection string> <schema> <manager id> <ws proxy port>
 */
import { Pool as NeonPool, neonConfig } from '@neondatabase/serverless';
import { QueueManager } from '@tideq/core';
import pg from 'pg';
import { WebSocket } from 'ws';
import { createPostgresQueue, neonPoolDriver, pgPoolDriver, type SqlDriver } from '../src/index.ts';

const [kind, connectionString, schema, id, wsProxyPort] = process.argv.slice(2);
const tagged = `${connectionString}?application_name=tideq_chaos`;
let driver: SqlDriver;
let pool: { end(): Promise<void> };
if (kind === 'pg') {
  const p = new pg.Pool({ connectionString: tagged, max: 4 });
  driver = pgPoolDriver(p, { reconnectDelay: 50 });
  pool = p;
} else {
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${wsProxyPort}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.coalesceWrites = false;
  const p = new NeonPool({ connectionString: tagged, max: 4 });
  driver = neonPoolDriver(p, { reconnectDelay: 50 });
  pool = p;
}
const repo = createPostgresQueue({ driver, schema });
const qm = new QueueManager(repo, { id, logger: 'silent', pollInterval: 200 }).entrypoint(
  'chaos',
  { retryTimer: 1500, maxAttempts: 1000 },
  async ({ job }) => {
    process.stdout.write(`run ${job.id} ${job.attempts}\n`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  },
);
qm.on('error', ({ error, where }) => {
  process.stdout.write(`error ${(error as { code?: string }).code ?? error.name} ${where}\n`);
});
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.stdout.write('ready\n');
try {
  await qm.run({ mode: 'continuous', batchSize: 20, maxConcurrentTasks: 20, signal: stop.signal });
  process.stdout.write('stopped\n');
  await repo.close();
  process.stdout.write('closed\n');
  await pool.end().catch(() => {});
  process.exit(0);
} catch (error) {
  process.stdout.write(`fatal ${String(error)}\n`);
  process.exit(3);
}
