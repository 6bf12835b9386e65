import { defineProject } from 'vitest/config';

// The API reference (typedoc.json): every public export documented, every link resolved.
export default defineProject({
  test: { name: 'docs', include: ['**/*.test.ts'], testTimeout: 300_000 },
});
