/**
 * A throwaway PostgreSQL cluster on a free port (initdb + postgres as `nobody` when root, fsync
 * off, socket in the temp dir). Used by the vitest globalSetup and by the benchmark.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The server binaries: $TIDEQ_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin. */
export function findPgBin(): string {
  const fromEnv = process.env.TIDEQ_PG_BIN;
  if (fromEnv) {
    if (existsSync(join(fromEnv, 'postgres')) && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
    throw new Error(`TIDEQ_PG_BIN=${fromEnv} has no initdb/postgres binaries`);
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL server binaries not found (no initdb under /usr/lib/postgresql/*/bin and TIDEQ_PG_BIN unset). ' +
        'Install them with `apt-get install -y postgresql` (Debian/Ubuntu), or run `./run test`, which provisions them ' +
        'through scripts/setup.sh and exports TIDEQ_PG_BIN.',
    );
  }
  return join(root, versions[0]!, 'bin');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface Cluster {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<db> */
  url(database?: string): string;
  stop(): Promise<void>;
}

const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

export async function startCluster(options: { settings?: Record<string, string> } = {}): Promise<Cluster> {
  const bin = findPgBin();
  const base = mkdtempSync(join(tmpdir(), 'tideq-pg-'));
  let child: ChildProcess | undefined;
  const cleanup = () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(base, { recursive: true, force: true });
  };
  try {
    // initdb and postgres refuse to run as root: the data dir belongs to nobody.
    if (process.getuid?.() === 0) chownSync(base, 65534, 65534);
    const data = join(base, 'data');
    await run(
      join(bin, 'initdb'),
      [
        '-D',
        data,
        '--no-sync',
        '-A',
        'trust',
        '-U',
        'postgres',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { ...asNobody, env: { ...process.env, LC_ALL: 'C' } },
    );
    const port = await freePort();
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '200',
      unix_socket_directories: base,
      ...options.settings,
    };
    const args = [
      '-D',
      data,
      '-p',
      String(port),
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ];
    const proc = spawn(join(bin, 'postgres'), args, { ...asNobody, stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`postgres did not start within 20 s:\n${log}`)),
        20_000,
      );
      proc.stderr!.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited with ${code} during startup:\n${log}`));
      });
    });
    proc.stderr!.resume();
    // A crashed test run must not leave the server behind.
    const onExit = () => proc.kill('SIGKILL');
    process.once('exit', onExit);
    return {
      port,
      url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
      async stop() {
        process.removeListener('exit', onExit);
        if (proc.exitCode === null) {
          const exited = new Promise((resolve) => proc.once('exit', resolve));
          proc.kill('SIGQUIT'); // immediate shutdown: nothing to keep
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
          if (proc.exitCode === null) proc.kill('SIGKILL');
        }
        rmSync(base, { recursive: true, force: true });
      },
    };
  } catch (error) {
    cleanup();
    throw error;
  }
}
