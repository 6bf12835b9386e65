// The public names of @tideq/postgres, pinned: adding or removing an export is a decision, made by
// editing this list (and the README), never an accident.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { publicNames } from '../../core/test/support/public-names.js';

describe('public API', () => {
  it('@tideq/postgres', async () => {
    const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    expect(await publicNames(entry)).toEqual({
      values: [
        'MIGRATIONS',
        'PostgresQueueRepository',
        'QUERIES',
        'SCHEMA_VERSION',
        'clientDriver',
        'createPostgresQueue',
        'install',
        'installUpTo',
        'neonClientDriver',
        'neonHttpDriver',
        'neonPoolDriver',
        'pgClientDriver',
        'pgPoolDriver',
        'poolDriver',
        'quoteIdent',
        'renderMigration',
        'renderSql',
        'resolveSchemaConfig',
        'uninstall',
        'upgrade',
        'verify',
      ],
      types: [
        'NeonHttpLike',
        'PgClientLike',
        'PgPoolClientLike',
        'PgPoolLike',
        'PoolDriverOptions',
        'PostgresQueueOptions',
        'SchemaConfig',
        'SqlDriver',
        'SqlResult',
        'Unlisten',
      ],
    });
  }, 60_000);
});
