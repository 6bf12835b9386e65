/**
 * `npm run bench:postgres [-- --jobs N --runs R --fsync off|on|both --settings equal,best
 *    --only tideq-pg,tideq-neon-ws,graphile-worker,pg-boss --tideq-best 2x1000x1000 --rate R --seconds S --json]`
 * Runs bench.ts with the workspace packages resolved to their TypeScript sources (the `source`
 * export condition), so the benchmark never measures a stale dist/.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bench = fileURLToPath(new URL('./bench.ts', import.meta.url));
const child = spawn(
  process.execPath,
  ['--conditions=source', '--import', 'tsx', bench, ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
