import { defineRuntimeSuite } from '@tideq/core/testing';
import { conformanceFactory } from './helpers.ts';

// The runtime over Neon's HTTP driver: no session, so no LISTEN; managers and waitFor are woken
// by the bounded poll (and by this process's own writes).
defineRuntimeSuite('postgres: Neon HTTP', await conformanceFactory('neon-http'), {
  timeout: 60_000,
  drainJobs: 2000,
});
