/**
 * The playground's PostgreSQL: a throwaway local cluster started the way the tests start theirs
 * (packages/postgres/test/infra), or DATABASE_URL. Either way the queue is reached through Neon's
 * serverless driver (`neonPoolDriver`); a local server gets the same local WebSocket relay the
 * tests use, since Neon's driver speaks Postgres over WebSocket.
 */
import { Pool as NeonPool, neonConfig } from '@neondatabase/serverless';
import { createPostgresQueue, neonPoolDriver, type PostgresQueueRepository } from '@tideq/postgres';
import { WebSocket } from 'ws';
import { type Cluster, startCluster } from '../../packages/postgres/test/infra/cluster.ts';
import { type Stoppable, startWsProxy } from '../../packages/postgres/test/infra/neon-local.ts';

export interface PostgresBackend {
  repo: PostgresQueueRepository;
  /** The driver, in words, as the page shows it. */
  driver: string;
  /** The database, password removed. */
  database: string;
  close(): Promise<void>;
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

const isLocal = (url: string) => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(new URL(url).hostname);

/** `databaseUrl` given: use it; otherwise start a throwaway cluster (removed by close()). */
export async function startPostgres(databaseUrl?: string): Promise<PostgresBackend> {
  let cluster: Cluster | null = null;
  let relay: Stoppable | null = null;
  let pool: NeonPool | null = null;
  let closing = false;
  const close = async () => {
    closing = true;
    await pool?.end().catch(() => {});
    await relay?.close().catch(() => {});
    await cluster?.stop().catch(() => {});
  };
  try {
    let url = databaseUrl;
    if (!url) {
      cluster = await startCluster();
      url = cluster.url();
    }
    neonConfig.webSocketConstructor = WebSocket;
    let driver = 'Neon serverless driver (WebSocket Pool, neonPoolDriver)';
    if (isLocal(url)) {
      relay = await startWsProxy();
      const port = relay.port;
      neonConfig.wsProxy = (host, p) => `127.0.0.1:${port}/v2?address=${host}:${p}`;
      neonConfig.useSecureWebSocket = false;
      neonConfig.pipelineConnect = false; // 'password' pipelining breaks trust auth on a plain server
      neonConfig.coalesceWrites = false;
      driver += ` through a local WebSocket relay on 127.0.0.1:${port}`;
    }
    pool = new NeonPool({ connectionString: url, max: 8 });
    // Ctrl-C reaches the cluster too (same process group): its goodbye is not an error worth printing.
    pool.on('error', (error: Error) => {
      if (!closing) console.error(`[playground] Postgres pool: ${error.message}`);
    });
    // Its own schema: on a DATABASE_URL that also holds an application's queue, the playground
    // neither runs nor deletes that queue's jobs.
    const repo = createPostgresQueue({ driver: neonPoolDriver(pool), schema: 'tideq_playground' });
    await repo.install();
    return {
      repo,
      driver,
      database: `${redact(url)}${cluster ? ' (throwaway cluster, removed on exit)' : ''}`,
      async close() {
        await repo.close().catch(() => {});
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
