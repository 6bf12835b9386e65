import { createReferenceQueue } from '../src/index.js';
import { defineRuntimeSuite } from '../src/testing/index.js';

defineRuntimeSuite('the reference adapter', async ({ clock }) =>
  createReferenceQueue(clock ? { clock } : {}),
);
