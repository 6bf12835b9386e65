/**
 * Consumer smoke tests (issue #18, points a, d, e): one throwaway Node project in the OS temp dir,
 * installed from the packed tarballs of all four packages (nothing linked, no registry: the
 * third-party packages come from the npm cache at the repository's locked versions), then used
 * from there:
 *   (a) a plain Node script enqueues and drains with a QueueManager on the WASM core (the default
 *       file, `@tideq/core/wasm`, the inlined bytes) and on PostgreSQL through node-postgres, the
 *       Neon WebSocket Pool and Neon HTTP (a throwaway cluster and local stand-ins for Neon's
 *       proxy, from packages/postgres/test/infra);
 *   (d) `npx tideq verify` and `npx tideq status` against that PostgreSQL;
 *   (e) strict TypeScript consumers type-check: moduleResolution "bundler" (DOM, no @types/node)
 *       and "node16" (@types/node, no DOM), `skipLibCheck: false`;
 * and that `@tideq/core/wasm` hands Node, Bun, Deno and the edge-light/worker conditions a form of
 * the core each loads. Nothing here needs the registry: `npm ci --offline` from the cache that
 * installing the repository filled (support/offline-consumer.ts), `npx --no`, `npm ls --offline`,
 * `deno run --cached-only` (Deno uses the project's node_modules).
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../../packages/postgres/test/infra/cluster.ts';
import {
  type Stoppable,
  startHttpEndpoint,
  startWsProxy,
} from '../../packages/postgres/test/infra/neon-local.ts';
import {
  type ConsumerProject,
  installConsumer,
  REPO_ROOT,
  run,
  scratchDir,
  toolEnv,
} from './support/offline-consumer.ts';
import { packedTarballs } from './support/tarballs.ts';

const template = fileURLToPath(new URL('./fixtures/node-app/', import.meta.url));
const PACKAGES = ['@tideq/core', '@tideq/web', '@tideq/edge', '@tideq/postgres'];
const DATABASES = {
  pg: 'consumer_pg',
  'neon-ws': 'consumer_neon_ws',
  'neon-http': 'consumer_neon_http',
  cli: 'consumer_cli',
};

const scratch = scratchDir('tideq-consumer-node-');
const stops: (() => Promise<void>)[] = [];
let app: ConsumerProject;
let cluster: Cluster;
let wsProxy: Stoppable;
let httpEndpoint: Stoppable;

/** The consumer's environment: this Node first on PATH, nothing of the test runner's own options. */
function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // npm_config_offline: npx and npm ls must never reach for the registry
  const env: NodeJS.ProcessEnv = { ...toolEnv(), npm_config_offline: 'true', ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

beforeAll(async () => {
  const tarballs = packedTarballs();
  expect(Object.keys(tarballs).sort()).toEqual([...PACKAGES].sort());
  cluster = await startCluster();
  stops.push(() => cluster.stop());
  wsProxy = await startWsProxy();
  stops.push(() => wsProxy.close());
  httpEndpoint = await startHttpEndpoint(cluster.port);
  stops.push(() => httpEndpoint.close());
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  try {
    for (const db of Object.values(DATABASES)) await admin.query(`CREATE DATABASE ${db}`);
  } finally {
    await admin.end();
  }
  app = await installConsumer({
    template,
    dir: join(scratch.dir, 'app'),
    tarballs,
    thirdParty: ['pg', '@neondatabase/serverless', 'typescript', '@types/node', '@types/pg'],
  });
}, 900_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch((e) => console.error('teardown:', e));
  scratch.remove();
});

interface ScriptResult {
  store: string;
  enqueued: number;
  handled: number[];
  byStatus: Record<string, number>;
  resolved: { core: string; postgres: string | null; wasmEntry: string; inlineBytes: number };
}

async function runScript(store: string, env: Record<string, string> = {}): Promise<ScriptResult> {
  return parseResult(
    await run(process.execPath, ['queue.mjs', store], { cwd: app.dir, env: consumerEnv(env) }),
  );
}

/** The JSON line queue.mjs prints last. */
function parseResult(out: string): ScriptResult {
  const line = out
    .trim()
    .split('\n')
    .find((l) => l.startsWith('{'));
  expect(line, `queue.mjs printed no result:\n${out}`).toBeDefined();
  return JSON.parse(line!) as ScriptResult;
}

/** 20 jobs, every tenth failing with maxAttempts 1: 18 handled, 2 dead letters. */
function expectDrained(result: ScriptResult): void {
  expect(result.enqueued).toBe(20);
  expect(result.handled).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  expect(result.byStatus).toEqual({ successful: 18, failed: 2 });
  // Loaded from the consumer's node_modules, not from the repository.
  const installed = pathToFileURL(realpathSync(join(app.dir, 'node_modules'))).href;
  expect(result.resolved.core.startsWith(installed), result.resolved.core).toBe(true);
  if (result.resolved.postgres !== null) expect(result.resolved.postgres.startsWith(installed)).toBe(true);
}

describe('the installed packages', () => {
  it('are real copies outside the repository, one @tideq/core shared by the others', () => {
    expect(realpathSync(app.dir).startsWith(realpathSync(REPO_ROOT))).toBe(false);
    for (const name of PACKAGES) {
      const dir = join(app.dir, 'node_modules', name);
      expect(lstatSync(dir).isSymbolicLink(), `${name} is linked`).toBe(false);
      // the workspace dependency "@tideq/core": "0.1.0" resolved to the one installed tarball
      expect(existsSync(join(dir, 'node_modules/@tideq/core')), `${name} has its own @tideq/core`).toBe(
        false,
      );
    }
  });

  it("satisfy each other's declared ranges: npm ls finds no invalid or missing dependency", async () => {
    // npm ls reads the installed package.json files (not the lock) and exits 1 on a range miss
    const tree = await run('npm', ['ls', '--all', '--offline'], { cwd: app.dir, env: consumerEnv() });
    expect(tree.match(/@tideq\/core@0\.1\.0 deduped/g)).toHaveLength(3);
    expect(tree).not.toMatch(/invalid|UNMET DEPENDENCY/);
  });

  it('ship dist/ and the .wasm, no TypeScript sources, tests or build info, no `source` condition', () => {
    for (const name of PACKAGES) {
      const dir = join(app.dir, 'node_modules', name);
      const top = readdirSync(dir).sort();
      expect(
        top.filter((f) => !['README.md', 'LICENSE', 'package.json', 'dist', 'wasm'].includes(f)),
      ).toEqual([]);
      const manifest = readFileSync(join(dir, 'package.json'), 'utf8');
      expect(manifest).not.toContain('"source"');
      expect(manifest).not.toContain('./src/');
      const files = readdirSync(join(dir, 'dist'), { recursive: true }) as string[];
      expect(files.filter((f) => /\.test\.|tsbuildinfo|\.d\.ts\.map$/.test(f))).toEqual([]);
      expect(files.some((f) => f.endsWith('.d.ts'))).toBe(true);
      // source maps carry their sources (src/ is not shipped)
      const map = JSON.parse(readFileSync(join(dir, 'dist/index.js.map'), 'utf8')) as {
        sourcesContent?: string[];
      };
      expect(map.sourcesContent?.[0]?.length ?? 0).toBeGreaterThan(0);
    }
    expect(existsSync(join(app.dir, 'node_modules/@tideq/core/wasm/tideq_core.wasm'))).toBe(true);
  });
});

describe('(a) a Node script enqueues and drains', () => {
  it('on the WASM core, the .wasm read from the installed package', async () => {
    const result = await runScript('wasm');
    expectDrained(result);
    // `@tideq/core/wasm` under the node condition: a file URL into the installed package
    expect(result.resolved.wasmEntry).toMatch(/\/node_modules\/@tideq\/core\/wasm\/tideq_core\.wasm$/);
    expect(result.resolved.inlineBytes).toBe(
      readFileSync(join(app.dir, 'node_modules/@tideq/core/wasm/tideq_core.wasm')).byteLength,
    );
  });

  it('on the WASM core from `@tideq/core/wasm` and from the inlined bytes', async () => {
    expectDrained(await runScript('wasm-entry'));
    expectDrained(await runScript('wasm-inline'));
  });

  it('on PostgreSQL through node-postgres', async () => {
    expectDrained(await runScript('pg', { DATABASE_URL: cluster.url(DATABASES.pg) }));
  });

  it("on PostgreSQL through Neon's serverless driver: WebSocket Pool and HTTP", async () => {
    expectDrained(
      await runScript('neon-ws', {
        DATABASE_URL: cluster.url(DATABASES['neon-ws']),
        NEON_WS_PROXY: `127.0.0.1:${wsProxy.port}`,
      }),
    );
    expectDrained(
      await runScript('neon-http', {
        DATABASE_URL: cluster.url(DATABASES['neon-http']),
        NEON_HTTP_ENDPOINT: `http://127.0.0.1:${httpEndpoint.port}/sql`,
      }),
    );
  });
});

describe('the `@tideq/core/wasm` entry picks what each runtime loads', () => {
  const binary = (path: string, hint: string): string => {
    const file = join(REPO_ROOT, 'node_modules', path);
    if (!existsSync(file)) throw new Error(`${file} is missing: ${hint}`);
    return file;
  };

  it('edge-light (Vercel Edge) and worker conditions: the inlined bytes', async () => {
    for (const condition of ['edge-light', 'worker']) {
      const out = await run(process.execPath, [`--conditions=${condition}`, 'queue.mjs', 'wasm-entry'], {
        cwd: app.dir,
        env: consumerEnv(),
      });
      const result = parseResult(out);
      expectDrained(result);
      expect(result.resolved.wasmEntry, condition).toBe('object');
    }
  });

  it('Deno: the inlined bytes, so no --allow-read is needed', async () => {
    const deno = binary(
      'deno/deno',
      'run `npm ci` in the repository (deno is a devDependency of @tideq/edge)',
    );
    const out = await run(deno, ['run', '--cached-only', '--allow-env', 'queue.mjs', 'wasm-entry'], {
      cwd: app.dir,
      env: consumerEnv({ DENO_NO_UPDATE_CHECK: '1' }),
    });
    const result = parseResult(out);
    expectDrained(result);
    expect(result.resolved.wasmEntry).toBe('object');
  });

  it('Bun: the file next to the package', async () => {
    const bun = binary(
      'bun/bin/bun.exe',
      'run `npm ci` in the repository (bun is a devDependency of @tideq/edge)',
    );
    const out = await run(bun, ['queue.mjs', 'wasm-entry'], { cwd: app.dir, env: consumerEnv() });
    const result = parseResult(out);
    expectDrained(result);
    expect(result.resolved.wasmEntry).toMatch(/\/node_modules\/@tideq\/core\/wasm\/tideq_core\.wasm$/);
  });
});

describe('(d) npx tideq', () => {
  const npx = (args: string[], database: string) =>
    run('npx', ['--no', 'tideq', ...args], {
      cwd: app.dir,
      env: consumerEnv({ DATABASE_URL: cluster.url(database) }),
      timeoutMs: 120_000,
    });

  it('install, verify and status run against the test PostgreSQL', async () => {
    const database = DATABASES.cli;
    // a fresh database: verify says what is missing and how to fix it
    const missing = await npx(['verify'], database).then(
      () => 'exit 0',
      (error: Error) => error.message,
    );
    expect(missing).toMatch(/not installed|tideq install/);
    expect(await npx(['install'], database)).toContain('installed tideq in schema "tideq"');
    await npx(['verify'], database);
    expectDrained(await runScript('pg', { DATABASE_URL: cluster.url(database) }));

    const report = JSON.parse(await npx(['status', '--json'], database)) as {
      schema: string;
      version: number;
      expectedVersion: number;
      throughput: { byStatus: Record<string, number> };
      deadLetters: { entrypoint: string; lastError: string | null }[];
    };
    expect(report.schema).toBe('tideq');
    expect(report.version).toBe(report.expectedVersion);
    expect(report.throughput.byStatus.successful).toBe(18);
    expect(report.deadLetters.map((d) => d.entrypoint)).toEqual(['consumer.job', 'consumer.job']);
    expect(report.deadLetters.every((d) => d.lastError?.includes('fails on purpose'))).toBe(true);
    const text = await npx(['status'], database);
    expect(text).toContain('tideq status: schema "tideq"');
  });
});

describe('(e) strict TypeScript consumers type-check', () => {
  const tsc = (project: string) =>
    run(process.execPath, [join(app.dir, 'node_modules/typescript/bin/tsc'), '-p', project], {
      cwd: app.dir,
      env: consumerEnv(),
      timeoutMs: 240_000,
    });

  it('moduleResolution "bundler" (DOM lib, no @types/node)', async () => {
    expect(await tsc('types/bundler/tsconfig.json')).toBe('');
  });

  it('moduleResolution "node16" (@types/node, no DOM lib)', async () => {
    expect(await tsc('types/node16/tsconfig.json')).toBe('');
  });
});
