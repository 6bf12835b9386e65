// The IndexedDB store's storage behaviour in real Chromium; the same scenarios run on
// fake-indexeddb in Node (test/indexeddb-storage.test.ts).
import { defineStorageScenarios } from '../indexeddb-storage.scenarios.ts';

defineStorageScenarios('Chromium');
