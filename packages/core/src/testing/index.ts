/**
 * @tideq/core/testing: the suites every store joins (conformance: the port's semantics; runtime:
 * QueueManager and SchedulerManager on the store) and the helpers they use.
 *
 * @module @tideq/core/testing
 */
export {
  type ConformanceOptions,
  defineConformanceSuite,
  type RepositoryFactory,
} from './conformance/index.js';
export { type DumpOptions, dumpRepository, type RepositoryDump } from './dump.js';
export {
  defineRuntimeSuite,
  ManualTimers,
  type RuntimeRepositoryFactory,
  type RuntimeSuiteOptions,
} from './runtime-suite.js';
