// The durable memory queue on fake-indexeddb: the conformance suite unchanged (it is the WASM core),
// and what it promises on top: restored from its snapshot, saved by count, by interval and on flush.
import 'fake-indexeddb/auto';
import { ManualClock } from '@tideq/core';
import { defineConformanceSuite } from '@tideq/core/testing';
import { describe, expect, it } from 'vitest';
import { createDurableMemoryQueue } from '../src/index.ts';

let n = 0;
const name = (what: string) => `durable-${what}-${process.pid}-${n++}`;

defineConformanceSuite('durable memory (fake-indexeddb)', ({ clock }) =>
  createDurableMemoryQueue({ name: name('conformance'), clock }),
);

describe('durable memory queue: snapshots', () => {
  it('restores jobs, statuses and the log from the last snapshot', async () => {
    const db = name('restore');
    const clock = new ManualClock();
    const first = await createDurableMemoryQueue({ name: db, clock });
    await first.enqueue([{ entrypoint: 'a', payload: new Uint8Array([1, 2]) }, { entrypoint: 'a' }]);
    const [picked] = await first.dequeue({ batchSize: 1, entrypoints: { a: {} }, queueManagerId: 'm' });
    await first.complete([{ id: picked!.id, status: 'successful' }]);
    const log = await first.log();
    await first.close(); // close saves
    const second = await createDurableMemoryQueue({ name: db, clock });
    try {
      expect(second.lastSnapshotAt).not.toBeNull();
      expect(await second.jobStatus([1, 2])).toEqual(['successful', 'queued']);
      expect((await second.getJobs([2]))[0]).toMatchObject({ id: 2, status: 'queued' });
      expect(await second.log()).toEqual(log);
      expect(await second.enqueue([{ entrypoint: 'a' }])).toEqual([3]);
    } finally {
      await second.close();
    }
  });

  it('saves after every snapshotEvery mutations, and on flush', async () => {
    const db = name('every');
    const queue = await createDurableMemoryQueue({ name: db, snapshotEvery: 3, snapshotInterval: 0 });
    try {
      await queue.enqueue([{ entrypoint: 'a' }]);
      await queue.enqueue([{ entrypoint: 'a' }]);
      expect(queue.lastSnapshotAt).toBeNull();
      await queue.enqueue([{ entrypoint: 'a' }]);
      for (let i = 0; i < 200 && queue.lastSnapshotAt === null; i++)
        await new Promise((r) => setTimeout(r, 5));
      expect(queue.lastSnapshotAt).not.toBeNull();
      const saved = queue.lastSnapshotAt;
      await queue.queueSize(); // reads do not count
      await queue.enqueue([{ entrypoint: 'a' }]);
      await queue.flush();
      expect(queue.lastSnapshotAt).toBeGreaterThanOrEqual(saved!);
    } finally {
      await queue.close();
    }
    const again = await createDurableMemoryQueue({ name: db });
    try {
      expect((await again.queueSize())[0]).toMatchObject({ entrypoint: 'a', status: 'queued', count: 4 });
    } finally {
      await again.close();
    }
  });

  it('saves on its interval after a change', async () => {
    const db = name('interval');
    const queue = await createDurableMemoryQueue({ name: db, snapshotInterval: 20, snapshotEvery: 0 });
    try {
      await queue.enqueue([{ entrypoint: 'a' }]);
      for (let i = 0; i < 400 && queue.lastSnapshotAt === null; i++)
        await new Promise((r) => setTimeout(r, 5));
      expect(queue.lastSnapshotAt).not.toBeNull();
    } finally {
      await queue.close();
    }
  });

  it('rejects a missing name before touching storage', async () => {
    await expect(createDurableMemoryQueue({ name: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
