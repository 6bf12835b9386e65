/**
 * What each tarball of scripts/pack.mjs holds (issue #18, point 1), read from the tarballs
 * themselves: only what the package needs (dist/ with types and source maps, the .wasm, README,
 * LICENSE; no src/, tests, build info or declaration maps), every `exports` and `bin` target
 * present, the published manifest without the repository-only `source` condition, and the
 * metadata a registry shows.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { packedTarballs } from './support/tarballs.ts';

interface Manifest {
  name: string;
  version: string;
  license?: string;
  engines?: { node?: string };
  repository?: { url?: string; directory?: string };
  keywords?: string[];
  sideEffects?: unknown;
  exports: Record<string, unknown>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
}

const tarballs: Record<string, { files: string[]; manifest: Manifest }> = {};

beforeAll(async () => {
  for (const [name, file] of Object.entries(packedTarballs())) {
    const files = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    const manifest = JSON.parse(
      execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' }),
    ) as Manifest;
    tarballs[name] = { files, manifest };
  }
}, 600_000);

/** Every file an `exports` value points at, through nested conditions. */
function targets(value: unknown, conditions: string[] = []): { path: string; conditions: string[] }[] {
  if (typeof value === 'string') return [{ path: value, conditions }];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => targets(inner, [...conditions, key]));
}

describe('the packed tarballs', () => {
  it('are the four packages', () => {
    expect(Object.keys(tarballs).sort()).toEqual([
      '@tideq/core',
      '@tideq/edge',
      '@tideq/postgres',
      '@tideq/web',
    ]);
  });

  it('hold only dist/, the .wasm, README, LICENSE and package.json', () => {
    for (const [name, { files }] of Object.entries(tarballs)) {
      const extra = files.filter(
        (f) =>
          !/^(package\.json|README\.md|LICENSE)$/.test(f) &&
          !f.startsWith('dist/') &&
          f !== 'wasm/tideq_core.wasm',
      );
      expect(extra, name).toEqual([]);
      expect(
        files.filter((f) => /(^|\/)(src|test)\/|\.test\.|tsbuildinfo|\.d\.ts\.map$/.test(f)),
        name,
      ).toEqual([]);
      for (const f of [
        'package.json',
        'README.md',
        'LICENSE',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/index.js.map',
      ]) {
        expect(files, `${name} ${f}`).toContain(f);
      }
      // every emitted module has its types and its source map
      for (const js of files.filter((f) => f.endsWith('.js') && !f.startsWith('dist/wasm-source/'))) {
        expect(files, `${name} ${js}`).toContain(js.replace(/\.js$/, '.d.ts'));
        expect(files, `${name} ${js}`).toContain(`${js}.map`);
      }
    }
    expect(tarballs['@tideq/core']!.files).toContain('wasm/tideq_core.wasm');
  });

  it('have every exports and bin target in the tarball, and no `source` condition', () => {
    for (const [name, { files, manifest }] of Object.entries(tarballs)) {
      const all = targets(manifest.exports);
      expect(all.length, name).toBeGreaterThan(0);
      for (const t of all) {
        expect(t.conditions, `${name} ${t.path}`).not.toContain('source');
        expect(files, `${name} exports ${t.conditions.join(' > ')} -> ${t.path}`).toContain(
          t.path.replace(/^\.\//, ''),
        );
      }
      for (const [bin, path] of Object.entries(manifest.bin ?? {})) {
        expect(files, `${name} bin ${bin}`).toContain(path.replace(/^\.\//, ''));
      }
    }
    expect(tarballs['@tideq/postgres']!.manifest.bin).toEqual({ tideq: './dist/cli.js' });
  });

  it('give each runtime its form of the WASM core under @tideq/core/wasm', () => {
    const entry = tarballs['@tideq/core']!.manifest.exports['./wasm'] as Record<string, string>;
    expect(entry).toMatchObject({
      types: './dist/wasm-source/index.d.ts',
      workerd: './dist/wasm-source/module.js',
      'edge-light': './dist/wasm-source/inline.js',
      deno: './dist/wasm-source/inline.js',
      node: './dist/wasm-source/url.js',
      browser: './dist/wasm-source/url.js',
      default: './dist/wasm-source/inline.js',
    });
    // `types` first and `default` last: the order in which resolvers try conditions
    const keys = Object.keys(entry);
    expect(keys[0]).toBe('types');
    expect(keys.at(-1)).toBe('default');
    expect(keys.indexOf('workerd')).toBeLessThan(keys.indexOf('worker'));
    expect(keys.indexOf('worker')).toBeLessThan(keys.indexOf('browser'));
  });

  it('carry the registry metadata and pin the workspace dependency to the packed version', () => {
    const coreVersion = tarballs['@tideq/core']!.manifest.version;
    for (const [name, { manifest }] of Object.entries(tarballs)) {
      expect(manifest.license, name).toBe('MIT');
      expect(manifest.engines?.node, name).toBe('>=22');
      expect(manifest.repository?.directory, name).toMatch(/^packages\//);
      expect(manifest.keywords?.length ?? 0, name).toBeGreaterThan(2);
      expect(manifest.sideEffects, name).toBe(false);
      if (name !== '@tideq/core') expect(manifest.dependencies?.['@tideq/core'], name).toBe(coreVersion);
      // the repository's build and test set-up stays behind
      expect(
        Object.keys(manifest).filter((k) => k === 'scripts' || k === 'devDependencies'),
        name,
      ).toEqual([]);
    }
  });
});
