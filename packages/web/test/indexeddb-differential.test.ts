// Proof of equivalence for the IndexedDB store (fake-indexeddb): random sequences of port
// operations give the same results (thrown error codes included), final state and metrics as the
// reference adapter. Most sequences enqueue chunkable runs (schema 4 keeps the fresh jobs of one
// enqueue as one `chunks` record), so chunks get picked, partly completed, retried, cancelled,
// recovered, dead-lettered and cleared. The WASM-only `snapshot` command is skipped here.
import 'fake-indexeddb/auto';
import { ManualClock } from '@tideq/core';
import fc from 'fast-check';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import {
  type Cmd,
  type CommandOptions,
  commands,
  compareWithReference,
  type StoreUnderTest,
  T0,
} from '../../core/test/support/differential.js';
import { createIndexedDbQueue, type IndexedDbQueueRepository } from '../src/index.ts';
import { CHUNK_MAX_JOBS, type JobChunk } from '../src/indexeddb/schema.ts';

let n = 0;
const indexedDbStore: StoreUnderTest<IndexedDbQueueRepository> = {
  create: (clock) => createIndexedDbQueue({ name: `differential-${process.pid}-${n++}`, clock }),
  async dispose(repo) {
    await repo.close();
    // fake-indexeddb keeps every database in memory until it is deleted.
    indexedDB.deleteDatabase(repo.name);
  },
};

/** `numRuns` sequences of minLength..maxLength commands, lengths spread over the whole range. */
function agree(options: CommandOptions, [minLength, maxLength]: [number, number], numRuns: number) {
  return fc.assert(
    fc.asyncProperty(fc.array(commands(options), { minLength, maxLength, size: 'max' }), (cmds) =>
      compareWithReference(cmds, indexedDbStore),
    ),
    // A failure in a long sequence can shrink for minutes: report the smallest one found by then.
    { numRuns, interruptAfterTimeLimit: 60_000 },
  );
}

describe('IndexedDB store vs reference adapter (differential)', () => {
  // Ids up to 60: about what 20..60 commands with chunkable enqueues assign.
  it('agrees on 250 random sequences biased to chunkable enqueues', { timeout: 120_000 }, async () => {
    await agree({ chunkable: true, maxId: 60 }, [20, 60], 250);
  });

  it('agrees on 300 random sequences of the plain mix', { timeout: 120_000 }, async () => {
    await agree({}, [1, 40], 300);
  });

  it('agrees on long sequences with deep chunked queues', { timeout: 120_000 }, async () => {
    await agree({ chunkable: true, maxId: 300 }, [100, 250], 25);
  });

  it('agrees when one enqueue holds more jobs than a chunk, and really splits it', async () => {
    const run = (count: number, entrypoint: string) =>
      Array.from({ length: count }, (_, i) => ({ entrypoint, payload: new Uint8Array([i & 255]) }));
    const jobs = [...run(130, 'a'), ...run(1, 'b'), ...run(260, 'a')];
    const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => first + i);
    const cmds: Cmd[] = [
      { op: 'enqueue', jobs, skip: false },
      { op: 'dequeue', options: { batchSize: 200, queueManagerId: 'm1', entrypoints: { a: {} } } },
      {
        op: 'complete',
        results: range(120, 15).map((id) => ({ id, status: 'successful', error: null })),
        fence: 'm1',
      },
      { op: 'retry', requests: range(1, 3).map((id) => ({ id, delay: 0, error: 'x' })), fence: 'm1' },
      { op: 'cancel', ids: range(125, 20), fence: undefined },
      { op: 'advance', ms: 5000 },
      { op: 'recover', staleAfter: 1000 },
      { op: 'dequeue', options: { batchSize: 300, queueManagerId: 'm2', entrypoints: { a: {}, b: {} } } },
      { op: 'getJobs', ids: range(125, 10), fence: undefined },
      { op: 'clear', entrypoints: ['b'] },
      { op: 'nextDueAt', entrypoints: ['a', 'b'] },
      { op: 'reads' },
    ];
    await compareWithReference(cmds, indexedDbStore);

    // The enqueue above is stored as chunks of at most CHUNK_MAX_JOBS (b's single job is not one).
    const repo = await indexedDbStore.create(new ManualClock(T0));
    try {
      await repo.enqueue(jobs);
      const db = await openDB(repo.name);
      const chunks: JobChunk[] = await db.getAll('chunks');
      db.close();
      expect(chunks.map((c) => c.ids.length).reduce((a, b) => a + b)).toBe(390);
      expect(Math.max(...chunks.map((c) => c.ids.length))).toBe(CHUNK_MAX_JOBS);
      expect(chunks.flatMap((c) => c.ids)).not.toContain(131);
    } finally {
      await indexedDbStore.dispose!(repo);
    }
  });
});
