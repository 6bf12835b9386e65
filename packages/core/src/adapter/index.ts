/**
 * @tideq/core/adapter: the kit for writing a store (a QueueRepository). See docs/ADAPTERS.md.
 *
 * - `CallEnvelope`: the per-call wrapper every port method runs in (closed and installed gates,
 *   the clock read once, metrics and error counting, event publishing) and the metrics rules.
 * - `EventFanout`, `LogFollower`, `deliverEvents`: event delivery, in-process or by following
 *   the store's log.
 * - The validators every store calls first, so all stores reject the same inputs the same way.
 * - The fixed bounds (int32 priorities, the largest time, error-text length).
 * - The enqueue batch in the WASM core's request layout, encoded once where the jobs are made
 *   (`encodeEnqueueBatch`, `EnqueueBatchWriter`) and taken as is by the WASM store's
 *   `enqueueEncoded`, or decoded into jobs for any other store (`decodeEnqueueBatch`).
 *
 * @module @tideq/core/adapter
 */

export { INT32_MAX, INT32_MIN, MAX_ERROR_TEXT_LENGTH, MAX_TIME_MS } from '../limits.js';
export { emptyMetrics, PORT_METHODS } from '../port.js';
export {
  bucketCapacity,
  DEFAULT_LIMITS,
  describeValue,
  filterEventKinds,
  type Limits,
  resolveLimits,
  type ValidDequeueOptions,
  type ValidEntrypointLimits,
  validateClaimOptions,
  validateCompactOptions,
  validateCompletionResults,
  validateCount,
  validateDequeueOptions,
  validateEnqueueOptions,
  validateEntrypoints,
  validateFenceOptions,
  validateIds,
  validateListener,
  validateNewJobs,
  validatePage,
  validateRecoverOptions,
  validateRetryRequests,
  validateScanOptions,
  validateScheduleInputs,
  validateScheduleNames,
  validateScheduleRuns,
  validateStatisticsOptions,
  validateSubscribeOptions,
  validateTime,
} from '../validation.js';
export {
  decodeEnqueueBatch,
  type EncodedEnqueue,
  EnqueueBatchWriter,
  encodeEnqueueBatch,
} from '../wasm/enqueue-batch.js';
export {
  CallEnvelope,
  type CallTx,
  type EnvelopeOptions,
  type Gate,
  type PortMethod,
  recordsPerEvent,
  storedJobBytes,
} from './envelope.js';
export { deliverEvents, EventFanout } from './event-fanout.js';
export { LogFollower, type LogReader } from './log-follower.js';
