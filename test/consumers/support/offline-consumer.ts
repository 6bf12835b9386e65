/**
 * Throwaway consumer projects outside the repository, installed from the packed tarballs with
 * nothing linked, and with no registry: the third-party packages a consumer needs (vite,
 * wrangler, comlink, ...) are pinned to the versions of the repository's own package-lock.json,
 * written into a consumer package-lock.json, and `npm ci --offline` takes their tarballs from the
 * npm cache that installing the repository filled.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The environment of the consumer's tools: Node 24 (this process) first on PATH, so npm and what it
 * starts do not pick the machine's Node 20, and none of the test runner's NODE_OPTIONS.
 */
export function toolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs a command; rejects with its whole output on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? toolEnv(),
        timeout: options.timeoutMs ?? 480_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${command} ${args.join(' ')} (in ${options.cwd}) failed: ${error.message}\n${stdout}\n${stderr}`,
            ),
          );
        } else {
          resolve(stdout + stderr);
        }
      },
    );
  });
}

/** A fresh directory under the OS temp dir (outside the repository) and its removal. */
export function scratchDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The tarballs of `names` out of scripts/pack.mjs's map (fails naming any that is missing). */
export function pick(tarballs: Record<string, string>, names: string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    if (tarballs[name] === undefined)
      throw new Error(`no tarball for ${name} in ${JSON.stringify(tarballs)}`);
    picked[name] = tarballs[name];
  }
  return picked;
}

interface LockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

let repoLock: Record<string, LockEntry> | undefined;
function repoPackages(): Record<string, LockEntry> {
  repoLock ??= (
    JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    }
  ).packages;
  return repoLock;
}

/** The workspace folder of a package of this repository (`@tideq/web` -> `packages/web`). */
function workspaceDir(name: string): string {
  const link = repoPackages()[`node_modules/${name}`];
  if (!link?.link || typeof link.resolved !== 'string') throw new Error(`${name} is not a workspace package`);
  return link.resolved;
}

/** Node's lookup: `<from>/node_modules/<name>`, then each enclosing node_modules up to the root. */
function lookup(packages: Record<string, unknown>, name: string, from: string): string | undefined {
  let at = from;
  for (;;) {
    const candidate = `${at === '' ? '' : `${at}/`}node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (at === '') return undefined;
    const cut = at.lastIndexOf('/node_modules/');
    at = cut === -1 ? '' : at.slice(0, cut);
  }
}

function readPackedManifest(tarball: string): Promise<LockEntry> {
  return run('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: dirname(tarball) }).then(
    (text) => JSON.parse(text) as LockEntry,
  );
}

const sha512 = (file: string) => `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;

/** The fields of a repository lock entry that describe the package itself (not its role there). */
function packageFields(entry: LockEntry): LockEntry {
  const { dev: _dev, devOptional: _devOptional, optional: _optional, peer: _peer, ...rest } = entry;
  return rest;
}

/**
 * package.json and package-lock.json of a consumer that depends on the given tarballs (copied
 * to `<dir>/tarballs/`) and on third-party packages at the versions this repository locks.
 */
async function writeManifests(
  dir: string,
  tarballs: Record<string, string>,
  thirdParty: string[],
  scripts: Record<string, string>,
): Promise<void> {
  const repo = repoPackages();
  const packages: Record<string, LockEntry> = {};
  // consumer lock path -> where the same package sits in the repository's lock (for its deps)
  const origin = new Map<string, string>();
  const edges: { from: string; to: string; optional: boolean }[] = [];
  const queue: string[] = [];
  const rootDeps: Record<string, string> = {};

  mkdirSync(join(dir, 'tarballs'), { recursive: true });
  const tarballSpec = new Map<string, string>();
  for (const [name, file] of Object.entries(tarballs)) {
    const copy = join(dir, 'tarballs', basename(file));
    cpSync(file, copy);
    tarballSpec.set(name, `file:${relative(dir, copy)}`);
  }

  /** Places `name` as resolved from the repository path `repoFrom` for the consumer node `from`. */
  const place = async (name: string, repoFrom: string, from: string, optional: boolean): Promise<void> => {
    let target: string;
    const spec = tarballSpec.get(name);
    if (spec !== undefined) {
      target = `node_modules/${name}`;
      if (packages[target] === undefined) {
        const file = join(dir, spec.slice('file:'.length));
        const manifest = await readPackedManifest(file);
        packages[target] = {
          version: manifest.version,
          resolved: spec,
          integrity: sha512(file),
          license: manifest.license,
          dependencies: manifest.dependencies,
          optionalDependencies: manifest.optionalDependencies,
          peerDependencies: manifest.peerDependencies,
          peerDependenciesMeta: manifest.peerDependenciesMeta,
          engines: manifest.engines,
          bin: manifest.bin,
        };
        origin.set(target, workspaceDir(name));
        queue.push(target);
      }
    } else {
      const source = lookup(repo, name, repoFrom);
      if (source === undefined) {
        if (optional) return;
        throw new Error(`${name} (needed from ${repoFrom || 'the root'}) is not in package-lock.json`);
      }
      const entry = repo[source]!;
      if (entry.link) throw new Error(`${name} is a workspace package: pack it instead`);
      const found = lookup(packages, name, from);
      if (found !== undefined && packages[found]!.version === entry.version) {
        target = found;
      } else {
        // Hoisted unless another version is in the way; then next to its dependent.
        target =
          found === undefined
            ? `node_modules/${name}`
            : `${from === '' ? '' : `${from}/`}node_modules/${name}`;
        packages[target] = packageFields(entry);
        origin.set(target, source);
        queue.push(target);
      }
    }
    edges.push({ from, to: target, optional });
  };

  for (const name of Object.keys(tarballs)) {
    rootDeps[name] = tarballSpec.get(name)!;
    await place(name, '', '', false);
  }
  for (const name of thirdParty) {
    // Hoisted in the repository, or a workspace's own (packages/edge/node_modules/<name>).
    const source =
      lookup(repo, name, '') ??
      Object.keys(repo).find((k) => k === `${k.split('/node_modules/')[0]}/node_modules/${name}`);
    if (source === undefined) throw new Error(`${name} is not in package-lock.json`);
    rootDeps[name] = repo[source]!.version!;
    await place(name, source === `node_modules/${name}` ? '' : source.split('/node_modules/')[0]!, '', false);
  }
  // Breadth first: a node's own dependencies are all placed before anything nested under it.
  while (queue.length > 0) {
    const at = queue.shift()!;
    const entry = packages[at]!;
    const repoFrom = origin.get(at)!;
    const optionalPeers = entry.peerDependenciesMeta ?? {};
    for (const name of Object.keys(entry.dependencies ?? {})) await place(name, repoFrom, at, false);
    for (const name of Object.keys(entry.optionalDependencies ?? {})) await place(name, repoFrom, at, true);
    for (const name of Object.keys(entry.peerDependencies ?? {})) {
      if (!optionalPeers[name]?.optional && entry.dependencies?.[name] === undefined) {
        await place(name, repoFrom, at, false);
      }
    }
  }
  // What only optional dependencies reach is optional: npm skips it on other platforms.
  const required = new Set<string>(['']);
  let grew = true;
  while (grew) {
    grew = false;
    for (const e of edges) {
      if (!e.optional && required.has(e.from) && !required.has(e.to)) {
        required.add(e.to);
        grew = true;
      }
    }
  }
  for (const [path, entry] of Object.entries(packages)) if (!required.has(path)) entry.optional = true;

  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');
  const manifest = { name, version: '0.0.0', private: true, type: 'module', scripts, dependencies: rootDeps };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const lock = {
    name,
    version: '0.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name, version: '0.0.0', dependencies: rootDeps }, ...packages },
  };
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
}

export interface ConsumerProject {
  /** The project folder (its node_modules installed). */
  dir: string;
  /** Runs a package binary of the project (`node node_modules/<bin>`) in the project folder. */
  exec(
    binPath: string,
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<string>;
  /** Runs npm in the project folder (`npm run build`). */
  npm(args: string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<string>;
}

/**
 * Copies `template` into `dir`, writes its package.json + package-lock.json (the tarballs and
 * `thirdParty` at this repository's locked versions) and runs `npm ci --offline` there.
 */
export async function installConsumer(options: {
  template: string;
  dir: string;
  tarballs: Record<string, string>;
  thirdParty: string[];
  scripts?: Record<string, string>;
}): Promise<ConsumerProject> {
  const { dir } = options;
  cpSync(options.template, dir, { recursive: true });
  await writeManifests(dir, options.tarballs, options.thirdParty, options.scripts ?? {});
  try {
    await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
  } catch (error) {
    const message = String(error);
    if (message.includes('ENOTCACHED')) {
      throw new Error(
        'a package the consumer needs is not in the npm cache: run `npm ci` in the repository first ' +
          `(it fills ~/.npm with every locked tarball)\n${message}`,
      );
    }
    throw error;
  }
  return {
    dir,
    exec: (binPath, args, o = {}) =>
      run(process.execPath, [join(dir, 'node_modules', binPath), ...args], {
        cwd: dir,
        env: o.env ?? toolEnv(),
        timeoutMs: o.timeoutMs,
      }),
    npm: (args, o = {}) => run('npm', args, { cwd: dir, env: o.env ?? toolEnv(), timeoutMs: o.timeoutMs }),
  };
}
