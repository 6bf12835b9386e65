import { defineRuntimeSuite } from '@tideq/core/testing';
import { conformanceFactory } from './helpers.ts';

// The runtime (QueueManager, SchedulerManager, waitFor) on Postgres through the Neon WebSocket
// Pool, woken by LISTEN/NOTIFY.
defineRuntimeSuite('postgres: Neon WebSocket Pool', await conformanceFactory('neon-ws'), {
  timeout: 60_000,
  drainJobs: 5000,
});
