import { defineConformanceSuite } from '@tideq/core/testing';
import { conformanceFactory } from './helpers.ts';

defineConformanceSuite('postgres: Neon HTTP', await conformanceFactory('neon-http'), { timeout: 20_000 });
