import { playwright } from '@vitest/browser-playwright';
import { defineProject } from 'vitest/config';
import { chromiumArgs, chromiumPath } from './test/support/chromium-path.ts';

// The same suites as the Node run, inside real Chromium (Debian's: never a downloaded browser).
export default defineProject({
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  test: {
    name: 'web-chromium',
    include: ['test/browser/**/*.browser.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({ launchOptions: { executablePath: chromiumPath(), args: chromiumArgs } }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
