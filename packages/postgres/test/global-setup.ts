/**
 * Starts, once per test run: a throwaway PostgreSQL cluster, the local WebSocket proxy and HTTP
 * endpoint the real Neon driver talks to, and a template database with tideq installed (each
 * test file clones it). Everything is stopped and removed in teardown, also after failures.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { renderMigration, renderSql } from '../src/render.ts';
import { MIGRATIONS, QUERIES } from '../src/sql.generated.ts';
import { type Cluster, startCluster } from './infra/cluster.ts';
import { type Stoppable, startHttpEndpoint, startWsProxy } from './infra/neon-local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    tideqPg: { port: number; wsProxyPort: number; httpPort: number; template: string };
  }
}

export const TEMPLATE_DB = 'tideq_template';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop().catch((e) => console.error('teardown:', e));
  };
  try {
    const cluster: Cluster = await startCluster();
    stops.push(() => cluster.stop());
    const ws: Stoppable = await startWsProxy();
    stops.push(() => ws.close());
    const http: Stoppable = await startHttpEndpoint(cluster.port);
    stops.push(() => http.close());

    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
    await admin.end();
    const client = new pg.Client({ connectionString: cluster.url(TEMPLATE_DB) });
    await client.connect();
    // The same statements install() runs (@tideq/core does not resolve from the global setup).
    const config = { schema: 'tideq', tablePrefix: '' };
    await client.query(renderSql(QUERIES.installSchema, config));
    await client.query(renderSql(QUERIES.installMigrationsTable, config));
    for (const migration of MIGRATIONS) await client.query(renderMigration(migration, config));
    await client.end();

    project.provide('tideqPg', {
      port: cluster.port,
      wsProxyPort: ws.port,
      httpPort: http.port,
      template: TEMPLATE_DB,
    });
    return teardown;
  } catch (error) {
    await teardown();
    throw error;
  }
}
