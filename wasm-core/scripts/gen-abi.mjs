#!/usr/bin/env node
// Generates the core ABI's constants from wasm-core/abi.json, the one source:
//   wasm-core/src/abi.rs                          (Rust: opcodes, result codes, statuses, kinds, record offsets)
//   packages/core/src/wasm/abi.generated.ts       (TypeScript: the same, for codec.ts and the adapter)
//   wasm-core/ABI.md, between `<!-- abi:NAME -->` and `<!-- /abi:NAME -->` markers (the tables)
// `--check` writes nothing and exits 1 when any output is stale (a test runs it).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const crate = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(crate, '..');
const abi = JSON.parse(readFileSync(join(crate, 'abi.json'), 'utf8'));
const SIZES = { u8: 1, u32: 4, i32: 4, f64: 8 };
const HEADER = 'auto-generated from wasm-core/abi.json by wasm-core/scripts/gen-abi.mjs; DO NOT EDIT';

const snake = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** Offsets of a record's fixed fields, and the fixed size. */
function layout(record) {
  let offset = 0;
  const fields = record.fixed.map(([name, type]) => {
    if (!(type in SIZES)) throw new Error(`abi.json: unknown fixed type ${type} of ${name}`);
    const field = { name, type, offset };
    offset += SIZES[type];
    return field;
  });
  return { fields, size: offset, variable: record.variable };
}

function checkTable() {
  const unique = (what, items, key) => {
    const seen = new Set();
    for (const item of items) {
      if (seen.has(item[key])) throw new Error(`abi.json: ${what} ${item[key]} appears twice`);
      seen.add(item[key]);
    }
  };
  unique('op name', abi.ops, 'name');
  unique('op code', abi.ops, 'code');
  unique('result name', abi.results, 'name');
  unique('result code', abi.results, 'code');
  if (abi.statuses.length >= abi.noStatus) throw new Error('abi.json: noStatus collides with a status');
}
checkTable();
const records = Object.fromEntries(Object.entries(abi.records).map(([k, r]) => [k, layout(r)]));

// ---- Rust -------------------------------------------------------------------------------------

function rust() {
  const l = [
    `//! ${HEADER}.`,
    '//! The core ABI (ABI.md): every number the Rust core and the TypeScript adapter must agree on.',
    '',
  ];
  l.push(`pub const ABI_VERSION: u32 = ${abi.version};`);
  l.push(`/// Length prefix meaning null (\`opt\`, \`str\`).`);
  l.push(`pub const NULL_LEN: u32 = 0x${abi.nullLength.toString(16).toUpperCase()};`, '');
  l.push('/// Operation codes (`tq_call`).', 'pub mod op {');
  for (const o of abi.ops) l.push(`    pub const ${o.name}: u32 = ${o.code};`);
  l.push('}', '', '/// Result codes of `tq_call`.', 'pub mod rc {');
  for (const r of abi.results) l.push(`    /// ${r.meaning}`, `    pub const ${r.name}: i32 = ${r.code};`);
  l.push('}', '', '/// Job status bytes.', 'pub mod status {');
  for (const [i, s] of abi.statuses.entries()) l.push(`    pub const ${snake(s)}: u8 = ${i};`);
  l.push('    /// `JOB_STATUS` of an id never assigned.', `    pub const NONE: u8 = ${abi.noStatus};`);
  l.push('}', '', '/// Event kind bytes of log rows.', 'pub mod kind {');
  for (const [i, k] of abi.kinds.entries()) l.push(`    pub const ${snake(k)}: u8 = ${i};`);
  l.push('}');
  for (const [name, rec] of Object.entries(records)) {
    l.push(
      '',
      `/// Byte offsets of the fixed part of a ${abi.records[name].doc}; \`SIZE\` bytes, then ${rec.variable.map(([n, t]) => `${t} ${n}`).join(', ')}.`,
    );
    l.push(`pub mod ${snake(name).toLowerCase()} {`);
    for (const f of rec.fields) l.push(`    pub const ${snake(f.name)}: usize = ${f.offset};`);
    l.push(`    pub const SIZE: usize = ${rec.size};`, '}');
  }
  return `${l.join('\n')}\n`;
}

// ---- TypeScript -------------------------------------------------------------------------------

function typescript() {
  const l = [
    `// ${HEADER}.`,
    '/** The core ABI (wasm-core/ABI.md): every number the adapter and the Rust core agree on. @internal */',
    '',
  ];
  l.push("import type { JobEventKind, JobStatus } from '../types.js';", '');
  l.push(`export const ABI_VERSION = ${abi.version};`);
  l.push('/** Length prefix meaning null (`opt`, `str`). */');
  l.push(`export const NULL_LEN = 0x${abi.nullLength.toString(16)};`, '');
  l.push('export const OP = {');
  for (const o of abi.ops) l.push(`  ${o.name}: ${o.code},`);
  l.push('} as const;', '', 'export const RC = {');
  for (const r of abi.results) l.push(`  /** ${r.meaning} */`, `  ${r.name}: ${r.code},`);
  l.push('} as const;', '', '/** Status byte -> status. */', 'export const STATUS: readonly JobStatus[] = [');
  for (const s of abi.statuses) l.push(`  '${s}',`);
  l.push(
    '];',
    `/** \`JOB_STATUS\` of an id never assigned. */`,
    `export const NO_STATUS = ${abi.noStatus};`,
    '',
  );
  l.push('/** Kind byte -> event kind. */', 'export const KIND: readonly JobEventKind[] = [');
  for (const k of abi.kinds) l.push(`  '${k}',`);
  l.push('];');
  for (const [name, rec] of Object.entries(records)) {
    l.push(
      '',
      `/** Byte offsets of the fixed part of a ${abi.records[name].doc}; \`SIZE\` bytes, then ${rec.variable.map(([n, t]) => `${t} ${n}`).join(', ')}. */`,
    );
    l.push(`export const ${snake(name)} = {`);
    for (const f of rec.fields) l.push(`  ${snake(f.name)}: ${f.offset},`);
    l.push(`  SIZE: ${rec.size},`, '} as const;');
  }
  return `${l.join('\n')}\n`;
}

// ---- ABI.md sections --------------------------------------------------------------------------

const sections = {
  version: () => `The table of this document is generated from \`abi.json\` (version ${abi.version}).`,
  results: () =>
    [
      '| code | meaning | result bytes |',
      '|---|---|---|',
      ...abi.results.map((r) => `| ${r.code} \`${r.name}\` | ${r.meaning} | ${r.bytes} |`),
    ].join('\n'),
  enums: () =>
    [
      `Statuses: ${abi.statuses.map((s, i) => `${i} ${s}`).join(', ')} (${abi.noStatus} in \`JOB_STATUS\` = never assigned).`,
      `Event kinds: ${abi.kinds.map((k, i) => `${i} ${k}`).join(', ')}.`,
    ].join('\n'),
  records: () =>
    Object.entries(records)
      .map(([name, rec]) => {
        const fixed = rec.fields.map((f) => `${f.type} ${f.name} @${f.offset}`).join(', ');
        const variable = rec.variable.map(([n, t]) => `${t} ${n}`).join(', ');
        return `**${abi.records[name].doc}** (fixed part ${rec.size} bytes): \`${fixed}\`, then \`${variable}\`.`;
      })
      .join('\n\n'),
  ops: () =>
    [
      '| op | name | request | response |',
      '|---|---|---|---|',
      ...abi.ops.map((o) => `| ${o.code} | ${o.name} | ${o.request} | ${o.response} |`),
    ].join('\n'),
};

function markdown(current) {
  let text = current;
  for (const [name, render] of Object.entries(sections)) {
    const re = new RegExp(`(<!-- abi:${name} -->\\n)[\\s\\S]*?(<!-- /abi:${name} -->)`);
    if (!re.test(text))
      throw new Error(`ABI.md: missing the <!-- abi:${name} --> ... <!-- /abi:${name} --> markers`);
    text = text.replace(re, (_, open, close) => `${open}${render()}\n${close}`);
  }
  return text;
}

const mdPath = join(crate, 'ABI.md');
const outputs = [
  [join(crate, 'src/abi.rs'), rust()],
  [join(root, 'packages/core/src/wasm/abi.generated.ts'), typescript()],
  [mdPath, markdown(readFileSync(mdPath, 'utf8'))],
];

const check = process.argv.includes('--check');
const stale = [];
for (const [path, text] of outputs) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {}
  if (current === text) continue;
  stale.push(relative(root, path));
  if (!check) writeFileSync(path, text);
}
if (check && stale.length > 0) {
  console.error(`stale (regenerate with node wasm-core/scripts/gen-abi.mjs): ${stale.join(', ')}`);
  process.exit(1);
}
console.log(stale.length === 0 ? 'gen-abi: up to date' : `gen-abi: wrote ${stale.join(', ')}`);
