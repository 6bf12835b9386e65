// Proof of equivalence: random sequences of port operations run on the WASM adapter and on the
// reference adapter give identical results (thrown error codes included) and identical final
// state. A snapshot+restore of the WASM queue in the middle must not change anything.
// The commands, their runner and the comparison: test/support/differential.ts (shared with the
// IndexedDB store's differential test in packages/web).
import { createMemoryQueue, createReferenceQueue, ManualClock, type WasmQueueRepository } from '@tideq/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Cmd,
  commands,
  compareWithReference,
  runCommand,
  type StoreUnderTest,
  T0,
} from './support/differential.js';

const cmd = commands();

const wasmStore: StoreUnderTest<WasmQueueRepository> = {
  create: (clock) => createMemoryQueue({ clock }),
  async snapshot(wasm, clock) {
    // Into a fresh instance, so nothing can survive outside the snapshot bytes.
    const bytes = await wasm.snapshot();
    const next = await createMemoryQueue({ clock });
    await next.restore(bytes);
    await wasm.close();
    return next;
  },
};

const compare = (cmds: Cmd[]) => compareWithReference(cmds, wasmStore);

describe('WASM core vs reference adapter (differential)', () => {
  it('agrees on 1,000 random operation sequences', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 40 }), (cmds) => compare(cmds)),
      { numRuns: 1000 },
    );
  });

  it('agrees on the maxOwned corner: own stale re-picks behind an excluded entrypoint', async () => {
    // m1 holds job 1 (stale); b is excluded by its concurrency limit; a fresh pick brings m1 to
    // maxOwned; an excluded candidate of b between that pick and the stale job stops the pass.
    const setup = (withBlocker: boolean): Cmd[] => [
      { op: 'enqueue', jobs: [{ entrypoint: 'a', priority: 5 }], skip: false },
      {
        op: 'enqueue',
        jobs: [
          { entrypoint: 'b', priority: 10 },
          { entrypoint: 'b', priority: 10 },
        ],
        skip: false,
      },
      { op: 'dequeue', options: { batchSize: 1, queueManagerId: 'm2', entrypoints: { b: {} } } },
      {
        op: 'dequeue',
        options: { batchSize: 1, queueManagerId: 'm1', entrypoints: { a: { retryTimer: 1000 } } },
      },
      { op: 'advance', ms: 2000 },
      { op: 'heartbeat', ids: [2], fence: undefined },
      {
        op: 'enqueue',
        jobs: withBlocker
          ? [
              { entrypoint: 'a', priority: 6 },
              { entrypoint: 'b', priority: 6 },
            ]
          : [{ entrypoint: 'a', priority: 6 }],
        skip: false,
      },
      {
        op: 'dequeue',
        options: {
          batchSize: 5,
          queueManagerId: 'm1',
          maxOwned: 2,
          entrypoints: { a: { retryTimer: 1000 }, b: { concurrencyLimit: 1 } },
        },
      },
      { op: 'reads' },
    ];
    for (const withBlocker of [true, false]) await compare(setup(withBlocker));
    // and the scenario really takes both branches on the reference
    const clock = new ManualClock(T0);
    for (const [withBlocker, picked] of [
      [true, [4]],
      [false, [4, 1]],
    ] as const) {
      const ref = createReferenceQueue({ clock });
      for (const c of setup(withBlocker)) {
        if (c.op === 'advance') {
          clock.advance(c.ms);
          continue;
        }
        const result = await runCommand(ref, c, clock.now());
        if (c.op === 'dequeue' && c.options.maxOwned === 2) {
          expect((result as { id: number }[]).map((j) => j.id)).toEqual(picked);
        }
      }
    }
  });

  it('agrees on long sequences with deep queues', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 100, maxLength: 250 }), (cmds) => compare(cmds)),
      { numRuns: 40 },
    );
  });
});
