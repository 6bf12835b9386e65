import { defineProject } from 'vitest/config';
import { sourceResolve } from '../vitest.shared.ts';

// The playground, end to end: `npm run start` (what `./run start` runs) as a subprocess on a free
// port, driven in Debian's Chromium with playwright-core; PostgreSQL mode on a throwaway cluster.
export default defineProject({
  ...sourceResolve,
  test: {
    name: 'demo',
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
