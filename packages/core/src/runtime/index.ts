export { bytesCodec, jsonCodec } from './codec.js';
export { type WaitForOptions, waitFor } from './completion.js';
export { QueueManager } from './queue-manager.js';
export { DEFAULT_RETENTION, type RetentionPolicy } from './retention.js';
export { SchedulerManager } from './scheduler-manager.js';
export type {
  Codec,
  EnqueueJobOptions,
  EntrypointOptions,
  EntrypointStats,
  ExecutionOutcome,
  Executor,
  Handler,
  JobContext,
  Logger,
  QueueManagerEvents,
  QueueManagerOptions,
  RetryPolicy,
  RunOptions,
  ScheduleContext,
  ScheduleHandler,
  ScheduleOptions,
  SchedulerManagerOptions,
  Timers,
} from './types.js';
