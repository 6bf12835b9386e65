/** examples/postgres.ts as users run it (a subprocess), once per driver, against the real server. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createDatabase, info, url } from './helpers.ts';

const example = fileURLToPath(new URL('../../../examples/postgres.ts', import.meta.url));

function runExample(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', example],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('examples/postgres.ts', () => {
  for (const driver of ['pg', 'neon-ws', 'neon-http']) {
    it(`installs, drains and waits on ${driver}`, async () => {
      // An empty database: the example installs the schema itself.
      const database = await createDatabase({ fromTemplate: false });
      const { wsProxyPort, httpPort } = info();
      const r = await runExample({
        DATABASE_URL: url(database),
        TIDEQ_DRIVER: driver,
        NEON_WS_PROXY: `127.0.0.1:${wsProxyPort}`,
        NEON_FETCH_ENDPOINT: `http://127.0.0.1:${httpPort}/sql`,
      });
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.code).toBe(0);
      // Priority 5 runs first.
      expect(r.stdout).toMatch(/sent to grace@example\.com[\s\S]*sent to ada@example\.com/);
      expect(r.stdout).toContain(`${driver}: [ 'successful', 'successful' ]`);
    }, 40_000);
  }
});
