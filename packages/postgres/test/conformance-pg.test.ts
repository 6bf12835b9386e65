import { defineConformanceSuite } from '@tideq/core/testing';
import { conformanceFactory } from './helpers.ts';

defineConformanceSuite('postgres: node-postgres Pool', await conformanceFactory('pg'), { timeout: 20_000 });
