import { defineProject } from 'vitest/config';
import { sourceResolve } from '../../vitest.shared.ts';

// Node-side tests: fake-indexeddb runs, and playwright-core tests that drive real Chromium
// (several pages, reloads, restarts). test/browser/ runs inside Chromium: vitest.browser.config.ts.
export default defineProject({
  ...sourceResolve,
  test: {
    name: 'web',
    include: ['test/**/*.test.ts'],
    exclude: ['test/browser/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
