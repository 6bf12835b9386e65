// The WASM adapter against the shared conformance suite, unchanged.
import { createMemoryQueue } from '@tideq/core';
import { defineConformanceSuite } from '@tideq/core/testing';

defineConformanceSuite('wasm (createMemoryQueue)', ({ clock }) => createMemoryQueue({ clock }));
