// The WASM adapter beyond the port: loading from every kind of source, snapshot/restore, the
// trap path, interning and payload ownership.
import { readFile } from 'node:fs/promises';
import { createMemoryQueue, defaultWasmUrl, ManualClock } from '@tideq/core';
import { dumpRepository } from '@tideq/core/testing';
import { describe, expect, it } from 'vitest';
import { compileCore, instantiateCore } from '../src/wasm/loader.js';
import { WasmRepository } from '../src/wasm/repository.js';

const T0 = 1_700_000_000_000;
const enc = new TextEncoder();

async function populated() {
  const clock = new ManualClock(T0);
  const q = await createMemoryQueue({ clock });
  await q.enqueue([
    {
      entrypoint: 'mail',
      payload: enc.encode('one'),
      priority: 2,
      dedupeKey: 'k\uD800',
      headers: { trace: 'x' },
    },
    { entrypoint: 'mail', payload: new Uint8Array(0) },
    { entrypoint: 'sms', executeAfter: T0 + 5000 },
    { entrypoint: 'sms', priority: -3 },
  ]);
  await q.dequeue({ batchSize: 2, entrypoints: { mail: {} }, queueManagerId: 'worker-\u{1F600}' });
  await q.complete([{ id: 2, status: 'failed', error: 'nope' }]);
  clock.advance(1500);
  await q.dequeue({ batchSize: 1, entrypoints: { sms: { requestsPerSecond: 3 } }, queueManagerId: 'w2' });
  await q.upsertSchedules([{ name: 'nightly', entrypoint: 'mail', expression: '0 0 * * *', nextRunAt: T0 }]);
  await q.claimDueSchedules({ claimerId: 'c', staleAfter: 100 });
  return { q, clock };
}

describe('loader', () => {
  it('accepts a Module, bytes, a file URL, a URL string and a Response', async () => {
    const bytes = await readFile(defaultWasmUrl());
    const module = await compileCore(bytes);
    const sources = [
      module,
      bytes,
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      defaultWasmUrl(),
      defaultWasmUrl().href,
      new Response(bytes, { headers: { 'content-type': 'application/wasm' } }),
      Promise.resolve(new Response(bytes)),
    ];
    for (const wasm of sources) {
      const q = await createMemoryQueue({ wasm: wasm as never });
      expect(await q.enqueue([{ entrypoint: 'e' }])).toEqual([1]);
    }
  });

  it('rejects foreign modules and failed responses with INVALID_ARGUMENT', async () => {
    const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    await expect(instantiateCore(empty)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(createMemoryQueue({ wasm: new Response('no', { status: 404 }) })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('gives every queue its own instance', async () => {
    const [a, b] = [await createMemoryQueue(), await createMemoryQueue()];
    await a.enqueue([{ entrypoint: 'e' }, { entrypoint: 'e' }]);
    expect(await b.enqueue([{ entrypoint: 'e' }])).toEqual([1]);
  });
});

describe('snapshot / restore', () => {
  it('round-trips the whole observable state into a fresh instance', async () => {
    const { q, clock } = await populated();
    const bytes = await q.snapshot();
    const copy = await createMemoryQueue({ clock });
    await copy.restore(bytes);
    expect(await dumpRepository(copy)).toEqual(await dumpRepository(q));
    // and both keep behaving the same afterwards (ids, dedupe, token bucket, interned names)
    clock.advance(2000);
    for (const repo of [q, copy]) {
      expect(
        await repo.enqueue([{ entrypoint: 'mail', dedupeKey: 'k\uD800' }], { onConflict: 'skip' }),
      ).toEqual([null]);
      expect(await repo.enqueue([{ entrypoint: 'new' }])).toEqual([5]);
    }
    const opts = { batchSize: 5, entrypoints: { sms: { requestsPerSecond: 3 } }, queueManagerId: 'w3' };
    expect(await copy.dequeue(opts)).toEqual(await q.dequeue(opts));
    expect(await dumpRepository(copy)).toEqual(await dumpRepository(q));
    expect(await copy.snapshot()).toEqual(await q.snapshot());
  });

  it('rejects corrupt, truncated and foreign bytes with INVALID_ARGUMENT and keeps the state', async () => {
    const { q } = await populated();
    const good = await q.snapshot();
    const before = await dumpRepository(q);
    const flipped = good.slice();
    flipped[40] = flipped[40]! ^ 0xff;
    const bad = [
      new Uint8Array(0),
      good.slice(0, good.length - 1),
      good.slice(0, 20),
      flipped,
      enc.encode('PK\u0003\u0004 not a snapshot at all'),
      new Uint8Array(4096).fill(7),
    ];
    for (const bytes of bad) {
      await expect(q.restore(bytes)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(q.restore('nope' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await dumpRepository(q)).toEqual(before);
  });

  it('rejects an unknown format version even with a valid checksum', async () => {
    const { q } = await populated();
    const bytes = await q.snapshot();
    bytes[4] = 99; // format version, little-endian u32 after the magic
    const body = bytes.subarray(0, bytes.length - 8);
    let h = 0xcbf29ce484222325n;
    for (const b of body) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
    new DataView(bytes.buffer).setBigUint64(bytes.length - 8, h, true);
    await expect(q.restore(bytes)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('version'),
    });
  });

  it('snapshots an uninstalled queue and restores it uninstalled', async () => {
    const { q } = await populated();
    await q.uninstall();
    const copy = await createMemoryQueue();
    await copy.restore(await q.snapshot());
    expect((await copy.verify()).installed).toBe(false);
    await expect(copy.queueSize()).rejects.toMatchObject({ code: 'NOT_INSTALLED' });
    await copy.install();
    expect(await copy.enqueue([{ entrypoint: 'e' }])).toEqual([1]);
  });
});

describe('trap handling', () => {
  it('reports CORE_TRAPPED on the trapping call and on every later call', async () => {
    const core = await instantiateCore();
    let trap = false;
    const wrapped = {
      ...core,
      memory: core.memory,
      tq_call: (op: number, len: number, now: number) => {
        if (trap) throw new WebAssembly.RuntimeError('unreachable');
        return core.tq_call(op, len, now);
      },
    };
    const q = new WasmRepository(wrapped, { clock: new ManualClock(T0) });
    expect(await q.enqueue([{ entrypoint: 'e' }])).toEqual([1]);
    trap = true;
    await expect(q.enqueue([{ entrypoint: 'e' }])).rejects.toMatchObject({ code: 'CORE_TRAPPED' });
    trap = false;
    await expect(q.queueSize()).rejects.toMatchObject({ code: 'CORE_TRAPPED' });
    await expect(q.snapshot()).rejects.toMatchObject({ code: 'CORE_TRAPPED' });
    await expect(q.metrics()).rejects.toMatchObject({ code: 'CORE_TRAPPED' });
    await expect(q.close()).resolves.toBeUndefined();
  });
});

describe('payloads and strings', () => {
  it('returns payload copies the caller owns, and keeps lone surrogates in strings', async () => {
    const q = await createMemoryQueue({ clock: new ManualClock(T0) });
    const payload = enc.encode('hello');
    await q.enqueue([{ entrypoint: 'e', payload, dedupeKey: '\uDFFF', headers: { s: '\uD800' } }]);
    payload[0] = 0;
    const [job] = await q.dequeue({ batchSize: 1, entrypoints: { e: {} }, queueManagerId: 'w\uD83D\uDE00' });
    expect(new TextDecoder().decode(job!.payload!)).toBe('hello');
    expect(job!.dedupeKey).toBe('\uDFFF');
    expect(job!.headers).toEqual({ s: '\uD800' });
    expect(job!.queueManagerId).toBe('w\uD83D\uDE00');
    job!.payload![0] = 0;
    const [again] = await q.getJobs([1]);
    expect(new TextDecoder().decode(again!.payload!)).toBe('hello');
    expect(job!.payload!.buffer).not.toBe(again!.payload!.buffer);
  });

  it('reports its memory size', async () => {
    const q = await createMemoryQueue();
    const before = q.memoryBytes();
    await q.enqueue(
      Array.from({ length: 20_000 }, () => ({ entrypoint: 'e', payload: new Uint8Array(256) })),
    );
    expect(q.memoryBytes()).toBeGreaterThan(before);
  });
});
