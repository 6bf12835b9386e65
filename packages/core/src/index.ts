/**
 * @tideq/core: the job queue's domain types and errors, the QueueRepository port, the in-memory
 * stores (reference and WASM), and the runtime (QueueManager, SchedulerManager). Store authors
 * import `@tideq/core/adapter`; test suites live in `@tideq/core/testing`. Every public name is
 * listed here (test/public-api.test.ts pins the list).
 *
 * @module @tideq/core
 */
export { type Clock, ManualClock, systemClock } from './clock.js';
export {
  type HandoffJob,
  type HttpDelivery,
  type HttpDeliveryOptions,
  type HttpRequest,
  handoffRequest,
  httpDelivery,
  httpRequestCodec,
  SIGNATURE_HEADER,
  type SignedBody,
  type SignedMessage,
  type SigningKeys,
  signRequest,
  type VerifyOptions,
  verifySignature,
} from './delivery/index.js';
export {
  CoreTrappedError,
  coerceError,
  DriverMisconfiguredError,
  DuplicateJobError,
  errorFromJSON,
  InvalidArgumentError,
  isTideqError,
  NotInstalledError,
  PayloadTooLargeError,
  QueueFullError,
  SchemaOutdatedError,
  StorageUnavailableError,
  TideqError,
  type TideqErrorCode,
  type TideqErrorJSON,
  TimeoutError,
  UnauthorizedError,
} from './errors.js';
export type {
  ClaimOptions,
  CompletionResult,
  DequeueOptions,
  EnqueueOptions,
  EntrypointLimits,
  EventListener,
  FenceOptions,
  QueueRepository,
  Retention,
  RetryRequest,
  ScheduleRun,
  SubscribeOptions,
  Unsubscribe,
} from './port.js';
export { PORT_METHODS } from './port.js';
export {
  createReferenceQueue,
  REFERENCE_SCHEMA_VERSION,
  type ReferenceQueueOptions,
} from './reference/index.js';
export {
  bytesCodec,
  type Codec,
  DEFAULT_RETENTION,
  type EnqueueJobOptions,
  type EntrypointOptions,
  type EntrypointStats,
  type ExecutionOutcome,
  type Executor,
  type Handler,
  type JobContext,
  jsonCodec,
  type Logger,
  QueueManager,
  type QueueManagerEvents,
  type QueueManagerOptions,
  type RetentionPolicy,
  type RetryPolicy,
  type RunOptions,
  type ScheduleContext,
  type ScheduleHandler,
  type ScheduleOptions,
  SchedulerManager,
  type SchedulerManagerOptions,
  type Timers,
  type WaitForOptions,
  waitFor,
} from './runtime/index.js';
export {
  type CompletionStatus,
  isTerminalStatus,
  JOB_STATUSES,
  type Job,
  type JobEvent,
  type JobEventKind,
  type JobStatus,
  type JsonObject,
  type JsonValue,
  type NewJob,
  type OpMetrics,
  type QueueSizeRow,
  type RepositoryMetrics,
  type ScanReport,
  type Schedule,
  type ScheduleInput,
  type StatisticsRow,
  type TerminalStatus,
  type VerifyReport,
} from './types.js';
export { DEFAULT_LIMITS, type Limits } from './validation.js';
export {
  createMemoryQueue,
  defaultMemoryBudget,
  defaultWasmUrl,
  type MemoryQueueOptions,
  WASM_SCHEMA_VERSION,
  type WasmQueueRepository,
  type WasmSource,
} from './wasm/index.js';
