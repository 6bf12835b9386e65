/**
 * The conformance suite: the scenarios every QueueRepository adapter must pass, checked against
 * the precise port semantics in docs/ARCHITECTURE.md.
 */
import { describe } from 'vitest';
import { concurrencyScenarios } from './concurrency.js';
import { dequeueScenarios } from './dequeue.js';
import { enqueueScenarios } from './enqueue.js';
import { eventScenarios } from './events.js';
import { fencingScenarios } from './fencing.js';
import { type ConformanceOptions, type RepositoryFactory, resolveOptions } from './harness.js';
import { invalidInputScenarios } from './invalid-input.js';
import { lifecycleScenarios } from './lifecycle.js';
import { maintenanceScenarios } from './maintenance.js';
import { payloadScenarios } from './payloads.js';
import { readScenarios } from './reads.js';
import { scheduleScenarios } from './schedules.js';

export type { ConformanceOptions, RepositoryFactory } from './harness.js';

/**
 * Register (with vitest `describe`/`it`) every scenario an adapter must pass. Each scenario gets
 * a fresh repository from `factory`, with a fresh ManualClock it must read time from, and closes
 * it afterwards. Scenarios use only the public port.
 *
 * @param name shown as the top-level describe block, e.g. 'reference adapter'
 * @param factory creates an installed, empty repository that reads time from `ctx.clock`
 * @param options timeouts for slow stores, and the limits the factory configures
 * @example
 * import { defineConformanceSuite } from '@tideq/core/testing';
 * import { createReferenceQueue } from '@tideq/core';
 *
 * defineConformanceSuite('reference', async ({ clock }) => createReferenceQueue({ clock }));
 */
export function defineConformanceSuite(
  name: string,
  factory: RepositoryFactory,
  options?: ConformanceOptions,
): void {
  const resolved = resolveOptions(options);
  describe(`${name}: QueueRepository conformance`, { timeout: resolved.timeout }, () => {
    enqueueScenarios(factory, resolved);
    payloadScenarios(factory, resolved);
    dequeueScenarios(factory, resolved);
    lifecycleScenarios(factory, resolved);
    fencingScenarios(factory, resolved);
    readScenarios(factory, resolved);
    scheduleScenarios(factory, resolved);
    concurrencyScenarios(factory, resolved);
    eventScenarios(factory, resolved);
    maintenanceScenarios(factory, resolved);
    invalidInputScenarios(factory, resolved);
  });
}
