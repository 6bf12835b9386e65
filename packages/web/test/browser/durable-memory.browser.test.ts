// The durable memory queue against the shared conformance suite, unchanged, in real Chromium
// (Web Locks and IndexedDB for real); its reload behaviour is in test/indexeddb-chromium.test.ts.
import { defineConformanceSuite } from '@tideq/core/testing';
import { createDurableMemoryQueue } from '../../src/index.ts';

const run = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
let n = 0;
defineConformanceSuite(
  'durable memory (Chromium)',
  ({ clock }) => createDurableMemoryQueue({ name: `durable-chromium-${run}-${n++}`, clock }),
  { timeout: 20_000 },
);
