// The IndexedDB store against the shared conformance suite, unchanged, on fake-indexeddb in Node.
// The same suite runs in real Chromium: test/browser/indexeddb.browser.test.ts.
import 'fake-indexeddb/auto';
import { defineConformanceSuite } from '@tideq/core/testing';
import { createIndexedDbQueue } from '../src/index.ts';

let n = 0;
defineConformanceSuite('indexeddb (fake-indexeddb)', ({ clock }) =>
  createIndexedDbQueue({ name: `conformance-${process.pid}-${n++}`, clock }),
);
