export {
  type ConformanceOptions,
  defineConformanceSuite,
  type RepositoryFactory,
} from './conformance/index.js';
export { type DumpOptions, dumpRepository, type RepositoryDump } from './dump.js';
export * from './runtime-suite.js';
