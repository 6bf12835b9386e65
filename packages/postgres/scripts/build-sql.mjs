#!/usr/bin/env node
// Bundles sql/migrations/*.sql and sql/queries/*.sql into src/sql.generated.ts, so runtimes
// without a file system (edge workers) get the same SQL. `--check` fails when the generated
// module is stale (used by a test and CI).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'src/sql.generated.ts');

function sqlFiles(dir) {
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => ({ file: f, text: readFileSync(join(root, dir, f), 'utf8') }));
}

const migrations = sqlFiles('sql/migrations').map(({ file, text }, i) => {
  const m = /^(\d{6})_([a-z0-9_]+)\.sql$/.exec(file);
  if (!m) throw new Error(`sql/migrations/${file}: name it NNNNNN_name.sql`);
  const version = Number(m[1]);
  if (version !== i + 1) throw new Error(`sql/migrations/${file}: expected version ${i + 1} (no gaps)`);
  if (text.includes('$tideq_migration$'))
    throw new Error(`sql/migrations/${file}: must not use the $tideq_migration$ quote`);
  return { version, name: m[2], sql: text };
});
const queries = sqlFiles('sql/queries').map(({ file, text }) => {
  const m = /^([a-z0-9_]+)\.sql$/.exec(file);
  if (!m) throw new Error(`sql/queries/${file}: name it snake_case.sql`);
  return { name: m[1].replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase()), sql: text };
});

const lines = [
  '// auto-generated; DO NOT EDIT.',
  '// Source: packages/postgres/sql/**/*.sql. Regenerate: node packages/postgres/scripts/build-sql.mjs',
  '',
  '/** Numbered migrations, in order; `version` is the schema version after applying it. */',
  'export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [',
  ...migrations.map(
    (m) => `  { version: ${m.version}, name: ${JSON.stringify(m.name)}, sql: ${JSON.stringify(m.sql)} },`,
  ),
  '];',
  '',
  '/** One runtime query per file of sql/queries, with the schema/prefix tokens still in place. */',
  'export const QUERIES = {',
  ...queries.map((q) => `  ${q.name}: ${JSON.stringify(q.sql)},`),
  '} as const;',
  '',
  'export type QueryName = keyof typeof QUERIES;',
  '',
];
const text = lines.join('\n');

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('src/sql.generated.ts is stale: run node packages/postgres/scripts/build-sql.mjs');
    process.exit(1);
  }
  console.log('src/sql.generated.ts is up to date');
} else {
  writeFileSync(out, text);
  console.log(`wrote ${out} (${migrations.length} migrations, ${queries.length} queries)`);
}
