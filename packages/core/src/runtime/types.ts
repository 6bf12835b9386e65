/**
 * Public types of the runtime: options, handler context, codecs, logger, timers, statistics.
 * Behaviour lives in queue-manager.ts, scheduler-manager.ts, executor.ts and completion.ts.
 */
import type { Clock } from '../clock.js';
import type { Job, JsonObject, Schedule } from '../types.js';

/** Turns a handler's typed payload into the job's bytes and back. */
export interface Codec<T> {
  /** The bytes stored as the job's payload (null: no payload). */
  encode(value: T): Uint8Array | null;
  /** The handler's payload from the stored bytes. */
  decode(bytes: Uint8Array | null): T;
}

/** Structured logger; `fields` carry ids, entrypoints and errors. */
export interface Logger {
  /** Detail for tracing the loop (picks, sleeps). */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Start, stop and other milestones. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something recovered from (a retried store outage, a late heartbeat). */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A failure that needs attention (a handler's error, a store bug). */
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Where the runtime waits for time to pass (sleeps, heartbeats, handler timeouts). Defaults to the
 * global setTimeout; tests pass manual timers driven by the same ManualClock as the store.
 */
export interface Timers {
  /** Calls `callback` after `ms`; returns a handle for clearTimeout. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending setTimeout. */
  clearTimeout(handle: unknown): void;
}

/**
 * Exponential backoff with full jitter between attempts: the n-th retry waits a random time in
 * `[delay * (1 - jitter), delay]` where `delay = min(maxDelay, baseDelay * factor^(n-1))`.
 */
export interface RetryPolicy {
  /** Delay before the first retry, ms (default 1000). */
  baseDelay?: number;
  /** Longest delay, ms (default 300000). */
  maxDelay?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Fraction of the delay that is randomised, 0..1 (default 1: full jitter). */
  jitter?: number;
  /** Whether a failure may be retried (default: every error). Non-retryable errors dead-letter at once. */
  retryable?: (error: Error, job: Job) => boolean;
}

/** What happens to a job after its handler ran; what a custom {@link Executor} returns. */
export type ExecutionOutcome =
  | { status: 'successful' }
  /** Back to `queued`, due at `executeAfter` (epoch ms). */
  | { status: 'retry'; executeAfter: number; error: string }
  /** `failed`: kept as a dead letter (requeue-able). `exception`: terminal, the job leaves. */
  | { status: 'failed' | 'exception'; error: string };

/** Everything a handler gets for one job. */
export interface JobContext<P = Uint8Array | null> {
  /** The job as picked (attempts already counts this run). */
  readonly job: Job;
  /** The payload decoded by the entrypoint's codec. */
  readonly payload: P;
  /** Fires on cancellation (reason: AbortError DOMException), timeout (TimeoutError) or shutdown. */
  readonly signal: AbortSignal;
  /** 1 for the first run; counts stale re-picks too. */
  readonly attempt: number;
  /** The `resources` object given to the manager, shared by every handler. */
  readonly resources: Record<string, unknown>;
  /** The manager's logger. */
  readonly logger: Logger;
}

/** Runs one job: resolve to succeed; throw (or reject) to fail the attempt (retried per {@link RetryPolicy}). */
export type Handler<P = Uint8Array | null> = (context: JobContext<P>) => unknown;

/**
 * Runs a handler and decides the outcome; replaces the built-in retry policy for one entrypoint.
 * `run()` calls the handler; throwing from the executor itself counts as a failure.
 */
export type Executor<P = Uint8Array | null> = (
  context: JobContext<P>,
  run: () => Promise<unknown>,
) => Promise<ExecutionOutcome> | ExecutionOutcome;

/** How a `QueueManager` runs the jobs of one entrypoint: payload codec, global limits, retries, timeout. */
export interface EntrypointOptions<P = Uint8Array | null> {
  /** Payload codec (default: bytes as stored). */
  codec?: Codec<P>;
  /** Most jobs of this entrypoint running at once across ALL managers of the store; 0 = unlimited. */
  concurrencyLimit?: number;
  /** Same as concurrencyLimit 1 (wins over it). */
  serializedDispatch?: boolean;
  /** Picks per second across all managers (the store's token bucket); 0 = unlimited. */
  requestsPerSecond?: number;
  /**
   * A picked job whose heartbeat is older than this many ms is presumed lost and re-picked by any
   * manager; 0 (default) = never. Running jobs are heartbeated every retryTimer / 3.
   */
  retryTimer?: number;
  /** Runs a job may take, handler failures and lost workers together (default 3). */
  maxAttempts?: number;
  /** Backoff between failed attempts and which errors are retryable. */
  retry?: RetryPolicy;
  /**
   * When attempts are exhausted: true (default) keeps the job as a `failed` dead letter with the
   * last error; false completes it as `exception` (it leaves the store).
   */
  deadLetter?: boolean;
  /**
   * ms a run may take; then its signal aborts with a TimeoutError and the run counts as a failed
   * attempt at once (a handler ignoring its signal keeps running, but its result is ignored).
   */
  timeout?: number;
  /** Custom policy for this entrypoint (see {@link Executor}). */
  executor?: Executor<P>;
}

/** Options of `new QueueManager(store, options)`. */
export interface QueueManagerOptions {
  /** Identifies this manager in the store (default: a random id). */
  id?: string;
  /** Must be the store's clock (default: the wall clock). */
  clock?: Clock;
  /** Where the manager waits (default: the global setTimeout). */
  timers?: Timers;
  /** 'console' (default), 'silent', or your own. */
  logger?: Logger | 'console' | 'silent';
  /** Shared by every handler through `context.resources` (db pools, HTTP clients). */
  resources?: Record<string, unknown>;
  /**
   * Longest idle sleep, ms, between dequeue attempts when no event arrives (default 10000). Bounds
   * the delay on stores that cannot notify; events wake the manager at once.
   */
  pollInterval?: number;
  /**
   * ms between the batched heartbeats of running jobs (default 10000); entrypoints with a
   * retryTimer get at least three per retryTimer.
   */
  heartbeatInterval?: number;
  /**
   * How much history the store keeps while managers run: the newest `maxRecords` log rows
   * (default 100,000), none older than `maxAge` ms (default 24 h, statistics buckets too),
   * compacted every `every` ms (default 60,000) and after every maxRecords / 2 rows written.
   * One compactor per store however many managers of this process run on it (the first one's
   * settings apply). `false` turns it off (compact yourself, or `tideq compact`).
   */
  retention?: { maxRecords?: number; maxAge?: number; every?: number } | false;
}

/** Options of `QueueManager.run()`. */
export interface RunOptions {
  /** 'continuous' (default) runs until aborted; 'drain' returns once nothing is queued or running. */
  mode?: 'continuous' | 'drain';
  /** Most jobs per dequeue (default 100). */
  batchSize?: number;
  /** Most jobs this manager runs at once (passed to dequeue as maxOwned; default 100). */
  maxConcurrentTasks?: number;
  /** Abort to shut down: stop fetching, let running jobs finish until shutdownTimeout. */
  signal?: AbortSignal;
  /**
   * ms running jobs get to finish after the abort (default 10000); then their signals abort and
   * they go back to `queued` (a retry due now, error "shutdown") for any manager to pick up.
   */
  shutdownTimeout?: number;
}

/** Counters and latencies of one entrypoint, since the manager was created. */
export interface EntrypointStats {
  /** Jobs this manager picked. */
  picked: number;
  /** Runs that ended successful. */
  successful: number;
  /** Failed attempts sent back to the queue. */
  retried: number;
  /** Dead letters written by this manager. */
  failed: number;
  /** Attempts exhausted with deadLetter false. */
  exception: number;
  /** Running jobs aborted by a cancel. */
  cancelled: number;
  /** Runs that hit their timeout. */
  timedOut: number;
  /** Runs in progress now. */
  running: number;
  /** ms from due (executeAfter) to picked, over the last 1024 jobs. */
  waitMs: { p50: number; p95: number };
  /** ms from picked to done, over the last 1024 jobs. */
  runMs: { p50: number; p95: number };
}

/** What a QueueManager reports through `on()`. */
export interface QueueManagerEvents {
  /** A job's run ended (only computed while someone listens). */
  job: {
    /** The job's id. */
    id: number;
    /** Its entrypoint. */
    entrypoint: string;
    /** How the run ended. */
    outcome: 'successful' | 'retry' | 'failed' | 'exception' | 'cancelled' | 'timeout';
    /** Which attempt this was (1 for the first run). */
    attempt: number;
    /** The error of a failed run, else null. */
    error: string | null;
  };
  /** The run loop changed state. */
  state: {
    /** The new state. */
    state: 'running' | 'idle' | 'stopping' | 'stopped';
  };
  /** A store call or a listener failed (the run loop reports and continues or stops). */
  error: {
    /** What failed. */
    error: Error;
    /** Where: the store call or listener that failed. */
    where: string;
  };
}

/** Options of `SchedulerManager.schedule(name, expression, handler, options)`. */
export interface ScheduleOptions {
  /** IANA time zone the expression is read in (default UTC). */
  timezone?: string;
  /** The entrypoint recorded in the store (default: the schedule name). */
  entrypoint?: string;
  /**
   * After downtime: 'runOnce' (default) runs an overdue tick once, however many were missed;
   * 'skip' drops ticks overdue by more than `missedGrace` and waits for the next one.
   */
  missed?: 'skip' | 'runOnce';
  /** ms a tick may be late before 'skip' counts it as missed (default 10000). */
  missedGrace?: number;
}

/** What a schedule's handler receives for one tick. */
export interface ScheduleContext {
  /** The schedule as stored (name, expression, time zone, next and last run). */
  readonly schedule: Schedule;
  /** The tick being run (epoch ms). */
  readonly scheduledAt: number;
  /** Fires when the scheduler shuts down. */
  readonly signal: AbortSignal;
  /** The `resources` object given to the scheduler. */
  readonly resources: Record<string, unknown>;
  /** The scheduler's logger. */
  readonly logger: Logger;
}

/** Runs one tick of a schedule (typically enqueues jobs); a throw is logged and the next tick still runs. */
export type ScheduleHandler = (context: ScheduleContext) => unknown;

/** Options of `new SchedulerManager(store, options)`. */
export interface SchedulerManagerOptions {
  /** Identifies this scheduler's claims in the store (default: a random id). */
  id?: string;
  /** Must be the store's clock (default: the wall clock). */
  clock?: Clock;
  /** Where the scheduler waits (default: the global setTimeout). */
  timers?: Timers;
  /** 'console' (default), 'silent', or your own. */
  logger?: Logger | 'console' | 'silent';
  /** Given to every schedule handler as `context.resources`. */
  resources?: Record<string, unknown>;
  /** A claim older than this (ms) may be taken over by another scheduler (default 30000). */
  claimStaleAfter?: number;
  /** Longest sleep between checks for due ticks, ms (default 10000). */
  pollInterval?: number;
}

/** Headers and scheduling of a job enqueued through a manager. */
export interface EnqueueJobOptions {
  /** Higher is picked first (int32, default 0). */
  priority?: number;
  /** Not picked before this time (epoch ms or a Date; default now). */
  executeAfter?: number | Date;
  /** At most one queued or picked job per key (default none). */
  dedupeKey?: string | null;
  /** JSON metadata stored with the job (default none). */
  headers?: JsonObject | null;
}
