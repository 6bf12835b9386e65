import { defineProject } from 'vitest/config';
import { sourceResolve } from '../../vitest.shared.ts';

export default defineProject({
  ...sourceResolve,
  ssr: { resolve: { ...sourceResolve.ssr.resolve, externalConditions: ['source'] } },
  test: {
    name: 'edge',
    include: ['test/**/*.test.ts'],
    // The real PostgreSQL, WebSocket relay and HTTP endpoint of the postgres tests, started once.
    globalSetup: ['../postgres/test/global-setup.ts'],
    // workerd, Deno, Bun and a real server on a loaded machine: generous limits.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
