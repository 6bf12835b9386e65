/**
 * `./run start [--port N] [--postgres]`: builds the WASM core and the playground when their
 * sources changed, serves it on 127.0.0.1 and prints the URL. `--postgres` starts a throwaway
 * local PostgreSQL cluster (removed on exit); DATABASE_URL uses that database instead. Ctrl-C stops
 * everything.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type PreviewServer, preview } from 'vite';
import { playgroundConfig } from '../vite.config.ts';
import { playgroundApi } from './api.ts';
import { type PostgresBackend, startPostgres } from './postgres.ts';

const demo = fileURLToPath(new URL('..', import.meta.url));
const root = join(demo, '..');
const dist = join(demo, 'dist');
const stamp = join(dist, '.built');

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '5173' },
    postgres: { type: 'boolean', default: false },
    rebuild: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`usage: ./run start [--port N] [--postgres] [--rebuild]
  --port N     serve on 127.0.0.1:N (default 5173)
  --postgres   start a throwaway local PostgreSQL (or set DATABASE_URL to use yours)
  --rebuild    rebuild the page even if its sources did not change`);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`--port must be a port number (0..65535), got ${values.port}`);
  process.exit(2);
}

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name === 'dist') continue;
    max = Math.max(max, newest(join(path, name)));
  }
  return max;
}

function buildWasm(): void {
  const result = spawnSync(process.execPath, [join(root, 'scripts/build-wasm.mjs')], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('building the WASM core failed (see above)');
}

/**
 * Several start commands at once (the test files run in parallel) must not build into dist/
 * together: one builds under a lock directory, the others wait and then find it fresh.
 */
async function withBuildLock<T>(task: () => Promise<T>): Promise<T> {
  mkdirSync(dist, { recursive: true });
  const lock = join(dist, '.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 180_000) {
        rmSync(lock, { recursive: true, force: true }); // left by a build that was killed
      } else if (Date.now() > deadline) {
        throw new Error(`${lock} has been held for 3 minutes: remove it if no build is running`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await task();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function buildPage(): Promise<void> {
  return withBuildLock(buildPageNow);
}

async function buildPageNow(): Promise<void> {
  const sources = [
    join(demo, 'src'),
    join(demo, 'index.html'),
    join(demo, 'vite.config.ts'),
    join(root, 'packages/core/src'),
    join(root, 'packages/core/wasm'),
    join(root, 'packages/web/src'),
  ];
  const fresh = existsSync(stamp) && statSync(stamp).mtimeMs > Math.max(...sources.map(newest));
  if (fresh && !values.rebuild) return;
  const started = Date.now();
  // Old hashed assets stay: a page already open on another server keeps loading its files.
  await build({
    ...playgroundConfig,
    configFile: false,
    logLevel: 'warn',
    build: { ...playgroundConfig.build, emptyOutDir: false },
  });
  writeFileSync(stamp, new Date().toISOString());
  console.log(`[playground] page built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

let server: PreviewServer | null = null;
let pg: PostgresBackend | null = null;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await server?.close().catch(() => {});
    await pg?.close().catch(() => {});
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  buildWasm();
  await buildPage();
  const databaseUrl = process.env.DATABASE_URL;
  if (values.postgres || databaseUrl) {
    console.log(
      databaseUrl
        ? '[playground] connecting to DATABASE_URL…'
        : '[playground] starting a throwaway PostgreSQL…',
    );
    pg = await startPostgres(databaseUrl);
    console.log(`[playground] PostgreSQL: ${pg.database} via ${pg.driver}`);
  }
  server = await preview({
    ...playgroundConfig,
    configFile: false,
    logLevel: 'warn',
    plugins: [
      playgroundApi({
        postgres: pg,
        hint: 'PostgreSQL is not configured: restart with `./run start --postgres` (a throwaway local cluster) or set DATABASE_URL.',
      }),
    ],
    preview: { host: '127.0.0.1', port, strictPort: true, open: false },
  });
  const address = server.httpServer.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  console.log(`tideq playground: http://127.0.0.1:${actual}/  (Ctrl-C stops it)`);
} catch (error) {
  console.error(`[playground] ${(error as Error).message}`);
  await stop(1);
}
