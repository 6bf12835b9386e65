/**
 * Packs the tarballs once per test run (scripts/pack.mjs, through support/pack.ts) and hands their
 * paths to every consumer test file (`packedTarballs()` in support/tarballs.ts), so each file
 * does not build and pack again.
 */
import type { TestProject } from 'vitest/node';
import { packAll } from './support/pack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Package name -> tarball path. */
    tideqTarballs: Record<string, string>;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('tideqTarballs', await packAll());
}
