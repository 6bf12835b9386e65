import { createReferenceQueue } from '../src/reference/index.js';
import { defineConformanceSuite } from '../src/testing/index.js';

defineConformanceSuite('reference', async ({ clock }) => createReferenceQueue({ clock }));
