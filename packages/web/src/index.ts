/**
 * @tideq/web: the page side (`connectQueue`, the typed facade over a Worker host) and the browser
 * stores (`createIndexedDbQueue`, `createDurableMemoryQueue`); the worker side is `@tideq/web/worker`.
 *
 * @module @tideq/web
 */
export {
  createDurableMemoryQueue,
  type DurableMemoryQueue,
  type DurableMemoryQueueOptions,
} from './durable-memory.js';
export { connectQueue } from './facade/connect.js';
export type { NodeWorkerLike, QueueTarget } from './facade/endpoint.js';
export { installErrorHandlers } from './facade/errors.js';
export type { HostInfo, HostState, HostStats } from './facade/protocol.js';
export type {
  ConnectOptions,
  EnqueueJobOf,
  PageCodecs,
  PayloadsOf,
  QueueFacade,
  Unsubscribe,
} from './facade/types.js';
export {
  createIndexedDbQueue,
  type Durability,
  INDEXEDDB_SCHEMA_VERSION,
  type IndexedDbQueueOptions,
  IndexedDbQueueRepository,
} from './indexeddb/index.js';
export { REPLAY_TAG, requestReplay } from './offline/index.js';
