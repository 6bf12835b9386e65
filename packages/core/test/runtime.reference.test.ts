import { createReferenceQueue } from '@tideq/core';
import { defineRuntimeSuite } from '@tideq/core/testing';

defineRuntimeSuite('the reference adapter', async ({ clock }) => createReferenceQueue({ clock }));
