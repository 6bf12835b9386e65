/**
 * A durable queue on PostgreSQL / Neon with each driver: install the schema, run a worker, enqueue,
 * drain, wait for completion.
 *
 *   DATABASE_URL=postgres://... TIDEQ_DRIVER=pg|neon-ws|neon-http npx tsx --conditions=source examples/postgres.ts
 *
 * Against Neon nothing else is needed. Against a plain local server, Neon's driver needs its proxy:
 * NEON_WS_PROXY (host:port of a WebSocket-to-TCP relay) and NEON_FETCH_ENDPOINT (an HTTP SQL
 * endpoint); the tests run this file with local stand-ins for both.
 */
import { Pool as NeonPool, neon, neonConfig } from '@neondatabase/serverless';
import { jsonCodec, QueueManager, waitFor } from '@tideq/core';
import {
  createPostgresQueue,
  neonHttpDriver,
  neonPoolDriver,
  pgPoolDriver,
  type SqlDriver,
} from '@tideq/postgres';
import pg from 'pg';
import { WebSocket } from 'ws';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('set DATABASE_URL=postgres://user:password@host:port/database');
const kind = process.env.TIDEQ_DRIVER ?? 'pg';

if (kind.startsWith('neon')) {
  neonConfig.webSocketConstructor = WebSocket; // Node has no global WebSocket before v22
  const proxy = process.env.NEON_WS_PROXY;
  if (proxy) {
    neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
  }
  if (process.env.NEON_FETCH_ENDPOINT) neonConfig.fetchEndpoint = process.env.NEON_FETCH_ENDPOINT;
}

let driver: SqlDriver;
let end: () => Promise<void>;
if (kind === 'pg') {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  driver = pgPoolDriver(pool);
  end = () => pool.end();
} else if (kind === 'neon-ws') {
  const pool = new NeonPool({ connectionString: url, max: 4 });
  driver = neonPoolDriver(pool);
  end = () => pool.end();
} else if (kind === 'neon-http') {
  driver = neonHttpDriver(neon(url)); // one HTTP request per operation; no LISTEN, so it polls
  end = async () => {};
} else {
  throw new Error(`TIDEQ_DRIVER must be pg, neon-ws or neon-http, got ${kind}`);
}

const queue = createPostgresQueue({ driver });
await queue.install(); // idempotent and safe to race; `npx tideq install` does the same

const manager = new QueueManager(queue, { logger: 'silent' }).entrypoint(
  'email.send',
  { codec: jsonCodec<{ to: string }>(), retryTimer: 30_000, concurrencyLimit: 10 },
  async ({ payload, job }) => {
    console.log(`sent to ${payload.to} (job ${job.id}, attempt ${job.attempts})`);
  },
);

const ids = [
  await manager.enqueue('email.send', { to: 'ada@example.com' }),
  await manager.enqueue('email.send', { to: 'grace@example.com' }, { priority: 5 }),
];
await manager.run({ mode: 'drain' }); // processes everything queued, then returns
console.log(`${kind}:`, await waitFor(queue, ids));

await queue.close();
await end();
