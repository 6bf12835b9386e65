import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'packages/*/vitest.browser.config.ts',
      'demo/vitest.config.ts',
      'test/consumers/vitest.config.ts',
      'test/budgets/vitest.config.ts',
      'test/docs/vitest.config.ts',
    ],
  },
});
