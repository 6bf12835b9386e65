// The IndexedDB store's storage behaviour on fake-indexeddb; the same scenarios run in Chromium
// (browser/indexeddb-storage.browser.test.ts).
import 'fake-indexeddb/auto';
import { defineStorageScenarios } from './indexeddb-storage.scenarios.ts';

defineStorageScenarios('fake-indexeddb');
