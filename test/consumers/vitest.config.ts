import { defineProject } from 'vitest/config';
import { sourceResolve } from '../../vitest.shared.ts';

// Consumer smoke tests: the packed tarballs (scripts/pack.mjs) installed into throwaway projects in
// the OS temp dir, then used from there (Node scripts, the `tideq` CLI, tsc, Vite + Chromium,
// wrangler + workerd). npm installs and builds on a loaded machine: generous timeouts, one file
// at a time. sourceResolve only serves the repository's own test helpers these files import.
export default defineProject({
  ...sourceResolve,
  test: {
    name: 'consumers',
    include: ['**/*.test.ts'],
    // builds and packs the tarballs once for every file (scripts/pack.mjs)
    globalSetup: ['global-setup.ts'],
    exclude: ['fixtures/**', '**/node_modules/**'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
