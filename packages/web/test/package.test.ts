import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkgDir = new URL('../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', pkgDir), 'utf8')) as {
  name: string;
  exports: Record<string, { source: string; types: string; default: string }>;
};

describe('@tideq/web package', () => {
  it('resolves its own name to the TypeScript sources (the "source" condition)', async () => {
    const byName = await import('@tideq/web');
    const bySource = await import('../src/index.ts');
    expect(byName).toBe(bySource);
  });

  it('maps every export to a source file and to dist/ for types and runtime', () => {
    expect(manifest.name).toBe('@tideq/web');
    for (const [entry, target] of Object.entries(manifest.exports)) {
      expect(existsSync(new URL(target.source, pkgDir)), `${entry} source ${target.source}`).toBe(true);
      expect(target.types).toMatch(/^\.\/dist\/.*\.d\.ts$/);
      expect(target.default).toMatch(/^\.\/dist\/.*\.js$/);
    }
  });
});
