/** tideq on Cloudflare Workers with PostgreSQL through Neon's HTTP driver (no WebSocket to keep). */
import { neon } from '@neondatabase/serverless';
import { createEdgeHandler } from '@tideq/edge';
import { createPostgresQueue, neonHttpDriver } from '@tideq/postgres';
import { manager } from './jobs.ts';

interface Env {
  DATABASE_URL: string;
  TIDEQ_SIGNING_KEY: string;
  TIDEQ_SIGNING_KEY_NEXT?: string;
  TIDEQ_TOKEN?: string;
}

export default createEdgeHandler<Env>({
  // Neon HTTP holds no connection, so one store serves the isolate.
  store: (env) =>
    createPostgresQueue({ driver: neonHttpDriver(neon(env.DATABASE_URL, { fullResults: true })) }),
  manager,
  auth: (env) => ({
    signingKeys: { current: env.TIDEQ_SIGNING_KEY, next: env.TIDEQ_SIGNING_KEY_NEXT },
    tokens: env.TIDEQ_TOKEN ? [env.TIDEQ_TOKEN] : [],
  }),
  budget: { ms: 20_000 },
});
