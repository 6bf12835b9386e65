/**
 * The QueueRepository port: the one interface between the runtime (QueueManager,
 * SchedulerManager) and a store (reference memory, WASM core, IndexedDB, PostgreSQL).
 *
 * Rules every adapter follows (the conformance suite in `@tideq/core/testing` checks them):
 * - Batch-first: arrays in, arrays out; results align with inputs by position.
 * - Time comes from the adapter's injected Clock; each call reads `now` once and uses it throughout.
 * - Every method validates its whole input first (see validation.ts) and rejects bad input with a
 *   TideqError (INVALID_ARGUMENT, PAYLOAD_TOO_LARGE, DUPLICATE_JOB) before anything is stored.
 * - Every mutating method is atomic: it applies entirely or not at all.
 * - Every transition of a job writes one log row (= one JobEvent) with a strictly increasing `seq`.
 * - After `uninstall()` (or before `install()` on stores that need it) every method except
 *   install/verify/close rejects with NOT_INSTALLED.
 */
import type {
  CompletionStatus,
  Job,
  JobEvent,
  JobEventKind,
  JobStatus,
  NewJob,
  QueueSizeRow,
  RepositoryMetrics,
  ScanReport,
  Schedule,
  ScheduleInput,
  StatisticsRow,
  VerifyReport,
} from './types.js';

/** Per-entrypoint settings passed to every dequeue (the store keeps no entrypoint config). */
export interface EntrypointLimits {
  /**
   * Most picked jobs of this entrypoint held by ALL managers together; 0 = unlimited.
   * 1 = serialized dispatch. A stale re-pick is not gated by it (it moves a counted slot).
   */
  concurrencyLimit?: number;
  /**
   * Picks per second of this entrypoint across all managers; 0 = unlimited. A token bucket kept
   * in the store, updated in the same atomic step as the pick. Capacity `max(1, rps / 10)`
   * tokens, starting full; refilled continuously at `rps` tokens per second; each pick (a stale
   * re-pick too) takes one token.
   */
  requestsPerSecond?: number;
  /**
   * A picked job whose heartbeat is older than this many ms may be re-picked (its worker is
   * presumed lost); 0 = never re-picked.
   */
  retryTimer?: number;
  /**
   * A stale picked job whose attempts already reached this is moved to `failed` with the error
   * "worker lost" instead of being re-picked; 0 = unlimited.
   */
  maxAttempts?: number;
}

/** What one `dequeue` call may pick, for whom, and under which per-entrypoint limits. */
export interface DequeueOptions {
  /** Most jobs returned in total, across all entrypoints (1..limits.maxDequeueBatch). */
  batchSize: number;
  /** Only these entrypoints are dequeued; at least one. */
  entrypoints: Record<string, EntrypointLimits>;
  /** Identifies the caller; picked jobs are held by it. */
  queueManagerId: string;
  /** The caller's own picked jobs never exceed this, even within one batch; default unlimited. */
  maxOwned?: number;
}

/** How `enqueue` treats a dedupe key that is already held. */
export interface EnqueueOptions {
  /** 'raise' (default): a dedupe conflict rejects the whole batch. 'skip': conflicting jobs are left out. */
  onConflict?: 'raise' | 'skip';
}

/** The outcome of one job for `complete`: a terminal status, or `failed` (a dead letter). */
export interface CompletionResult {
  /** The job's id. */
  id: number;
  /** `successful`, `exception`, `canceled`, `deleted`, or `failed` (kept as a dead letter). */
  status: CompletionStatus;
  /** Recorded in the log row (and on the job for `failed`). */
  error?: string | null;
}

/**
 * Who finishes a job. A QueueManager passes its own id, so a result it sends after losing the job
 * (its heartbeat went stale, another manager re-picked it after `retryTimer`, or `recover` put it
 * back) is ignored instead of overwriting the run that now holds the job.
 */
export interface FenceOptions {
  /**
   * When given, only jobs that are `picked` AND held by this manager are touched; every other
   * position gives false and writes no log row. Omitted: any caller (operator tools, tests).
   */
  queueManagerId?: string;
}

/** Puts a picked job back to `queued`, due at `executeAfter` (attempts are kept). */
export interface RetryRequest {
  /** The job's id. */
  id: number;
  /** When the job becomes due again (epoch ms). */
  executeAfter: number | Date;
  /** Recorded as the job's `lastError` and on the `retried` log row. */
  error?: string | null;
}

/** Which due cron schedules `claimDueSchedules` may claim, and for whom. */
export interface ClaimOptions {
  /** Identifies the claimer (a SchedulerManager). */
  claimerId: string;
  /** A claim whose `claimedAt` is older than this many ms may be taken by another claimer. */
  staleAfter: number;
  /** Most schedules claimed (default 100). */
  limit?: number;
}

/** A claimed schedule that ran: `markScheduleRun` records it and clears the claim. */
export interface ScheduleRun {
  /** The schedule's name. */
  name: string;
  /** The claimer that ran it; the run is ignored if the claim has passed to another. */
  claimerId: string;
  /** The next due tick, computed by the runtime from the expression. */
  nextRunAt: number;
}

/** How much of the event log and statistics a compaction keeps. */
export interface Retention {
  /** Keep at most this many newest log rows. */
  maxRecords?: number;
  /** Drop log rows (and statistics buckets) older than this many ms. */
  maxAge?: number;
}

/** Receives committed events in seq order, in batches, each once (see `QueueRepository.subscribe`). */
export type EventListener = (events: readonly JobEvent[]) => void;

/** Where a subscription starts and which event kinds it receives. */
export interface SubscribeOptions {
  /** Deliver events with seq > after (those still in the log), then live ones. Default: only new ones. */
  after?: number;
  /**
   * Deliver only events of these kinds (default: all). The delivered events keep seq order and
   * are each delivered once; a batch that holds none of them is not delivered. Lets a store skip
   * work for events nobody asked for (the QueueManager does not need `picked`).
   */
  kinds?: readonly JobEventKind[];
}

/** Stops delivery; resolves when no further call of the listener will happen. */
export type Unsubscribe = () => Promise<void>;

/**
 * A store of jobs: the one port every store implements (reference memory, WASM core, IndexedDB,
 * durable memory, PostgreSQL) and the only thing the runtime calls. The rules are in this module's
 * description and, exactly, in docs/ARCHITECTURE.md ("Port semantics, precisely").
 *
 * @example
 * const [id] = await queue.enqueue([{ entrypoint: 'email.send', payload }]);
 * const jobs = await queue.dequeue({ batchSize: 10, queueManagerId: 'w1', entrypoints: { 'email.send': {} } });
 * await queue.complete(jobs.map((job) => ({ id: job.id, status: 'successful' as const })));
 */
export interface QueueRepository {
  // ---- producing ------------------------------------------------------------------------------

  /**
   * Store a batch of jobs, atomically, as `queued`. Returns their ids in input order: strictly
   * increasing, never reused. With onConflict 'raise' (default), a dedupe key already held by a
   * queued or picked job, or repeated inside the batch, rejects the whole batch with
   * DUPLICATE_JOB naming the keys, and nothing is stored. With 'skip', the conflicting positions
   * (the later ones, inside the batch) return null and the rest is stored.
   * One `enqueued` event per stored job.
   */
  enqueue(jobs: readonly NewJob[], options?: EnqueueOptions): Promise<(number | null)[]>;

  // ---- consuming ------------------------------------------------------------------------------

  /**
   * Pick up to `batchSize` jobs, atomically marked `picked` (attempts + 1, heartbeat = now,
   * held by `queueManagerId`), in ONE order across the requested entrypoints: priority desc,
   * then id asc. Candidates: queued jobs with executeAfter <= now, and picked jobs whose
   * heartbeat < now - retryTimer (retryTimer > 0). Entrypoints not named are never returned.
   * In the same step, stale picked jobs that reached maxAttempts move to `failed`.
   * Gates, in the order candidates are visited: maxOwned (stop), the entrypoint's token bucket
   * (skip the entrypoint), its global concurrencyLimit (skip fresh jobs of it; stale re-picks pass).
   * Two concurrent dequeues never return the same job. Returned jobs carry their payloads.
   */
  dequeue(options: DequeueOptions): Promise<Job[]>;

  /**
   * Finish picked (or queued) jobs: terminal statuses remove the job, `failed` keeps it as a dead
   * letter with `error` as lastError. Ids that are unknown, already terminal, or failed are
   * ignored (false at their position) and write no log row. Atomic. With `queueManagerId`
   * (fenced), only jobs picked and held by that manager are finished (see {@link FenceOptions}).
   */
  complete(results: readonly CompletionResult[], options?: FenceOptions): Promise<boolean[]>;

  /**
   * Put picked jobs back to `queued` with a new executeAfter, keeping id, payload, priority,
   * headers, dedupe key and attempts. False for jobs that are not picked (or, fenced, not held by
   * `queueManagerId`). Atomic.
   */
  retry(requests: readonly RetryRequest[], options?: FenceOptions): Promise<boolean[]>;

  /**
   * Dead letters back to `queued`: attempts 0, executeAfter now, lastError kept. False for jobs
   * that are not `failed`. DUPLICATE_JOB (nothing changed) if a job's dedupe key is held again.
   */
  requeue(ids: readonly number[]): Promise<boolean[]>;

  /**
   * Refresh the heartbeat of picked jobs to now. False for jobs that are not picked (or, fenced,
   * not held by `queueManagerId`: a lost manager cannot keep another's run from going stale).
   */
  heartbeat(ids: readonly number[], options?: FenceOptions): Promise<boolean[]>;

  /**
   * Cancel jobs in any state held by the store (queued, picked, failed) -> `canceled`: the job
   * leaves the store, one `cancelled` log row each (carrying the holder's queueManagerId for a
   * picked job, so its manager can abort the handler). False for unknown or terminal ids.
   */
  cancel(ids: readonly number[]): Promise<boolean[]>;

  /**
   * Delete every job held by the store (queued, picked, failed) of the given entrypoints (all when
   * omitted) -> `deleted`, one log row each. Returns how many.
   */
  clear(entrypoints?: readonly string[]): Promise<number>;

  // ---- reads ----------------------------------------------------------------------------------

  /**
   * The latest status of each id (also after the job left the store), null for ids never
   * assigned. O(1) per id on memory stores. Compaction makes every store forget ids older than
   * every retained log row's job and every held job: those answer null too.
   */
  jobStatus(ids: readonly number[]): Promise<(JobStatus | null)[]>;

  /** Jobs still held by the store (queued, picked, failed), null for others. */
  getJobs(ids: readonly number[]): Promise<(Job | null)[]>;

  /** Jobs held by the store, grouped by entrypoint, status and priority; sorted by those keys (priority desc). */
  queueSize(): Promise<QueueSizeRow[]>;

  /** Dead letters, id ascending, after id `after` (default 0), at most `limit` (default 100). */
  failedJobs(options?: { limit?: number; after?: number }): Promise<Job[]>;

  /** Log rows with seq > after (default 0), ascending, at most `limit` (default 1000). */
  log(options?: { after?: number; limit?: number }): Promise<JobEvent[]>;

  /**
   * Terminal and failed transitions counted per (entrypoint, status, priority, second), newest
   * second first, then entrypoint asc, status asc, priority desc; buckets with second >= since.
   */
  statistics(options?: { since?: number; limit?: number }): Promise<StatisticsRow[]>;

  /**
   * The earliest executeAfter among queued jobs of these entrypoints (possibly <= now: due
   * already), or null when none is queued. The runtime sleeps until then.
   */
  nextDueAt(entrypoints: readonly string[]): Promise<number | null>;

  // ---- schedules ------------------------------------------------------------------------------

  /** Create or replace schedules by name (an existing claim and lastRunAt are kept). */
  upsertSchedules(schedules: readonly ScheduleInput[]): Promise<void>;

  /**
   * Atomically claim schedules with nextRunAt <= now that are unclaimed, or whose claim is older
   * than staleAfter: claimedBy = claimerId, claimedAt = now. Each due tick is claimed by exactly
   * one concurrent caller. Ordered by nextRunAt, then name.
   */
  claimDueSchedules(options: ClaimOptions): Promise<Schedule[]>;

  /**
   * Record runs: lastRunAt = now, nextRunAt as given, claim released. Runs whose claim is not
   * held by `claimerId` any more are ignored (false).
   */
  markScheduleRun(runs: readonly ScheduleRun[]): Promise<boolean[]>;

  /** Delete schedules by name; returns how many existed. */
  deleteSchedules(names: readonly string[]): Promise<number>;

  /** All schedules, by name. */
  listSchedules(): Promise<Schedule[]>;

  // ---- events ---------------------------------------------------------------------------------

  /**
   * Deliver every job event in commit order, exactly once per subscriber, in batches. With
   * `after`, first replays the retained log rows with seq > after. Listener errors are caught and
   * never affect the store. Cross-process stores wake subscribers through their own channel
   * (LISTEN/NOTIFY, BroadcastChannel).
   */
  subscribe(listener: EventListener, options?: SubscribeOptions): Promise<Unsubscribe>;

  // ---- maintenance ----------------------------------------------------------------------------

  /** Create the store (idempotent). Memory stores are created installed. */
  install(): Promise<void>;
  /** Migrate an existing store to the current schema version (idempotent). */
  upgrade(): Promise<void>;
  /** Drop the store and everything in it. */
  uninstall(): Promise<void>;
  /** Report whether the store is present and current; never throws NOT_INSTALLED. */
  verify(): Promise<VerifyReport>;

  /**
   * Find anomalies: picked jobs with heartbeat older than `staleAfter` ms, orphans, and log rows
   * beyond the given retention. Reads only (counts a scan in metrics).
   */
  scan(options: { staleAfter: number; retention?: Retention }): Promise<ScanReport>;

  /** Requeue (`requeued` event, attempts kept) picked jobs whose heartbeat is older than staleAfter; returns their ids. */
  recover(options: { staleAfter: number }): Promise<number[]>;

  /** Physically drop log rows beyond the retention (and statistics older than maxAge); returns how many log rows. */
  compact(retention: Retention): Promise<{ removed: number }>;

  /** Per-method call, error and write counters since creation or the last `resetMetrics()`. */
  metrics(): Promise<RepositoryMetrics>;
  /** Sets every counter of `metrics()` back to zero. */
  resetMetrics(): Promise<void>;

  /** Release connections, timers and subscriptions. The repository is unusable afterwards. */
  close(): Promise<void>;
}

/** Method names of the port, for metrics and for generic wrappers. */
export const PORT_METHODS = [
  'enqueue',
  'dequeue',
  'complete',
  'retry',
  'requeue',
  'heartbeat',
  'cancel',
  'clear',
  'jobStatus',
  'getJobs',
  'queueSize',
  'failedJobs',
  'log',
  'statistics',
  'nextDueAt',
  'upsertSchedules',
  'claimDueSchedules',
  'markScheduleRun',
  'deleteSchedules',
  'listSchedules',
  'subscribe',
  'install',
  'upgrade',
  'uninstall',
  'verify',
  'scan',
  'recover',
  'compact',
  'metrics',
  'resetMetrics',
  'close',
] as const satisfies readonly (keyof QueueRepository)[];

/** Zeroed metrics with an entry for every port method: what a new store and resetMetrics() report. */
export function emptyMetrics(): RepositoryMetrics {
  return {
    recordsWritten: 0,
    bytesWritten: 0,
    scans: 0,
    recoveries: 0,
    compactions: 0,
    compactedRecords: 0,
    errors: 0,
    ops: Object.fromEntries(
      PORT_METHODS.map((name) => [name, { count: 0, errors: 0, totalMs: 0, maxMs: 0 }]),
    ),
  };
}
