import { defineProject } from 'vitest/config';
import { sourceResolve } from '../../vitest.shared.ts';

export default defineProject({
  ...sourceResolve,
  ssr: { resolve: { ...sourceResolve.ssr.resolve, externalConditions: ['source'] } },
  test: {
    name: 'postgres',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Real server round trips: the defaults are tuned for in-memory tests.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
