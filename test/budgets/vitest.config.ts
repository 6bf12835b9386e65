import { defineProject } from 'vitest/config';

// Size budgets (budgets.json): each public entry bundled as an application ships it, gzipped.
export default defineProject({
  test: { name: 'budgets', include: ['**/*.test.ts'], testTimeout: 120_000 },
});
