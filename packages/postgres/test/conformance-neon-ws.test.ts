import { defineConformanceSuite } from '@tideq/core/testing';
import { conformanceFactory } from './helpers.ts';

defineConformanceSuite('postgres: Neon WebSocket Pool', await conformanceFactory('neon-ws'), {
  timeout: 20_000,
});
