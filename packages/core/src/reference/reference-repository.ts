/**
 * The reference in-memory adapter: pure TypeScript, written for clarity, and the oracle every
 * other adapter is compared with. It implements "Port semantics, precisely" in
 * docs/ARCHITECTURE.md rule by rule; the comments name the rule where the code could look
 * arbitrary.
 *
 * Indexes, so only `clear` walks all jobs (failedJobs sorts the failed set, scan checks the indexes):
 * - per entrypoint: a ready heap (priority desc, id asc) of due queued jobs, a delayed heap
 *   (executeAfter, id) of queued jobs not yet due, a by-time heap of every queued job (for
 *   nextDueAt), and the picked jobs in a Map kept in heartbeat order (re-inserted on every
 *   heartbeat; the clock is monotonic), so stale jobs sit at its old end;
 * - heap entries are deleted lazily: an entry is live while its job is queued with the same
 *   `gen` (bumped each time the job enters `queued`); heaps are rebuilt when garbage dominates;
 * - every id's latest status in a StatusArray (one byte per id), held jobs in a Map by id;
 * - dedupe keys of queued/picked jobs, picked counts per manager, token buckets, queue sizes.
 */
import { CallEnvelope, type CallTx, type Gate, type PortMethod } from '../adapter/envelope.js';
import type { Clock } from '../clock.js';
import { DuplicateJobError } from '../errors.js';
import type {
  ClaimOptions,
  CompletionResult,
  DequeueOptions,
  EnqueueOptions,
  EventListener,
  FenceOptions,
  QueueRepository,
  Retention,
  RetryRequest,
  ScheduleRun,
  SubscribeOptions,
  Unsubscribe,
} from '../port.js';
import {
  type CompletionStatus,
  isTerminalStatus,
  type Job,
  type JobEvent,
  type JobEventKind,
  type JobStatus,
  type JsonObject,
  type NewJob,
  type QueueSizeRow,
  type RepositoryMetrics,
  type ScanReport,
  type Schedule,
  type ScheduleInput,
  type StatisticsRow,
  type VerifyReport,
} from '../types.js';
import {
  bucketCapacity,
  filterEventKinds,
  type Limits,
  resolveLimits,
  type ValidEntrypointLimits,
  validateClaimOptions,
  validateCompactOptions,
  validateCompletionResults,
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
} from '../validation.js';
import { Heap } from './heap.js';
import { StatusArray } from './status-array.js';

/** The schema version memory stores report (they have no schema to migrate). */
export const REFERENCE_SCHEMA_VERSION = 1;

/** Options of `createReferenceQueue`. */
export interface ReferenceQueueOptions {
  /** Where time comes from (default: the wall clock). Must not run backwards. */
  clock?: Clock;
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<Limits>;
}

/** A held job plus the adapter's bookkeeping. */
interface StoredJob extends Job {
  /** Bumped each time the job enters `queued`; heap entries of older generations are dead. */
  gen: number;
  ep: EntrypointState;
}

/** A heap entry: a job in one `queued` generation. executeAfter is copied so the heap key never changes. */
interface QueueEntry {
  job: StoredJob;
  gen: number;
  executeAfter: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** One dequeue pass over an entrypoint's ready heap. */
interface ReadyStream {
  ep: EntrypointState;
  /** Set once a candidate of it was skipped by rate or concurrency: the rest would be skipped too. */
  excluded: boolean;
  /** Entries popped while looking past an excluded stream, pushed back at the end. */
  popped: QueueEntry[];
}

/** What one call is doing: its `now` and the log rows it committed (published by the envelope). */
type Tx = CallTx;

const byPriorityThenId = (a: QueueEntry, b: QueueEntry): boolean => before(a.job, b.job);
const byTimeThenId = (a: QueueEntry, b: QueueEntry): boolean =>
  a.executeAfter < b.executeAfter || (a.executeAfter === b.executeAfter && a.job.id < b.job.id);
const isLive = (entry: QueueEntry): boolean => entry.job.status === 'queued' && entry.job.gen === entry.gen;

/** The one candidate order of dequeue: priority desc, then id asc. */
function before(a: Job, b: Job): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.id < b.id);
}

class EntrypointState {
  readonly name: string;
  readonly ready = new Heap<QueueEntry>(byPriorityThenId);
  readonly delayed = new Heap<QueueEntry>(byTimeThenId);
  readonly byTime = new Heap<QueueEntry>(byTimeThenId);
  /** Picked jobs in heartbeat order (oldest first). */
  readonly picked = new Map<number, StoredJob>();
  /** Live entries: queued jobs of this entrypoint. */
  queued = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** The best live, due entry of the ready heap, dropping dead entries on the way. */
  readyHead(now: number): QueueEntry | undefined {
    for (;;) {
      const entry = this.ready.peek();
      if (entry === undefined) return undefined;
      if (!isLive(entry)) {
        this.ready.pop();
      } else if (entry.executeAfter > now) {
        // Only reachable if the clock went back: the job is not due any more.
        this.ready.pop();
        this.delayed.push(entry);
      } else {
        return entry;
      }
    }
  }

  /** Move delayed jobs that are due into the ready heap. */
  promoteDue(now: number): void {
    for (;;) {
      const entry = this.delayed.peek();
      if (entry === undefined || (isLive(entry) && entry.executeAfter > now)) return;
      this.delayed.pop();
      if (isLive(entry)) this.ready.push(entry);
    }
  }

  /** The live entry with the smallest executeAfter, or undefined. */
  earliest(): QueueEntry | undefined {
    for (;;) {
      const entry = this.byTime.peek();
      if (entry === undefined || isLive(entry)) return entry;
      this.byTime.pop();
    }
  }

  /** Rebuild heaps in which dead entries outnumber live ones, so their memory is bounded. */
  tidy(): void {
    const bound = 2 * this.queued + 64;
    if (this.ready.size + this.delayed.size > bound) {
      this.ready.retain(isLive);
      this.delayed.retain(isLive);
    }
    if (this.byTime.size > bound) this.byTime.retain(isLive);
  }
}

/** Everything `uninstall()` drops. */
class State {
  readonly jobs = new Map<number, StoredJob>();
  readonly statuses = new StatusArray();
  nextId = 1;
  nextSeq = 1;
  readonly entrypoints = new Map<string, EntrypointState>();
  /** dedupeKey -> id of the queued or picked job holding it. */
  readonly dedupe = new Map<string, number>();
  readonly buckets = new Map<string, Bucket>();
  /** queueManagerId -> how many picked jobs it holds. */
  readonly owned = new Map<string, number>();
  readonly failed = new Set<number>();
  /** queueSize rows by `entrypoint \0 status \0 priority`. */
  readonly sizes = new Map<string, QueueSizeRow>();
  log: JobEvent[] = [];
  /** statistics rows by `second \0 entrypoint \0 status \0 priority`. */
  readonly statistics = new Map<string, StatisticsRow>();
  readonly schedules = new Map<string, Schedule>();

  entrypoint(name: string): EntrypointState {
    let ep = this.entrypoints.get(name);
    if (ep === undefined) this.entrypoints.set(name, (ep = new EntrypointState(name)));
    return ep;
  }
}

const HELD_STATUS_ORDER: Record<string, number> = { queued: 0, picked: 1, failed: 2 };

function copyJob(job: StoredJob): Job {
  return {
    id: job.id,
    entrypoint: job.entrypoint,
    payload: job.payload === null ? null : job.payload.slice(),
    priority: job.priority,
    executeAfter: job.executeAfter,
    dedupeKey: job.dedupeKey,
    headers: job.headers === null ? null : (structuredClone(job.headers) as JsonObject),
    status: job.status,
    attempts: job.attempts,
    heartbeat: job.heartbeat,
    created: job.created,
    updated: job.updated,
    queueManagerId: job.queueManagerId,
    lastError: job.lastError,
  };
}

/** A fenced call (a manager id) touches only jobs picked and held by that manager; unfenced: any. */
function holds(job: StoredJob, fence: string | null): boolean {
  return fence === null || (job.status === 'picked' && job.queueManagerId === fence);
}

function byId(a: { id: number }, b: { id: number }): number {
  return a.id - b.id;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Which log rows a retention keeps: the newest `maxRecords`, none older than `now - maxAge`. */
function retentionFilter(
  log: readonly JobEvent[],
  retention: { maxRecords?: number; maxAge?: number },
  now: number,
): (row: JobEvent, index: number) => boolean {
  const keepFrom = retention.maxRecords === undefined ? 0 : Math.max(0, log.length - retention.maxRecords);
  const oldestAt = retention.maxAge === undefined ? Number.NEGATIVE_INFINITY : now - retention.maxAge;
  return (row, index) => index >= keepFrom && row.at >= oldestAt;
}

/**
 * The reference QueueRepository. Every public method validates its whole input, then applies
 * synchronously (so it is trivially atomic), and returns a settled promise.
 */
export class ReferenceRepository implements QueueRepository {
  readonly #limits: Limits;
  /** null while uninstalled. */
  #state: State | null = new State();
  readonly #env: CallEnvelope;

  constructor(options: ReferenceQueueOptions = {}) {
    this.#limits = resolveLimits(options.limits);
    this.#env = new CallEnvelope({
      store: 'the reference queue',
      clock: options.clock,
      installed: () => this.#state !== null,
    });
  }

  // ---- the one wrapper (@tideq/core/adapter): gate, clock, timing, metrics, event commit ------

  #op<T>(name: PortMethod, body: (tx: Tx) => T, gate: Gate = 'installed'): Promise<T> {
    return this.#env.call(name, body, gate);
  }

  get #s(): State {
    // The envelope's install gate checked it; a null here is a bug in this file.
    return this.#state!;
  }

  // ---- producing ------------------------------------------------------------------------------

  enqueue(jobs: readonly NewJob[], options?: EnqueueOptions): Promise<(number | null)[]> {
    return this.#op('enqueue', (tx) => this.#enqueue(tx, jobs, options));
  }

  #enqueue(tx: Tx, jobs: unknown, options: unknown): (number | null)[] {
    const s = this.#s;
    const { onConflict } = validateEnqueueOptions(options);
    const valid = validateNewJobs(jobs, this.#limits, onConflict);
    if (onConflict === 'raise') {
      const held = new Set<string>();
      for (const job of valid)
        if (job.dedupeKey !== null && s.dedupe.has(job.dedupeKey)) held.add(job.dedupeKey);
      if (held.size > 0) throw new DuplicateJobError([...held]);
    }
    return valid.map((input) => {
      // With 'skip', a key taken by the store or by an earlier job of this batch (stored just
      // before, so it is in the index now) leaves this position out.
      if (input.dedupeKey !== null && s.dedupe.has(input.dedupeKey)) return null;
      const ep = s.entrypoint(input.entrypoint);
      const job: StoredJob = {
        id: s.nextId++,
        entrypoint: input.entrypoint,
        // A copy: the caller may reuse its buffer.
        payload: input.payload === null ? null : input.payload.slice(),
        priority: input.priority,
        executeAfter: input.executeAfter ?? tx.now,
        dedupeKey: input.dedupeKey,
        headers: input.headers,
        status: 'queued',
        attempts: 0,
        heartbeat: tx.now,
        created: tx.now,
        updated: tx.now,
        queueManagerId: null,
        lastError: null,
        gen: 0,
        ep,
      };
      s.jobs.set(job.id, job);
      this.#enter(tx, job);
      this.#record(tx, job, 'enqueued', null, null);
      this.#env.countStoredJob(job);
      return job.id;
    });
  }

  // ---- consuming ------------------------------------------------------------------------------

  dequeue(options: DequeueOptions): Promise<Job[]> {
    return this.#op('dequeue', (tx) => this.#dequeue(tx, options));
  }

  #dequeue(tx: Tx, options: unknown): Job[] {
    const s = this.#s;
    const { now } = tx;
    const o = validateDequeueOptions(options, this.#limits);
    const caller = o.queueManagerId;

    // 1. Token buckets, refilled in exactly this arithmetic so every adapter agrees.
    for (const [name, lim] of o.entrypoints) {
      if (lim.requestsPerSecond <= 0) continue;
      const rps = lim.requestsPerSecond;
      const capacity = bucketCapacity(rps);
      const bucket = s.buckets.get(name);
      if (bucket === undefined) {
        s.buckets.set(name, { tokens: capacity, updatedAt: now });
      } else {
        bucket.tokens = Math.min(
          capacity,
          bucket.tokens + (Math.max(0, now - bucket.updatedAt) * rps) / 1000,
        );
        bucket.updatedAt = now;
      }
    }

    // Stale picked jobs sit at the old end of each heartbeat-ordered map.
    const lost: StoredJob[] = [];
    const stale: StoredJob[] = [];
    const streams: ReadyStream[] = [];
    for (const [name, lim] of o.entrypoints) {
      const ep = s.entrypoints.get(name);
      if (ep === undefined) continue;
      ep.promoteDue(now);
      streams.push({ ep, excluded: false, popped: [] });
      if (lim.retryTimer <= 0) continue;
      const cutoff = now - lim.retryTimer;
      for (const job of ep.picked.values()) {
        if (!(job.heartbeat < cutoff)) break;
        if (lim.maxAttempts > 0 && job.attempts >= lim.maxAttempts) lost.push(job);
        else stale.push(job);
      }
    }

    // 2. Exhausted stale jobs become dead letters, in id order across entrypoints.
    lost.sort(byId);
    for (const job of lost) {
      const lim = o.entrypoints.get(job.entrypoint)!;
      const holder = job.queueManagerId;
      const error = `worker lost: no heartbeat for ${lim.retryTimer} ms after ${job.attempts} attempts`;
      this.#leave(job);
      job.status = 'failed';
      job.lastError = error;
      job.queueManagerId = null;
      job.updated = now;
      this.#enter(tx, job);
      this.#record(tx, job, 'failed', holder, error);
    }

    // 3. Picks: merge the stale candidates (few, materialised) with each entrypoint's ready heap.
    stale.sort((a, b) => (before(a, b) ? -1 : 1));
    const picked: Job[] = [];
    let staleIndex = 0;
    let lastVisited: StoredJob | undefined;
    while (picked.length < o.batchSize) {
      let candidate: StoredJob | undefined = stale[staleIndex];
      let from: ReadyStream | undefined;
      for (const stream of streams) {
        if (stream.excluded) continue;
        const head = stream.ep.readyHead(now);
        if (head !== undefined && (candidate === undefined || before(head.job, candidate))) {
          candidate = head.job;
          from = stream;
        }
      }
      if (candidate === undefined) break;
      const isStale = from === undefined;

      // maxOwned: stop, unless this is a stale re-pick of a job the caller already holds.
      if ((s.owned.get(caller) ?? 0) >= o.maxOwned) {
        if (!isStale || candidate.queueManagerId !== caller) break;
        // Candidates of excluded streams are still visited (and stop the pass) in the real order.
        if (this.#excludedBetween(streams, lastVisited, candidate, now)) break;
      }
      lastVisited = candidate;
      if (isStale) staleIndex++;

      const lim: ValidEntrypointLimits = o.entrypoints.get(candidate.entrypoint)!;
      const bucket = lim.requestsPerSecond > 0 ? s.buckets.get(candidate.entrypoint) : undefined;
      // Rate: tokens only fall during a pass, so the rest of this ready heap would be skipped too.
      if (bucket !== undefined && bucket.tokens < 1) {
        if (from !== undefined) from.excluded = true;
        continue;
      }
      // Concurrency: picked counts only grow during a pass; stale re-picks pass the gate.
      if (
        from !== undefined &&
        lim.concurrencyLimit > 0 &&
        candidate.ep.picked.size >= lim.concurrencyLimit
      ) {
        from.excluded = true;
        continue;
      }

      if (from !== undefined) from.ep.ready.pop();
      if (bucket !== undefined) bucket.tokens -= 1;
      this.#leave(candidate);
      candidate.status = 'picked';
      candidate.attempts += 1;
      candidate.heartbeat = now;
      candidate.updated = now;
      candidate.queueManagerId = caller;
      this.#enter(tx, candidate);
      this.#record(tx, candidate, 'picked', caller, null);
      picked.push(copyJob(candidate));
    }
    for (const stream of streams) for (const entry of stream.popped) stream.ep.ready.push(entry);
    return picked;
  }

  /**
   * Whether an excluded ready stream holds a candidate strictly between `after` and `until` in
   * candidate order. Such a candidate would add to the caller's jobs, so once the caller is at
   * maxOwned it stops the pass before `until`. Only runs when the caller is at maxOwned and
   * re-picks its own stale jobs, so popping here (and pushing back later) stays cheap.
   */
  #excludedBetween(
    streams: ReadyStream[],
    after: StoredJob | undefined,
    until: StoredJob,
    now: number,
  ): boolean {
    for (const stream of streams) {
      if (!stream.excluded) continue;
      for (;;) {
        const head = stream.ep.readyHead(now);
        if (head === undefined || !before(head.job, until)) break;
        stream.ep.ready.pop();
        stream.popped.push(head);
        if (after === undefined || before(after, head.job)) return true;
      }
    }
    return false;
  }

  complete(results: readonly CompletionResult[], options?: FenceOptions): Promise<boolean[]> {
    return this.#op('complete', (tx) => this.#complete(tx, results, options));
  }

  #complete(tx: Tx, results: unknown, options: unknown): boolean[] {
    const s = this.#s;
    const valid = validateCompletionResults(results, this.#limits);
    const fence = validateFenceOptions(options);
    return valid.map(({ id, status, error }) => {
      const job = s.jobs.get(id);
      // Failed jobs and ids finished earlier in this call are no longer queued or picked.
      if (job === undefined || (job.status !== 'queued' && job.status !== 'picked')) return false;
      if (!holds(job, fence)) return false;
      const holder = job.queueManagerId;
      this.#leave(job);
      job.status = status;
      job.updated = tx.now;
      job.queueManagerId = null;
      if (status === 'failed') job.lastError = error;
      this.#enter(tx, job);
      this.#record(tx, job, eventKind(status), holder, error);
      return true;
    });
  }

  retry(requests: readonly RetryRequest[], options?: FenceOptions): Promise<boolean[]> {
    return this.#op('retry', (tx) => this.#retry(tx, requests, options));
  }

  #retry(tx: Tx, requests: unknown, options: unknown): boolean[] {
    const s = this.#s;
    const valid = validateRetryRequests(requests, this.#limits);
    const fence = validateFenceOptions(options);
    return valid.map(({ id, executeAfter, error }) => {
      const job = s.jobs.get(id);
      if (job === undefined || job.status !== 'picked' || !holds(job, fence)) return false;
      const holder = job.queueManagerId;
      this.#leave(job);
      job.status = 'queued';
      job.executeAfter = executeAfter;
      job.lastError = error;
      job.queueManagerId = null;
      job.updated = tx.now;
      this.#enter(tx, job);
      this.#record(tx, job, 'retried', holder, error);
      return true;
    });
  }

  requeue(ids: readonly number[]): Promise<boolean[]> {
    return this.#op('requeue', (tx) => this.#requeue(tx, ids));
  }

  #requeue(tx: Tx, ids: unknown): boolean[] {
    const s = this.#s;
    const valid = validateIds(ids, this.#limits);
    const seen = new Set<number>();
    const targets = valid.map((id) => {
      const job = s.jobs.get(id);
      if (job === undefined || job.status !== 'failed' || seen.has(id)) return undefined;
      seen.add(id);
      return job;
    });
    // Check every key before changing anything: a key held again, or shared by two of them.
    const uses = new Map<string, number>();
    for (const job of targets)
      if (job?.dedupeKey != null) uses.set(job.dedupeKey, (uses.get(job.dedupeKey) ?? 0) + 1);
    const conflicts = new Set<string>();
    for (const job of targets) {
      const key = job?.dedupeKey;
      if (key != null && (s.dedupe.has(key) || uses.get(key)! > 1)) conflicts.add(key);
    }
    if (conflicts.size > 0) throw new DuplicateJobError([...conflicts]);
    return targets.map((job) => {
      if (job === undefined) return false;
      this.#leave(job);
      job.status = 'queued';
      job.attempts = 0;
      job.executeAfter = tx.now;
      job.updated = tx.now;
      job.queueManagerId = null;
      this.#enter(tx, job);
      this.#record(tx, job, 'requeued', null, null);
      return true;
    });
  }

  heartbeat(ids: readonly number[], options?: FenceOptions): Promise<boolean[]> {
    return this.#op('heartbeat', (tx) => this.#heartbeat(tx, ids, options));
  }

  #heartbeat(tx: Tx, ids: unknown, options: unknown): boolean[] {
    const s = this.#s;
    const seen = new Set<number>();
    const valid = validateIds(ids, this.#limits);
    const fence = validateFenceOptions(options);
    return valid.map((id) => {
      const job = s.jobs.get(id);
      if (job === undefined || job.status !== 'picked' || seen.has(id) || !holds(job, fence)) return false;
      seen.add(id);
      job.heartbeat = tx.now;
      job.updated = tx.now;
      // Re-insert at the young end: the map stays in heartbeat order.
      job.ep.picked.delete(id);
      job.ep.picked.set(id, job);
      this.#env.countRecords(1);
      return true;
    });
  }

  cancel(ids: readonly number[]): Promise<boolean[]> {
    return this.#op('cancel', (tx) => this.#cancel(tx, ids));
  }

  #cancel(tx: Tx, ids: unknown): boolean[] {
    const s = this.#s;
    return validateIds(ids, this.#limits).map((id) => {
      const job = s.jobs.get(id);
      if (job === undefined) return false;
      this.#remove(tx, job, 'canceled');
      return true;
    });
  }

  clear(entrypoints?: readonly string[]): Promise<number> {
    return this.#op('clear', (tx) => this.#clear(tx, entrypoints));
  }

  #clear(tx: Tx, entrypoints: unknown): number {
    const s = this.#s;
    const only = entrypoints === undefined ? undefined : new Set(validateEntrypoints(entrypoints));
    // The jobs map holds ids in insertion order, which is id order.
    const doomed = [...s.jobs.values()].filter((job) => only === undefined || only.has(job.entrypoint));
    for (const job of doomed) this.#remove(tx, job, 'deleted');
    return doomed.length;
  }

  /** A held job leaves the store as canceled/deleted; the event names its holder, if any. */
  #remove(tx: Tx, job: StoredJob, status: 'canceled' | 'deleted'): void {
    const holder = job.queueManagerId;
    this.#leave(job);
    job.status = status;
    job.updated = tx.now;
    job.queueManagerId = null;
    this.#enter(tx, job);
    this.#record(tx, job, eventKind(status), holder, null);
  }

  // ---- reads ----------------------------------------------------------------------------------

  jobStatus(ids: readonly number[]): Promise<(JobStatus | null)[]> {
    return this.#op('jobStatus', () => validateIds(ids, this.#limits).map((id) => this.#s.statuses.get(id)));
  }

  getJobs(ids: readonly number[]): Promise<(Job | null)[]> {
    return this.#op('getJobs', () =>
      validateIds(ids, this.#limits).map((id) => {
        const job = this.#s.jobs.get(id);
        return job === undefined ? null : copyJob(job);
      }),
    );
  }

  queueSize(): Promise<QueueSizeRow[]> {
    return this.#op('queueSize', () =>
      [...this.#s.sizes.values()]
        .map((row) => ({ ...row }))
        .sort(
          (a, b) =>
            compareStrings(a.entrypoint, b.entrypoint) ||
            HELD_STATUS_ORDER[a.status]! - HELD_STATUS_ORDER[b.status]! ||
            b.priority - a.priority,
        ),
    );
  }

  failedJobs(options?: { limit?: number; after?: number }): Promise<Job[]> {
    return this.#op('failedJobs', () => {
      const { after, limit } = validatePage(options, 'failedJobs options', 100);
      const s = this.#s;
      return [...s.failed]
        .filter((id) => id > after)
        .sort((a, b) => a - b)
        .slice(0, limit)
        .map((id) => copyJob(s.jobs.get(id)!));
    });
  }

  log(options?: { after?: number; limit?: number }): Promise<JobEvent[]> {
    return this.#op('log', () => {
      const { after, limit } = validatePage(options, 'log options', 1000);
      const log = this.#s.log;
      const start = firstAfter(log, after);
      // Rows are frozen, so handing them out cannot change the log.
      return log.slice(start, start + limit);
    });
  }

  statistics(options?: { since?: number; limit?: number }): Promise<StatisticsRow[]> {
    return this.#op('statistics', () => {
      const { since, limit } = validateStatisticsOptions(options);
      return [...this.#s.statistics.values()]
        .filter((row) => row.second >= since)
        .sort(
          (a, b) =>
            b.second - a.second ||
            compareStrings(a.entrypoint, b.entrypoint) ||
            compareStrings(a.status, b.status) ||
            b.priority - a.priority,
        )
        .slice(0, limit)
        .map((row) => ({ ...row }));
    });
  }

  nextDueAt(entrypoints: readonly string[]): Promise<number | null> {
    return this.#op('nextDueAt', () => {
      let earliest: number | null = null;
      for (const name of new Set(validateEntrypoints(entrypoints))) {
        const entry = this.#s.entrypoints.get(name)?.earliest();
        if (entry !== undefined && (earliest === null || entry.executeAfter < earliest))
          earliest = entry.executeAfter;
      }
      return earliest;
    });
  }

  // ---- schedules ------------------------------------------------------------------------------

  upsertSchedules(schedules: readonly ScheduleInput[]): Promise<void> {
    return this.#op('upsertSchedules', () => {
      const s = this.#s;
      for (const input of validateScheduleInputs(schedules, this.#limits)) {
        const existing = s.schedules.get(input.name);
        s.schedules.set(input.name, {
          name: input.name,
          entrypoint: input.entrypoint,
          expression: input.expression,
          timezone: input.timezone,
          nextRunAt: input.nextRunAt,
          lastRunAt: existing?.lastRunAt ?? null,
          claimedBy: existing?.claimedBy ?? null,
          claimedAt: existing?.claimedAt ?? null,
        });
        this.#env.countRecords(1);
      }
    });
  }

  claimDueSchedules(options: ClaimOptions): Promise<Schedule[]> {
    return this.#op('claimDueSchedules', ({ now }) => {
      const { claimerId, staleAfter, limit } = validateClaimOptions(options);
      const due = [...this.#s.schedules.values()]
        .filter((x) => x.nextRunAt <= now && (x.claimedAt === null || x.claimedAt < now - staleAfter))
        .sort((a, b) => a.nextRunAt - b.nextRunAt || compareStrings(a.name, b.name))
        .slice(0, limit);
      for (const schedule of due) {
        schedule.claimedBy = claimerId;
        schedule.claimedAt = now;
        this.#env.countRecords(1);
      }
      return due.map((x) => ({ ...x }));
    });
  }

  markScheduleRun(runs: readonly ScheduleRun[]): Promise<boolean[]> {
    return this.#op('markScheduleRun', ({ now }) => {
      const valid = validateScheduleRuns(runs, this.#limits);
      return valid.map((run) => {
        const schedule = this.#s.schedules.get(run.name);
        if (schedule === undefined || schedule.claimedBy !== run.claimerId) return false;
        schedule.lastRunAt = now;
        schedule.nextRunAt = run.nextRunAt;
        schedule.claimedBy = null;
        schedule.claimedAt = null;
        this.#env.countRecords(1);
        return true;
      });
    });
  }

  deleteSchedules(names: readonly string[]): Promise<number> {
    return this.#op('deleteSchedules', () => {
      const valid = validateScheduleNames(names, this.#limits);
      let deleted = 0;
      for (const name of valid) if (this.#s.schedules.delete(name)) deleted++;
      this.#env.countRecords(deleted);
      return deleted;
    });
  }

  listSchedules(): Promise<Schedule[]> {
    return this.#op('listSchedules', () =>
      [...this.#s.schedules.values()].sort((a, b) => compareStrings(a.name, b.name)).map((x) => ({ ...x })),
    );
  }

  // ---- events ---------------------------------------------------------------------------------

  subscribe(listener: EventListener, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.#op('subscribe', () => {
      validateListener(listener);
      const { after, kinds } = validateSubscribeOptions(options);
      const log = this.#s.log;
      return this.#env.events.add(
        filterEventKinds(listener, kinds),
        after === undefined ? [] : log.slice(firstAfter(log, after)),
      );
    });
  }

  // ---- maintenance ----------------------------------------------------------------------------

  install(): Promise<void> {
    return this.#op(
      'install',
      () => {
        this.#state ??= new State();
      },
      'open',
    );
  }

  upgrade(): Promise<void> {
    // Version 1 is the only version: an installed memory store is always current.
    return this.#op('upgrade', () => undefined);
  }

  uninstall(): Promise<void> {
    return this.#op('uninstall', () => {
      this.#state = null;
    });
  }

  verify(): Promise<VerifyReport> {
    return this.#op(
      'verify',
      () => {
        const installed = this.#state !== null;
        return {
          installed,
          version: installed ? REFERENCE_SCHEMA_VERSION : null,
          expectedVersion: REFERENCE_SCHEMA_VERSION,
          current: installed,
          problems: installed ? [] : ['the reference queue is not installed: call install()'],
        };
      },
      'open',
    );
  }

  scan(options: { staleAfter: number; retention?: Retention }): Promise<ScanReport> {
    return this.#op('scan', ({ now }) => {
      const { staleAfter, retention } = validateScanOptions(options);
      const s = this.#s;
      this.#env.countScan();
      const keep = retentionFilter(s.log, retention, now);
      return {
        stalePicked: this.#stalePicked(now - staleAfter).map((job) => job.id),
        orphans: this.#orphans(),
        logBeyondRetention: s.log.reduce((n, row, i) => (keep(row, i) ? n : n + 1), 0),
      };
    });
  }

  recover(options: { staleAfter: number }): Promise<number[]> {
    return this.#op('recover', (tx) => {
      const { staleAfter } = validateRecoverOptions(options);
      const stale = this.#stalePicked(tx.now - staleAfter);
      for (const job of stale) {
        const holder = job.queueManagerId;
        this.#leave(job);
        job.status = 'queued';
        job.queueManagerId = null;
        job.updated = tx.now;
        this.#enter(tx, job);
        this.#record(tx, job, 'requeued', holder, null);
      }
      this.#env.countRecovered(stale.length);
      return stale.map((job) => job.id);
    });
  }

  compact(retention: Retention): Promise<{ removed: number }> {
    return this.#op('compact', ({ now }) => {
      const r = validateCompactOptions(retention);
      const s = this.#s;
      const before = s.log.length;
      // A new array: the dropped rows become garbage with the old one.
      s.log = s.log.filter(retentionFilter(s.log, r, now));
      const removed = before - s.log.length;
      if (r.maxAge !== undefined) {
        const oldest = now - r.maxAge;
        for (const [key, row] of s.statistics) if (row.second < oldest) s.statistics.delete(key);
      }
      if (removed > 0) {
        // Ids older than every retained row's job and every held job have nothing left to answer
        // from: forget their statuses (jobStatus null), so history stays bounded in long runs.
        let horizon = s.nextId;
        for (const row of s.log) if (row.jobId < horizon) horizon = row.jobId;
        for (const id of s.jobs.keys()) if (id < horizon) horizon = id;
        s.statuses.forgetBelow(horizon);
      }
      this.#env.countCompaction(removed);
      return { removed };
    });
  }

  metrics(): Promise<RepositoryMetrics> {
    return this.#op('metrics', () => this.#env.readMetrics());
  }

  resetMetrics(): Promise<void> {
    return this.#op('resetMetrics', () => this.#env.resetMetrics());
  }

  /** Idempotent. Events committed but not yet delivered are dropped with the subscriptions. */
  close(): Promise<void> {
    return this.#env.close();
  }

  // ---- bookkeeping: every status change goes through #leave, then #enter -----------------------

  /** Take a held job out of the indexes of its current status. */
  #leave(job: StoredJob): void {
    const s = this.#s;
    this.#countSize(job, -1);
    if (job.status === 'queued') {
      job.ep.queued--;
    } else if (job.status === 'picked') {
      job.ep.picked.delete(job.id);
      const manager = job.queueManagerId!;
      const owned = s.owned.get(manager)! - 1;
      if (owned === 0) s.owned.delete(manager);
      else s.owned.set(manager, owned);
    } else if (job.status === 'failed') {
      s.failed.delete(job.id);
    }
  }

  /** Put a job into the indexes of its (new) status; terminal statuses remove it from the store. */
  #enter(tx: Tx, job: StoredJob): void {
    const s = this.#s;
    s.statuses.set(job.id, job.status);
    const holdsKey = job.status === 'queued' || job.status === 'picked';
    if (job.dedupeKey !== null) {
      if (holdsKey) s.dedupe.set(job.dedupeKey, job.id);
      else if (s.dedupe.get(job.dedupeKey) === job.id) s.dedupe.delete(job.dedupeKey);
    }
    if (isTerminalStatus(job.status) || job.status === 'failed') this.#countStatistics(tx, job);
    if (isTerminalStatus(job.status)) {
      s.jobs.delete(job.id);
      job.ep.tidy();
      return;
    }
    this.#countSize(job, 1);
    if (job.status === 'queued') {
      const entry: QueueEntry = { job, gen: ++job.gen, executeAfter: job.executeAfter };
      (entry.executeAfter <= tx.now ? job.ep.ready : job.ep.delayed).push(entry);
      job.ep.byTime.push(entry);
      job.ep.queued++;
    } else if (job.status === 'picked') {
      job.ep.picked.set(job.id, job);
      const manager = job.queueManagerId!;
      s.owned.set(manager, (s.owned.get(manager) ?? 0) + 1);
    } else if (job.status === 'failed') {
      s.failed.add(job.id);
    }
    job.ep.tidy();
  }

  #countSize(job: StoredJob, delta: 1 | -1): void {
    const sizes = this.#s.sizes;
    const key = `${job.entrypoint}\0${job.status}\0${job.priority}`;
    const row = sizes.get(key);
    if (row === undefined) {
      sizes.set(key, {
        entrypoint: job.entrypoint,
        status: job.status as QueueSizeRow['status'],
        priority: job.priority,
        count: delta,
      });
    } else if ((row.count += delta) === 0) {
      sizes.delete(key);
    }
  }

  #countStatistics(tx: Tx, job: StoredJob): void {
    const second = Math.floor(tx.now / 1000) * 1000;
    const key = `${second}\0${job.entrypoint}\0${job.status}\0${job.priority}`;
    const row = this.#s.statistics.get(key);
    if (row === undefined) {
      const status = job.status as CompletionStatus;
      this.#s.statistics.set(key, {
        entrypoint: job.entrypoint,
        status,
        priority: job.priority,
        second,
        count: 1,
      });
    } else {
      row.count++;
    }
  }

  #record(
    tx: Tx,
    job: StoredJob,
    kind: JobEventKind,
    queueManagerId: string | null,
    error: string | null,
  ): void {
    const s = this.#s;
    const row: JobEvent = Object.freeze({
      seq: s.nextSeq++,
      kind,
      jobId: job.id,
      entrypoint: job.entrypoint,
      priority: job.priority,
      status: job.status,
      at: tx.now,
      queueManagerId,
      error,
    });
    s.log.push(row);
    tx.events.push(row);
    // The row, the job write and (ends, dead letters) the statistics bucket: the kit's rule.
    this.#env.countEvents(kind);
  }

  /** Picked jobs of every entrypoint with heartbeat < cutoff, id ascending. */
  #stalePicked(cutoff: number): StoredJob[] {
    const stale: StoredJob[] = [];
    for (const ep of this.#s.entrypoints.values()) {
      for (const job of ep.picked.values()) {
        if (!(job.heartbeat < cutoff)) break;
        stale.push(job);
      }
    }
    return stale.sort(byId);
  }

  /** Ids the indexes disagree about (a bug if ever non-empty): dedupe entries and picked maps. */
  #orphans(): number[] {
    const s = this.#s;
    const orphans = new Set<number>();
    for (const [key, id] of s.dedupe) {
      const job = s.jobs.get(id);
      if (
        job === undefined ||
        job.dedupeKey !== key ||
        (job.status !== 'queued' && job.status !== 'picked')
      ) {
        orphans.add(id);
      }
    }
    for (const ep of s.entrypoints.values()) {
      for (const [id, job] of ep.picked)
        if (s.jobs.get(id) !== job || job.status !== 'picked') orphans.add(id);
    }
    for (const id of s.failed) if (s.jobs.get(id)?.status !== 'failed') orphans.add(id);
    return [...orphans].sort((a, b) => a - b);
  }
}

function eventKind(status: CompletionStatus): JobEventKind {
  return status === 'failed' ? 'failed' : status === 'canceled' ? 'cancelled' : 'completed';
}

/** Index of the first row with seq > after (rows are in seq order). */
function firstAfter(log: readonly JobEvent[], after: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.seq <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A fresh, installed in-memory queue: the reference implementation of the port. */
export function createReferenceQueue(options?: ReferenceQueueOptions): QueueRepository {
  return new ReferenceRepository(options);
}
