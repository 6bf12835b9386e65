// The WASM core's memory budget (issue #11 item 3) and restore's limit check (item 6), on the real
// WASM build: a full core says QUEUE_FULL, stores nothing of the refused batch and stays readable.
import { createMemoryQueue, ManualClock, QueueFullError } from '@tideq/core';
import { dumpRepository } from '@tideq/core/testing';
import { describe, expect, it } from 'vitest';
import { defaultMemoryBudget } from '../src/wasm/repository.js';

const T0 = 1_700_000_000_000;
const MIB = 1024 * 1024;

describe('memory budget', () => {
  it('rejects the batch that would pass the budget with QUEUE_FULL, keeping every stored job readable', {
    timeout: 60_000,
  }, async () => {
    const clock = new ManualClock(T0);
    const q = await createMemoryQueue({ clock, memoryBudget: 8 * MIB });
    const payload = new Uint8Array(1024).fill(7);
    const batch = Array.from({ length: 100 }, () => ({ entrypoint: 'a', payload }));
    let stored = 0;
    let full: unknown;
    // 8 MiB holds well under 8,000 jobs of 1 KiB: bounded loop
    for (let i = 0; i < 200 && full === undefined; i++) {
      try {
        stored += (await q.enqueue(batch)).length;
      } catch (error) {
        full = error;
      }
    }
    expect(full).toBeInstanceOf(QueueFullError);
    expect((full as QueueFullError).code).toBe('QUEUE_FULL');
    expect((full as QueueFullError).httpStatus).toBe(507);
    expect((full as QueueFullError).details).toMatchObject({ budgetBytes: 8 * MIB });
    expect(stored).toBeGreaterThan(1000);
    expect(q.heapBytes()).toBeLessThanOrEqual(8 * MIB);

    // unchanged by the refused batch, and still readable: dump, snapshot, dequeue
    const before = await dumpRepository(q);
    await expect(q.enqueue(batch)).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(await dumpRepository(q, { maxId: before.maxId })).toEqual(before);
    const snapshot = await q.snapshot();
    expect(snapshot.byteLength).toBeGreaterThan(stored * 1024);
    expect(await q.queueSize()).toEqual([{ entrypoint: 'a', status: 'queued', priority: 0, count: stored }]);

    // drained and compacted, it takes jobs again; the snapshot restores into a roomier queue
    const picked = await q.dequeue({ batchSize: 10_000, entrypoints: { a: {} }, queueManagerId: 'm' });
    expect(picked).toHaveLength(stored);
    await q.complete(picked.map((j) => ({ id: j.id, status: 'successful' as const })));
    await q.compact({ maxRecords: 0 });
    expect(await q.enqueue(batch)).toHaveLength(100);
    const roomy = await createMemoryQueue({ clock, memoryBudget: 64 * MIB });
    await roomy.restore(snapshot);
    expect(await roomy.queueSize()).toEqual([
      { entrypoint: 'a', status: 'queued', priority: 0, count: stored },
    ]);
    await q.close();
    await roomy.close();
  });

  it('has a default well under the 4 GiB address space, and validates the option', async () => {
    expect(defaultMemoryBudget()).toBe(1024 * MIB); // Node
    expect(defaultMemoryBudget({ navigator: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' } })).toBe(
      256 * MIB,
    );
    expect(
      defaultMemoryBudget({
        navigator: { userAgent: 'Cloudflare-Workers' },
        process: { versions: { node: '22' } },
      }),
    ).toBe(64 * MIB);
    expect(defaultMemoryBudget({ EdgeRuntime: 'edge-runtime' })).toBe(64 * MIB);
    expect(defaultMemoryBudget({ Deno: {} })).toBe(1024 * MIB);
    const q = await createMemoryQueue();
    expect(q.heapBytes()).toBeGreaterThan(0);
    expect(q.heapBytes()).toBeLessThan(MIB);
    await q.close();
    await expect(createMemoryQueue({ memoryBudget: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(createMemoryQueue({ memoryBudget: 5 * 1024 * MIB })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(createMemoryQueue({ memoryBudget: 'big' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('restore and the store limits', () => {
  it('rejects a snapshot holding payloads, headers or keys beyond this queue’s limits, replacing nothing', async () => {
    const clock = new ManualClock(T0);
    const big = await createMemoryQueue({ clock });
    await big.enqueue([{ entrypoint: 'a', payload: new Uint8Array(2048), dedupeKey: 'k'.repeat(300) }]);
    const snapshot = await big.snapshot();

    for (const [limits, code] of [
      [{ maxPayloadBytes: 1024 }, 'PAYLOAD_TOO_LARGE'],
      [{ maxDedupeKeyLength: 100 }, 'INVALID_ARGUMENT'],
    ] as const) {
      const small = await createMemoryQueue({ clock, limits });
      await small.enqueue([{ entrypoint: 'b' }]);
      const before = await dumpRepository(small);
      const error = await small.restore(snapshot).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code });
      expect(String((error as Error).message)).toMatch(/maxPayloadBytes|maxDedupeKeyLength/);
      expect(await dumpRepository(small)).toEqual(before);
      await small.close();
    }
    const fits = await createMemoryQueue({
      clock,
      limits: { maxPayloadBytes: 2048, maxDedupeKeyLength: 300 },
    });
    await fits.restore(snapshot);
    expect(await fits.queueSize()).toHaveLength(1);
    await fits.close();
    await big.close();
  });
});
