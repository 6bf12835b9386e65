import { defineRuntimeSuite } from '@tideq/core/testing';
import { conformanceFactory } from './helpers.ts';

// The runtime on Postgres through a node-postgres Pool, woken by LISTEN/NOTIFY.
defineRuntimeSuite('postgres: node-postgres Pool', await conformanceFactory('pg'), {
  timeout: 60_000,
  drainJobs: 5000,
});
