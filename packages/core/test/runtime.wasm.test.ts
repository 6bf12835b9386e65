import { createMemoryQueue } from '@tideq/core';
import { defineRuntimeSuite } from '@tideq/core/testing';

defineRuntimeSuite('the WASM adapter', ({ clock }) => createMemoryQueue({ clock }));
