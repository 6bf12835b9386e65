// The core ABI has one source, wasm-core/abi.json: the Rust constants (wasm-core/src/abi.rs), the
// TypeScript ones (src/wasm/abi.generated.ts) and ABI.md's tables are generated from it. These
// checks fail when a generated file is stale or the built .wasm speaks another version.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ABI_VERSION, JOB, LOG_ROW, OP, RC } from '../src/wasm/abi.generated.js';
import { instantiateCore } from '../src/wasm/loader.js';

describe('core ABI', () => {
  it('the generated Rust, TypeScript and ABI.md are fresh (wasm-core/scripts/gen-abi.mjs --check)', () => {
    const script = fileURLToPath(new URL('../../../wasm-core/scripts/gen-abi.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(run.stderr, 'regenerate with: node wasm-core/scripts/gen-abi.mjs').toBe('');
    expect(run.status).toBe(0);
  });

  it('the built core speaks the table version (else: npm run build:wasm)', async () => {
    const core = await instantiateCore();
    expect(core.tq_abi_version()).toBe(ABI_VERSION);
  });

  it('the layouts are packed in table order', () => {
    expect(JOB.SIZE).toBe(57);
    expect(JOB.MANAGER + 4).toBe(JOB.SIZE);
    expect(LOG_ROW.SIZE).toBe(38);
    expect(new Set(Object.values(OP)).size).toBe(Object.keys(OP).length);
    expect(new Set(Object.values(RC)).size).toBe(Object.keys(RC).length);
  });
});
