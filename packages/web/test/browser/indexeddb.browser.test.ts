// The IndexedDB store against the shared conformance and runtime suites, unchanged, in real
// Chromium (vitest browser mode): the same suites as test/indexeddb.*.test.ts on fake-indexeddb.
import { defineConformanceSuite, defineRuntimeSuite } from '@tideq/core/testing';
import { createIndexedDbQueue } from '../../src/index.ts';

const run = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
let n = 0;
const factory = ({ clock }: { clock: { now(): number } }) =>
  createIndexedDbQueue({ name: `chromium-${run}-${n++}`, clock });

defineConformanceSuite('indexeddb (Chromium)', factory, { timeout: 20_000 });
defineRuntimeSuite('indexeddb (Chromium)', factory, { timeout: 60_000, drainJobs: 2000 });
