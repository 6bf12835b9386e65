/**
 * Domain types shared by every adapter, the runtime and the hosts.
 *
 * Time is always an integer number of milliseconds since the Unix epoch (what `Date.now()`
 * returns), taken from an injected {@link Clock}. Ids are safe integers, strictly increasing per store.
 */

/** A JSON value, as stored in job headers. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object, as job headers are. */
export type JsonObject = { [key: string]: JsonValue };

/**
 * Lifecycle: `queued -> picked -> successful | exception | canceled | deleted` (terminal: the job
 * leaves the store). `failed` is the dead-letter state: the job stays, is never dequeued, and
 * `requeue` puts it back to `queued` with attempts 0.
 */
export type JobStatus = 'queued' | 'picked' | 'successful' | 'exception' | 'canceled' | 'deleted' | 'failed';

/** Every {@link JobStatus}, in lifecycle order. */
export const JOB_STATUSES: readonly JobStatus[] = [
  'queued',
  'picked',
  'successful',
  'exception',
  'canceled',
  'deleted',
  'failed',
];

/** Statuses after which the job has left the store. */
export type TerminalStatus = 'successful' | 'exception' | 'canceled' | 'deleted';

/** What `complete()` accepts: a terminal status, or `failed` to keep the job as a dead letter. */
export type CompletionStatus = TerminalStatus | 'failed';

/** True for the statuses after which a job has left the store ({@link TerminalStatus}). */
export function isTerminalStatus(status: JobStatus): status is TerminalStatus {
  return status === 'successful' || status === 'exception' || status === 'canceled' || status === 'deleted';
}

/** A job as the caller describes it to `enqueue`. */
export interface NewJob {
  /** Handler name: 1..128 characters of `[A-Za-z0-9_.:-]`. */
  entrypoint: string;
  /** Opaque bytes (default null). Use a codec such as `jsonCodec` on top. */
  payload?: Uint8Array | null;
  /** int32, higher runs first; default 0. */
  priority?: number;
  /** Epoch ms (or a Date) before which the job is not dequeued; default: now. */
  executeAfter?: number | Date;
  /** At most one queued or picked job per key (default null: no dedupe). */
  dedupeKey?: string | null;
  /** JSON object carried with the job: tracing context, user metadata (default null). */
  headers?: JsonObject | null;
}

/** A {@link NewJob} after validation: every field present, times as integer epoch ms. */
export interface ValidJob {
  entrypoint: string;
  payload: Uint8Array | null;
  priority: number;
  /** Integer epoch ms, or null for "now" (resolved by the adapter with its clock, in the same step). */
  executeAfter: number | null;
  dedupeKey: string | null;
  headers: JsonObject | null;
}

/** A job held by the store (queued, picked or failed). */
export interface Job {
  /** Assigned at enqueue: strictly increasing per store, never reused. */
  id: number;
  /** The handler's name. */
  entrypoint: string;
  /** The stored bytes (decode them with the entrypoint's codec), or null. */
  payload: Uint8Array | null;
  /** Higher is picked first; ties go to the lower id. */
  priority: number;
  /** Not picked before this time (epoch ms). */
  executeAfter: number;
  /** Held while the job is queued or picked: no other such job has it. */
  dedupeKey: string | null;
  /** JSON metadata (tracing context, user data), or null. */
  headers: JsonObject | null;
  /** `queued`, `picked` or `failed` (a held job is never terminal). */
  status: JobStatus;
  /** Times the job has been picked (a stale re-pick counts). */
  attempts: number;
  /** Last sign of life of the manager running it (epoch ms); stale after `retryTimer`. */
  heartbeat: number;
  /** When it was enqueued (epoch ms). */
  created: number;
  /** Its last transition or heartbeat (epoch ms). */
  updated: number;
  /** The manager that holds a picked job; null otherwise. */
  queueManagerId: string | null;
  /** The error recorded by the last retry or failure, if any. */
  lastError: string | null;
}

/** The kind of transition a log row / event records. */
export type JobEventKind =
  | 'enqueued' // -> queued, by enqueue
  | 'picked' // -> picked, by dequeue (also a stale re-pick)
  | 'retried' // picked -> queued, by retry
  | 'requeued' // failed -> queued by requeue, or picked -> queued by recover
  | 'completed' // -> successful | exception | deleted
  | 'cancelled' // -> canceled
  | 'failed'; // -> failed (dead letter)

/**
 * One log row = one event: a single transition of one job. `seq` is strictly increasing per
 * store in commit order.
 */
export interface JobEvent {
  /** Position in the store's log: strictly increasing in commit order. */
  seq: number;
  /** Which transition this is. */
  kind: JobEventKind;
  /** The job's id. */
  jobId: number;
  /** The job's entrypoint. */
  entrypoint: string;
  /** The job's priority. */
  priority: number;
  /** The status the job has after this transition. */
  status: JobStatus;
  /** When the transition was committed (epoch ms). */
  at: number;
  /** The manager involved: the picker for `picked`, the holder of a running job for `cancelled`. */
  queueManagerId: string | null;
  /** The error for `retried`, `failed` and `completed` with status `exception`. */
  error: string | null;
}

/** One row of `queueSize()`: jobs currently in the store. */
export interface QueueSizeRow {
  /** The jobs' entrypoint. */
  entrypoint: string;
  /** Their status (only held statuses). */
  status: 'queued' | 'picked' | 'failed';
  /** Their priority. */
  priority: number;
  /** How many jobs (rows with 0 are left out). */
  count: number;
}

/** One row of `statistics()`: terminal (and failed) transitions per second bucket. */
export interface StatisticsRow {
  /** The jobs' entrypoint. */
  entrypoint: string;
  /** The status they reached. */
  status: CompletionStatus;
  /** Their priority. */
  priority: number;
  /** Start of the one-second bucket, epoch ms (a multiple of 1000). */
  second: number;
  /** Transitions in that second. */
  count: number;
}

/** A cron schedule as stored. The store does not parse cron; the runtime computes `nextRunAt`. */
export interface Schedule {
  /** Unique name of the schedule. */
  name: string;
  /** The entrypoint (schedule handler) it runs. */
  entrypoint: string;
  /** The cron expression, stored for display and for recomputing `nextRunAt`. */
  expression: string;
  /** IANA time zone the expression is evaluated in, or null for UTC. */
  timezone: string | null;
  /** When the next tick is due (epoch ms). */
  nextRunAt: number;
  /** When the last tick ran (epoch ms), or null. */
  lastRunAt: number | null;
  /** The claimer currently running a tick, or null. */
  claimedBy: string | null;
  /** When the claim was taken or last refreshed, or null. */
  claimedAt: number | null;
}

/** A cron schedule as given to `upsertSchedules` (the runtime computes `nextRunAt`). */
export interface ScheduleInput {
  /** Unique name of the schedule. */
  name: string;
  /** The entrypoint (schedule handler) it runs. */
  entrypoint: string;
  /** The cron expression (5 fields, or 6 with seconds first). */
  expression: string;
  /** IANA time zone the expression is read in; null or absent: UTC. */
  timezone?: string | null;
  /** When the next tick is due (epoch ms). */
  nextRunAt: number;
}

/** Anomalies found by `scan()`. */
export interface ScanReport {
  /** Ids of picked jobs whose heartbeat is older than `staleAfter`, ascending. */
  stalePicked: number[];
  /** Ids of jobs in an inconsistent state (adapter-specific checks), ascending. */
  orphans: number[];
  /** Log rows that a `compact` with the given retention would drop. */
  logBeyondRetention: number;
}

/** Counters of one port method in {@link RepositoryMetrics}. */
export interface OpMetrics {
  /** Calls, counted at their start. */
  count: number;
  /** Calls that rejected. */
  errors: number;
  /** Total wall time spent in the operation, ms (performance.now; not the injected clock). */
  totalMs: number;
  /** The longest call, ms. */
  maxMs: number;
}

/** Counters kept by every adapter; `resetMetrics()` zeroes them. */
export interface RepositoryMetrics {
  /** Job, log, statistics and schedule records written. */
  recordsWritten: number;
  /** Payload and header bytes written. */
  bytesWritten: number;
  /** `scan` calls. */
  scans: number;
  /** Jobs put back by `recover`. */
  recoveries: number;
  /** `compact` calls. */
  compactions: number;
  /** Log rows physically dropped by compaction. */
  compactedRecords: number;
  /** Calls that rejected, all methods together. */
  errors: number;
  /** Per port method. */
  ops: Record<string, OpMetrics>;
}

/** What `verify()` found: whether the store's schema is installed and current, and what to do if not. */
export interface VerifyReport {
  /** Whether the store's schema is there at all. */
  installed: boolean;
  /** Schema version found in the store, or null when not installed. */
  version: number | null;
  /** Schema version this code expects. */
  expectedVersion: number;
  /** installed && version === expectedVersion. */
  current: boolean;
  /** Human-readable problems (missing tables, outdated schema, ...), each with the fix. */
  problems: string[];
}
