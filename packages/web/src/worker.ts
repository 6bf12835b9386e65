/**
 * The worker side of @tideq/web: `hostQueue()` runs the queue where the handlers live.
 *
 * @module @tideq/web/worker
 */

export { installErrorHandlers } from './facade/errors.js';
export type { HostInfo, HostState, HostStats } from './facade/protocol.js';
export { type HostQueueOptions, hostQueue, type QueueHost } from './host/host.js';
export { offlineDelivery, REPLAY_TAG, replayOnSync, whenOnline } from './offline/index.js';
