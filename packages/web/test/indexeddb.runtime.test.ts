// The runtime (QueueManager, SchedulerManager, waitFor) on the IndexedDB store, unchanged, on
// fake-indexeddb in Node. The same suite runs in real Chromium: test/browser/indexeddb.browser.test.ts.
import 'fake-indexeddb/auto';
import { defineRuntimeSuite } from '@tideq/core/testing';
import { createIndexedDbQueue } from '../src/index.ts';

let n = 0;
defineRuntimeSuite(
  'indexeddb (fake-indexeddb)',
  ({ clock }) => createIndexedDbQueue({ name: `runtime-${process.pid}-${n++}`, clock }),
  { timeout: 60_000, drainJobs: 2000 },
);
