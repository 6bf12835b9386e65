/**
 * The QueueRepository on IndexedDB (through `idb`). It follows "Port semantics, precisely" in
 * docs/ARCHITECTURE.md rule by rule, like the reference adapter it is checked against.
 *
 * Every mutating method (dequeue and claimDueSchedules included) is ONE readwrite transaction
 * that awaits nothing but IndexedDB requests: an awaited non-IDB promise would let the
 * transaction commit early, and two tabs could then pick the same job. IndexedDB runs readwrite
 * transactions with overlapping stores one after another, across tabs and workers, so every
 * call sees the state the previous one committed. Writes are fire-and-forget requests on the raw
 * stores; the call succeeds only when the transaction commits (`tx.done`), else nothing was written.
 */
import {
  type ClaimOptions,
  type Clock,
  type CompletionResult,
  type CompletionStatus,
  type DequeueOptions,
  DuplicateJobError,
  type EnqueueOptions,
  type EventListener,
  type FenceOptions,
  InvalidArgumentError,
  isTerminalStatus,
  type Job,
  type JobEvent,
  type JobEventKind,
  type JobStatus,
  type Limits,
  type NewJob,
  NotInstalledError,
  type QueueRepository,
  type QueueSizeRow,
  type RepositoryMetrics,
  type Retention,
  type RetryRequest,
  type ScanReport,
  type Schedule,
  type ScheduleInput,
  type ScheduleRun,
  SchemaOutdatedError,
  type StatisticsRow,
  type SubscribeOptions,
  systemClock,
  type Unsubscribe,
  type VerifyReport,
} from '@tideq/core';
import {
  bucketCapacity,
  CallEnvelope,
  type PortMethod,
  resolveLimits,
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
} from '@tideq/core/adapter';
import { type IDBPTransaction, unwrap } from 'idb';
import { changeLayout, openExisting, storageError } from './connection.js';
import { EventHub } from './events.js';
import {
  type Db,
  INDEXEDDB_SCHEMA_VERSION,
  type JobRecord,
  type LogPage,
  META_KEY,
  type MetaState,
  readInstallation,
  STATUS_PAGE_SIZE,
  type StoreName,
  type TideqDB,
} from './schema.js';

export type Durability = 'relaxed' | 'strict';

export interface IndexedDbQueueOptions {
  /** The IndexedDB database name (one queue per name and origin). */
  name: string;
  /** Time source (default: the wall clock). Every call reads it once. */
  clock?: Clock;
  /** Input limits (default DEFAULT_LIMITS). */
  limits?: Partial<Limits>;
  /**
   * Transaction durability (default 'relaxed', Chromium's default since 121): a committed call
   * survives a tab or browser crash; 'strict' also waits for the OS to flush it to disk, so it
   * survives a power loss or OS crash, at a cost measured in bench/RESULTS.md.
   */
  durability?: Durability;
  /**
   * How long an install/upgrade/uninstall waits for other connections that do not close on
   * `versionchange` before failing with STORAGE_UNAVAILABLE, ms (default 5000).
   */
  blockedTimeout?: number;
  /** How often subscribers read the log as a safety net for missed broadcasts, ms (default 1000). */
  pollInterval?: number;
}

type OpName = PortMethod;
type Tx = IDBPTransaction<TideqDB, StoreName[], 'readwrite' | 'readonly'>;

/** What one call works with: its transaction, `now`, the counters and what it wrote. */
interface Ctx {
  tx: Tx;
  now: number;
  meta: MetaState;
  /**
   * Resolves (and sets `meta`) when the counters record has been read. Bodies that issue their own
   * reads first and await this after them pay one round trip for all of them (see #tx `prefetch`).
   */
  metaReady: Promise<MetaState>;
  metaDirty: boolean;
  /** Status pages read ahead (complete/cancel know their ids up front). */
  pages: Map<number, Promise<Uint8Array | undefined>>;
  /** Ids of jobs that left the store in this call (deleted in runs at the end). */
  removed: number[];
  events: JobEvent[];
  /** statistics increments by `second \0 entrypoint \0 status \0 priority`. */
  stats: Map<string, StatisticsRow>;
  /** terminal statuses by page: offset -> status code. */
  statuses: Map<number, Map<number, number>>;
  /** Records by the metrics rules that are not log rows (heartbeats, schedule rows). */
  records: number;
  /** Jobs stored by enqueue (their bytes are counted after the commit). */
  stored: Job[];
  /** Counting to do once the transaction committed. */
  after?: () => void;
  raw: Map<StoreName, IDBObjectStore>;
}

const STATUS_CODES: Record<JobStatus, number> = {
  queued: 1,
  picked: 2,
  successful: 3,
  exception: 4,
  canceled: 5,
  deleted: 6,
  failed: 7,
};
const STATUS_BY_CODE: (JobStatus | null)[] = [
  null,
  'queued',
  'picked',
  'successful',
  'exception',
  'canceled',
  'deleted',
  'failed',
];
const HELD_STATUS_ORDER: Record<string, number> = { queued: 0, picked: 1, failed: 2 };
/** An array key sorts after every number and string key: the upper end of `[entrypoint, …]` ranges. */
const HIGH: [] = [];

function before(a: Job, b: Job): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.id < b.id);
}
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** A fenced call (a manager id) touches only jobs picked and held by that manager; unfenced: any. */
const holds = (job: Job, fence: string | null): boolean =>
  fence === null || (job.status === 'picked' && job.queueManagerId === fence);
const byId = (a: { id: number }, b: { id: number }): number => a.id - b.id;

function add(map: Map<string, number>, key: string, delta: number): void {
  const value = (map.get(key) ?? 0) + delta;
  if (value === 0) map.delete(key);
  else map.set(key, value);
}

function copyJob(r: JobRecord): Job {
  return {
    id: r.id,
    entrypoint: r.entrypoint,
    payload: r.payload,
    priority: r.priority,
    executeAfter: r.executeAfter,
    dedupeKey: r.dedupeKey,
    headers: r.headers,
    status: r.status,
    attempts: r.attempts,
    heartbeat: r.heartbeat,
    created: r.created,
    updated: r.updated,
    queueManagerId: r.queueManagerId,
    lastError: r.lastError,
  };
}

function eventKind(status: CompletionStatus): JobEventKind {
  return status === 'failed' ? 'failed' : status === 'canceled' ? 'cancelled' : 'completed';
}

/** Which log rows a retention keeps: the newest `maxRecords`, none older than `now - maxAge`. */
function keeps(total: number, retention: { maxRecords?: number; maxAge?: number }, now: number) {
  const keepFrom = retention.maxRecords === undefined ? 0 : Math.max(0, total - retention.maxRecords);
  const oldestAt = retention.maxAge === undefined ? Number.NEGATIVE_INFINITY : now - retention.maxAge;
  return (row: JobEvent, index: number): boolean => index >= keepFrom && row.at >= oldestAt;
}

/** One entrypoint's due queued jobs in dequeue order, read from the `ready` index a page at a time. */
class ReadyStream {
  readonly name: string;
  excluded = false;
  #buf: JobRecord[] = [];
  #pos = 0;
  #done = false;
  readonly #tx: Tx;
  readonly #page: number;

  #first: Promise<JobRecord[]> | null = null;

  /** `readAhead`: issue the first page's read now (it is awaited with the rest of the call's reads). */
  constructor(tx: Tx, name: string, page: number, readAhead: boolean) {
    this.#tx = tx;
    this.name = name;
    this.#page = page;
    if (readAhead) {
      this.#first = this.#read();
      this.#first.catch(() => {});
    }
  }

  #read(): Promise<JobRecord[]> {
    const last = this.#buf.at(-1)?.r;
    const range =
      last === undefined
        ? IDBKeyRange.bound([this.name], [this.name, HIGH])
        : IDBKeyRange.bound(last, [this.name, HIGH], true);
    return this.#tx.objectStore('jobs').index('ready').getAll(range, this.#page);
  }

  /** The next due candidate, or undefined. Jobs whose executeAfter is ahead of now (the clock went back) are passed over. */
  async head(now: number): Promise<JobRecord | undefined> {
    for (;;) {
      if (this.#pos < this.#buf.length) {
        const job = this.#buf[this.#pos]!;
        if (job.executeAfter <= now) return job;
        this.#pos++;
        continue;
      }
      if (this.#done) return undefined;
      const first = this.#first;
      this.#first = null;
      this.#buf = await (first ?? this.#read());
      this.#pos = 0;
      if (this.#buf.length < this.#page) this.#done = true;
    }
  }

  pop(): void {
    this.#pos++;
  }
}

export class IndexedDbQueueRepository implements QueueRepository {
  readonly name: string;
  readonly durability: Durability;
  readonly #clock: Clock;
  readonly #limits: Limits;
  readonly #blockedTimeout: number;
  readonly #events: EventHub;
  readonly #env: CallEnvelope;
  #db: Db | null;
  #opening: Promise<Db> | null = null;

  /** Use {@link createIndexedDbQueue}. */
  constructor(db: Db, options: IndexedDbQueueOptions) {
    this.name = options.name;
    this.#db = db;
    this.#clock = options.clock ?? systemClock;
    this.#limits = resolveLimits(options.limits);
    this.durability = options.durability ?? 'relaxed';
    this.#blockedTimeout = options.blockedTimeout ?? 5000;
    this.#env = new CallEnvelope({
      store: `the IndexedDB queue "${options.name}"`,
      clock: this.#clock,
      mapError: (error) => storageError(error, `the IndexedDB queue "${options.name}"`),
    });
    this.#events = new EventHub({
      channel: `tideq:${options.name}`,
      read: (after, limit) => this.#readLog(after, limit),
      pollInterval: options.pollInterval ?? 1000,
    });
  }

  /** @internal the callback the connection calls when it closed itself (versionchange). */
  readonly onConnectionClosed = (): void => {
    this.#db = null;
  };

  // ---- the one envelope: gate, connection, clock, transaction, metrics, errors, events ---------

  async #connection(): Promise<Db> {
    if (this.#db !== null) return this.#db;
    this.#opening ??= openExisting(this.name, { onClosed: this.onConnectionClosed }).finally(() => {
      this.#opening = null;
    });
    const db = await this.#opening;
    if (this.#env.closed) {
      db.close();
      this.#env.assertOpen('open');
    }
    this.#db = db;
    return db;
  }

  #outdated(schema: number): SchemaOutdatedError {
    return new SchemaOutdatedError(
      schema < INDEXEDDB_SCHEMA_VERSION
        ? `the IndexedDB queue "${this.name}" has schema ${schema}, this code needs ${INDEXEDDB_SCHEMA_VERSION}: call upgrade()`
        : `the IndexedDB queue "${this.name}" was upgraded to schema ${schema} by newer code in another tab (this code knows ${INDEXEDDB_SCHEMA_VERSION}): reload this page`,
      { details: { version: schema, expectedVersion: INDEXEDDB_SCHEMA_VERSION } },
    );
  }

  #notInstalled(name: string): NotInstalledError {
    return new NotInstalledError(
      `the IndexedDB queue "${this.name}" is not installed (it was uninstalled); call install() before ${name}()`,
    );
  }

  /**
   * Run `body` in ONE transaction over `stores` (plus meta), with `now` read once. The body awaits
   * only IndexedDB requests. On success the transaction has committed before the events go out.
   */
  #tx<T>(
    name: OpName,
    mode: 'readonly' | 'readwrite',
    stores: readonly StoreName[],
    body: (ctx: Ctx) => Promise<T>,
    prefetch = false,
  ): Promise<T> {
    return this.#env.callAsync(name, async ({ now }) => {
      const scope: StoreName[] = stores.includes('meta') ? [...stores] : [...stores, 'meta'];
      for (let attempt = 0; ; attempt++) {
        const db = await this.#connection();
        if (!db.objectStoreNames.contains('meta')) throw this.#notInstalled(name);
        let tx: Tx;
        try {
          tx = db.transaction(scope, mode, { durability: this.durability }) as unknown as Tx;
        } catch (error) {
          // The connection is closing (another tab upgrades): reopen once and retry.
          if ((error as { name?: string }).name === 'InvalidStateError' && attempt < 2) {
            if (this.#db === db) this.#db = null;
            continue;
          }
          throw error;
        }
        const done = tx.done;
        done.catch(() => {});
        const ctx: Ctx = {
          tx,
          now,
          meta: undefined as unknown as MetaState,
          metaReady: undefined as unknown as Promise<MetaState>,
          metaDirty: false,
          pages: new Map(),
          removed: [],
          events: [],
          stats: new Map(),
          statuses: new Map(),
          records: 0,
          stored: [],
          raw: new Map(),
        };
        let result: T;
        try {
          ctx.metaReady = tx
            .objectStore('meta')
            .get(META_KEY)
            .then((meta) => {
              if (meta === undefined) throw this.#notInstalled(name);
              if (meta.schema !== INDEXEDDB_SCHEMA_VERSION) throw this.#outdated(meta.schema);
              ctx.meta = meta;
              return meta;
            });
          ctx.metaReady.catch(() => {});
          if (!prefetch) await ctx.metaReady;
          result = await body(ctx);
          if (mode === 'readwrite') {
            await this.#finish(ctx);
            // Every write is issued: start the commit now instead of after the next task.
            tx.commit();
          }
        } catch (error) {
          try {
            tx.abort();
          } catch {
            // already finished or aborted
          }
          throw storageError(error, `${name}() on the IndexedDB queue "${this.name}"`);
        }
        try {
          await done;
        } catch (error) {
          throw storageError(error, `${name}() on the IndexedDB queue "${this.name}"`);
        }
        // Counted by the metrics rules of @tideq/core/adapter, once the transaction committed.
        for (const event of ctx.events) this.#env.countEvents(event.kind);
        this.#env.countRecords(ctx.records);
        for (const job of ctx.stored) this.#env.countStoredJob(job);
        ctx.after?.();
        this.#events.committed(ctx.events);
        return result;
      }
    });
  }

  #raw(ctx: Ctx, store: StoreName): IDBObjectStore {
    let raw = ctx.raw.get(store);
    if (raw === undefined) {
      raw = unwrap(ctx.tx.objectStore(store)) as IDBObjectStore;
      ctx.raw.set(store, raw);
    }
    return raw;
  }

  /** Fire-and-forget write: a failure aborts the transaction, which `tx.done` reports. */
  #put(ctx: Ctx, store: StoreName, value: unknown, key?: IDBValidKey): void {
    this.#raw(ctx, store).put(value, key);
  }

  #delete(ctx: Ctx, store: StoreName, key: IDBValidKey | IDBKeyRange): void {
    this.#raw(ctx, store).delete(key);
  }

  /** The per-transaction records: log page, statistics buckets, status pages, counters. */
  async #finish(ctx: Ctx): Promise<void> {
    if (ctx.events.length > 0) {
      const page: LogPage = { first: ctx.events[0]!.seq, last: ctx.events.at(-1)!.seq, rows: ctx.events };
      this.#put(ctx, 'log', page);
      ctx.meta.logRows += ctx.events.length;
      ctx.metaDirty = true;
    }
    if (ctx.removed.length > 0) {
      // Runs of consecutive ids go as one range delete: Chromium deletes a range many times faster
      // than the same records one by one (measured ~30x at 100 records).
      const ids = ctx.removed.sort((a, b) => a - b);
      let start = 0;
      for (let i = 1; i <= ids.length; i++) {
        if (i < ids.length && ids[i] === ids[i - 1]! + 1) continue;
        this.#delete(
          ctx,
          'jobs',
          i - start === 1 ? ids[start]! : IDBKeyRange.bound(ids[start]!, ids[i - 1]!),
        );
        start = i;
      }
    }
    // Statistics are appended per transaction (no read-modify-write); statistics() sums them.
    const seq = ctx.events[0]?.seq ?? ctx.meta.nextSeq;
    for (const row of ctx.stats.values()) this.#put(ctx, 'stats', { ...row, seq });
    if (ctx.statuses.size > 0) {
      const store = ctx.tx.objectStore('statuses');
      const pages = [...ctx.statuses.keys()];
      const existing = await Promise.all(pages.map((p) => ctx.pages.get(p) ?? store.get(p)));
      pages.forEach((pageNo, i) => {
        const page = existing[i] ?? new Uint8Array(STATUS_PAGE_SIZE);
        for (const [offset, code] of ctx.statuses.get(pageNo)!) page[offset] = code;
        this.#put(ctx, 'statuses', page, pageNo);
      });
    }
    if (ctx.metaDirty) this.#put(ctx, 'meta', ctx.meta, META_KEY);
  }

  // ---- bookkeeping: every status change goes through #leave, then #enter -----------------------

  /** Take a held job out of the counters of its current status. */
  #leave(ctx: Ctx, job: JobRecord): void {
    const m = ctx.meta;
    ctx.metaDirty = true;
    add(m.sizes, `${job.entrypoint}\0${job.status}\0${job.priority}`, -1);
    if (job.status === 'queued') {
      if (job.x !== undefined && job.r === undefined) add(m.waiting, job.entrypoint, -1);
    } else if (job.status === 'picked') {
      add(m.picked, job.entrypoint, -1);
      add(m.owned, job.queueManagerId!, -1);
    }
  }

  /**
   * Store a job in its (new) status with the index keys of that status; terminal ones leave the
   * store. `fresh`: enqueued now without an executeAfter (see JobRecord.x).
   */
  #enter(ctx: Ctx, job: Job, fresh = false): void {
    const m = ctx.meta;
    ctx.metaDirty = true;
    if (isTerminalStatus(job.status) || job.status === 'failed') this.#countStatistics(ctx, job);
    if (isTerminalStatus(job.status)) {
      ctx.removed.push(job.id);
      const pageNo = Math.floor(job.id / STATUS_PAGE_SIZE);
      let page = ctx.statuses.get(pageNo);
      if (page === undefined) ctx.statuses.set(pageNo, (page = new Map()));
      page.set(job.id % STATUS_PAGE_SIZE, STATUS_CODES[job.status]);
      return;
    }
    add(m.sizes, `${job.entrypoint}\0${job.status}\0${job.priority}`, 1);
    const record: JobRecord = copyJob(job as JobRecord);
    if (job.status === 'queued') {
      if (!fresh) record.x = [job.entrypoint, job.executeAfter, job.id];
      if (job.executeAfter <= ctx.now) record.r = [job.entrypoint, -job.priority, job.id];
      else add(m.waiting, job.entrypoint, 1);
    } else if (job.status === 'picked') {
      record.p = [job.entrypoint, job.heartbeat, job.id];
      add(m.picked, job.entrypoint, 1);
      add(m.owned, job.queueManagerId!, 1);
    } else if (job.status === 'failed') {
      record.f = job.id;
    }
    if (job.dedupeKey !== null && (job.status === 'queued' || job.status === 'picked'))
      record.d = job.dedupeKey;
    this.#put(ctx, 'jobs', record);
  }

  #countStatistics(ctx: Ctx, job: Job): void {
    const second = Math.floor(ctx.now / 1000) * 1000;
    const key = `${second}\0${job.entrypoint}\0${job.status}\0${job.priority}`;
    const row = ctx.stats.get(key);
    if (row === undefined) {
      ctx.stats.set(key, {
        entrypoint: job.entrypoint,
        status: job.status as CompletionStatus,
        priority: job.priority,
        second,
        count: 1,
      });
    } else {
      row.count++;
    }
  }

  #record(ctx: Ctx, job: Job, kind: JobEventKind, queueManagerId: string | null, error: string | null): void {
    const row: JobEvent = Object.freeze({
      seq: ctx.meta.nextSeq++,
      kind,
      jobId: job.id,
      entrypoint: job.entrypoint,
      priority: job.priority,
      status: job.status,
      at: ctx.now,
      queueManagerId,
      error,
    });
    ctx.metaDirty = true;
    ctx.events.push(row);
  }

  /**
   * The held jobs of `ids` (undefined where none). Ids of one batch are mostly close together: one
   * ranged getAll then costs a fraction of a get per id (measured 4x faster at 100 ids in Chromium).
   */
  async #getJobs(ctx: Ctx, ids: readonly number[]): Promise<(JobRecord | undefined)[]> {
    const store = ctx.tx.objectStore('jobs');
    if (ids.length === 0) return [];
    let lo = ids[0]!;
    let hi = lo;
    for (const id of ids) {
      if (id < lo) lo = id;
      if (id > hi) hi = id;
    }
    if (ids.length > 2 && hi - lo < ids.length * 4 + 16) {
      const found = new Map<number, JobRecord>();
      for (const job of await store.getAll(IDBKeyRange.bound(lo, hi))) found.set(job.id, job);
      // Each position gets its own copy: a repeated id must not see an earlier position's change.
      return ids.map((id) => {
        const job = found.get(id);
        return job === undefined ? undefined : { ...job };
      });
    }
    return Promise.all(ids.map((id) => store.get(id)));
  }

  /** Read ahead the status pages that terminal transitions of these ids will update. */
  #prefetchPages(ctx: Ctx, ids: readonly number[]): void {
    const store = ctx.tx.objectStore('statuses');
    for (const id of ids) {
      const pageNo = Math.floor(id / STATUS_PAGE_SIZE);
      if (!ctx.pages.has(pageNo)) {
        const page = store.get(pageNo);
        page.catch(() => {});
        ctx.pages.set(pageNo, page);
      }
    }
  }

  // ---- producing ------------------------------------------------------------------------------

  enqueue(jobs: readonly NewJob[], options?: EnqueueOptions): Promise<(number | null)[]> {
    let valid: ReturnType<typeof validateNewJobs>;
    let onConflict: 'raise' | 'skip';
    return this.#tx(
      'enqueue',
      'readwrite',
      ['jobs', 'log'],
      async (ctx) => {
        ({ onConflict } = validateEnqueueOptions(options));
        valid = validateNewJobs(jobs, this.#limits, onConflict);
        if (valid.length === 0) {
          await ctx.metaReady;
          return [];
        }
        const keys = [...new Set(valid.flatMap((j) => (j.dedupeKey === null ? [] : [j.dedupeKey])))];
        const index = ctx.tx.objectStore('jobs').index('dedupe');
        const [holders, meta] = await Promise.all([
          Promise.all(keys.map((k) => index.getKey(k))),
          ctx.metaReady,
        ]);
        const held = new Set(keys.filter((_, i) => holders[i] !== undefined));
        if (onConflict === 'raise' && held.size > 0) throw new DuplicateJobError([...held]);
        const { now } = ctx;
        return valid.map((input) => {
          // With 'skip', a key held by the store or by an earlier job of this batch leaves this position out.
          if (input.dedupeKey !== null) {
            if (held.has(input.dedupeKey)) return null;
            held.add(input.dedupeKey);
          }
          const job: Job = {
            id: meta.nextId++,
            entrypoint: input.entrypoint,
            payload: input.payload,
            priority: input.priority,
            executeAfter: input.executeAfter ?? now,
            dedupeKey: input.dedupeKey,
            headers: input.headers,
            status: 'queued',
            attempts: 0,
            heartbeat: now,
            created: now,
            updated: now,
            queueManagerId: null,
            lastError: null,
          };
          this.#enter(ctx, job, input.executeAfter === null);
          this.#record(ctx, job, 'enqueued', null, null);
          ctx.stored.push(job);
          return job.id;
        });
      },
      true,
    );
  }

  // ---- consuming ------------------------------------------------------------------------------

  dequeue(options: DequeueOptions): Promise<Job[]> {
    return this.#tx(
      'dequeue',
      'readwrite',
      ['jobs', 'log', 'stats'],
      async (ctx) => {
        const o = validateDequeueOptions(options, this.#limits);
        const { now } = ctx;
        const caller = o.queueManagerId;
        const jobs = ctx.tx.objectStore('jobs');
        // One round trip for the counters, the first page of every ready stream and the stale picks.
        const page = o.batchSize + 8;
        let streams = [...o.entrypoints.keys()].map((name) => new ReadyStream(ctx.tx, name, page, true));
        const staleReads = [...o.entrypoints].map(([name, lim]) =>
          lim.retryTimer <= 0
            ? Promise.resolve([])
            : jobs
                .index('picked')
                .getAll(IDBKeyRange.bound([name], [name, now - lim.retryTimer], false, true)),
        );
        const [meta, staleFound] = await Promise.all([ctx.metaReady, Promise.all(staleReads)]);

        // 1. Token buckets, refilled in exactly this arithmetic so every adapter agrees.
        for (const [name, lim] of o.entrypoints) {
          if (lim.requestsPerSecond <= 0) continue;
          const rps = lim.requestsPerSecond;
          const capacity = bucketCapacity(rps);
          const bucket = meta.buckets.get(name);
          if (bucket === undefined) {
            meta.buckets.set(name, { tokens: capacity, updatedAt: now });
          } else {
            bucket.tokens = Math.min(
              capacity,
              bucket.tokens + (Math.max(0, now - bucket.updatedAt) * rps) / 1000,
            );
            bucket.updatedAt = now;
          }
          ctx.metaDirty = true;
        }

        // Promote waiting jobs that are due now into the ready index (no observable change); the
        // first pages read above miss them, so those streams read again.
        let promoted = false;
        for (const name of o.entrypoints.keys()) {
          if ((meta.waiting.get(name) ?? 0) === 0) continue;
          const due = await jobs.index('timed').getAll(IDBKeyRange.bound([name], [name, now, HIGH]));
          for (const job of due) {
            if (job.r !== undefined) continue;
            this.#leave(ctx, job);
            this.#enter(ctx, job);
            promoted = true;
          }
        }
        if (promoted)
          streams = [...o.entrypoints.keys()].map((name) => new ReadyStream(ctx.tx, name, page, false));

        // Stale picked jobs: heartbeat older than retryTimer.
        const lost: JobRecord[] = [];
        const stale: JobRecord[] = [];
        [...o.entrypoints.values()].forEach((lim, i) => {
          for (const job of staleFound[i]!) {
            if (lim.maxAttempts > 0 && job.attempts >= lim.maxAttempts) lost.push(job);
            else stale.push(job);
          }
        });

        // 2. Exhausted stale jobs become dead letters, in id order across entrypoints.
        lost.sort(byId);
        for (const job of lost) {
          const lim = o.entrypoints.get(job.entrypoint)!;
          const holder = job.queueManagerId;
          const error = `worker lost: no heartbeat for ${lim.retryTimer} ms after ${job.attempts} attempts`;
          this.#leave(ctx, job);
          job.status = 'failed';
          job.lastError = error;
          job.queueManagerId = null;
          job.updated = now;
          this.#enter(ctx, job);
          this.#record(ctx, job, 'failed', holder, error);
        }

        // 3. Picks: merge the stale candidates with each entrypoint's ready stream, in one order.
        stale.sort((a, b) => (before(a, b) ? -1 : 1));
        const picked: Job[] = [];
        let staleIndex = 0;
        let lastVisited: JobRecord | undefined;
        while (picked.length < o.batchSize) {
          let candidate: JobRecord | undefined = stale[staleIndex];
          let from: ReadyStream | undefined;
          for (const stream of streams) {
            if (stream.excluded) continue;
            const head = await stream.head(now);
            if (head !== undefined && (candidate === undefined || before(head, candidate))) {
              candidate = head;
              from = stream;
            }
          }
          if (candidate === undefined) break;
          const isStale = from === undefined;

          // maxOwned: stop, unless this is a stale re-pick of a job the caller already holds.
          if ((meta.owned.get(caller) ?? 0) >= o.maxOwned) {
            if (!isStale || candidate.queueManagerId !== caller) break;
            if (await this.#excludedBetween(streams, lastVisited, candidate, now)) break;
          }
          lastVisited = candidate;
          if (isStale) staleIndex++;

          const lim: ValidEntrypointLimits = o.entrypoints.get(candidate.entrypoint)!;
          const bucket = lim.requestsPerSecond > 0 ? meta.buckets.get(candidate.entrypoint) : undefined;
          // Rate: tokens only fall during a pass, so the rest of this stream would be skipped too.
          if (bucket !== undefined && bucket.tokens < 1) {
            if (from !== undefined) from.excluded = true;
            continue;
          }
          // Concurrency: picked counts only grow during a pass; stale re-picks pass the gate.
          if (
            from !== undefined &&
            lim.concurrencyLimit > 0 &&
            (meta.picked.get(candidate.entrypoint) ?? 0) >= lim.concurrencyLimit
          ) {
            from.excluded = true;
            continue;
          }

          if (from !== undefined) from.pop();
          if (bucket !== undefined) bucket.tokens -= 1;
          this.#leave(ctx, candidate);
          candidate.status = 'picked';
          candidate.attempts += 1;
          candidate.heartbeat = now;
          candidate.updated = now;
          candidate.queueManagerId = caller;
          this.#enter(ctx, candidate);
          this.#record(ctx, candidate, 'picked', caller, null);
          picked.push(copyJob(candidate));
        }
        return picked;
      },
      true,
    );
  }

  /**
   * Whether an excluded stream holds a candidate strictly between `after` and `until` in candidate
   * order: such a candidate would add to the caller's jobs, so at maxOwned it stops the pass.
   */
  async #excludedBetween(
    streams: ReadyStream[],
    after: JobRecord | undefined,
    until: JobRecord,
    now: number,
  ): Promise<boolean> {
    for (const stream of streams) {
      if (!stream.excluded) continue;
      for (;;) {
        const head = await stream.head(now);
        if (head === undefined || !before(head, until)) break;
        stream.pop();
        if (after === undefined || before(after, head)) return true;
      }
    }
    return false;
  }

  complete(results: readonly CompletionResult[], options?: FenceOptions): Promise<boolean[]> {
    return this.#tx(
      'complete',
      'readwrite',
      ['jobs', 'log', 'stats', 'statuses'],
      async (ctx) => {
        const valid = validateCompletionResults(results, this.#limits);
        const fence = validateFenceOptions(options);
        const ids = valid.map((r) => r.id);
        this.#prefetchPages(ctx, ids);
        const [found] = await Promise.all([this.#getJobs(ctx, ids), ctx.metaReady]);
        const done = new Set<number>();
        return valid.map(({ id, status, error }, i) => {
          const job = found[i];
          // Failed jobs and ids finished earlier in this call are no longer queued or picked.
          if (job === undefined || done.has(id) || (job.status !== 'queued' && job.status !== 'picked'))
            return false;
          if (!holds(job, fence)) return false;
          done.add(id);
          const holder = job.queueManagerId;
          this.#leave(ctx, job);
          job.status = status;
          job.updated = ctx.now;
          job.queueManagerId = null;
          if (status === 'failed') job.lastError = error;
          this.#enter(ctx, job);
          this.#record(ctx, job, eventKind(status), holder, error);
          return true;
        });
      },
      true,
    );
  }

  retry(requests: readonly RetryRequest[], options?: FenceOptions): Promise<boolean[]> {
    return this.#tx(
      'retry',
      'readwrite',
      ['jobs', 'log'],
      async (ctx) => {
        const valid = validateRetryRequests(requests, this.#limits);
        const fence = validateFenceOptions(options);
        const [found] = await Promise.all([
          this.#getJobs(
            ctx,
            valid.map((r) => r.id),
          ),
          ctx.metaReady,
        ]);
        const seen = new Set<number>();
        return valid.map(({ id, executeAfter, error }, i) => {
          const job = found[i];
          if (job === undefined || seen.has(id) || job.status !== 'picked' || !holds(job, fence))
            return false;
          seen.add(id);
          const holder = job.queueManagerId;
          this.#leave(ctx, job);
          job.status = 'queued';
          job.executeAfter = executeAfter;
          job.lastError = error;
          job.queueManagerId = null;
          job.updated = ctx.now;
          this.#enter(ctx, job);
          this.#record(ctx, job, 'retried', holder, error);
          return true;
        });
      },
      true,
    );
  }

  requeue(ids: readonly number[]): Promise<boolean[]> {
    return this.#tx('requeue', 'readwrite', ['jobs', 'log'], async (ctx) => {
      const valid = validateIds(ids, this.#limits);
      const found = await this.#getJobs(ctx, valid);
      const seen = new Set<number>();
      const targets = valid.map((id, i) => {
        const job = found[i];
        if (job === undefined || job.status !== 'failed' || seen.has(id)) return undefined;
        seen.add(id);
        return job;
      });
      // Check every key before changing anything: a key held again, or shared by two of them.
      const uses = new Map<string, number>();
      for (const job of targets)
        if (job?.dedupeKey != null) uses.set(job.dedupeKey, (uses.get(job.dedupeKey) ?? 0) + 1);
      const keys = [...uses.keys()];
      const index = ctx.tx.objectStore('jobs').index('dedupe');
      const holders = await Promise.all(keys.map((k) => index.getKey(k)));
      const conflicts = new Set<string>();
      for (const job of targets) {
        const key = job?.dedupeKey;
        if (key != null && (holders[keys.indexOf(key)] !== undefined || uses.get(key)! > 1))
          conflicts.add(key);
      }
      if (conflicts.size > 0) throw new DuplicateJobError([...conflicts]);
      return targets.map((job) => {
        if (job === undefined) return false;
        this.#leave(ctx, job);
        job.status = 'queued';
        job.attempts = 0;
        job.executeAfter = ctx.now;
        job.updated = ctx.now;
        job.queueManagerId = null;
        this.#enter(ctx, job);
        this.#record(ctx, job, 'requeued', null, null);
        return true;
      });
    });
  }

  heartbeat(ids: readonly number[], options?: FenceOptions): Promise<boolean[]> {
    return this.#tx(
      'heartbeat',
      'readwrite',
      ['jobs'],
      async (ctx) => {
        const valid = validateIds(ids, this.#limits);
        const fence = validateFenceOptions(options);
        const [found] = await Promise.all([this.#getJobs(ctx, valid), ctx.metaReady]);
        const seen = new Set<number>();
        return valid.map((id, i) => {
          const job = found[i];
          if (job === undefined || job.status !== 'picked' || seen.has(id) || !holds(job, fence))
            return false;
          seen.add(id);
          ctx.records++;
          job.heartbeat = ctx.now;
          job.updated = ctx.now;
          job.p = [job.entrypoint, ctx.now, job.id];
          this.#put(ctx, 'jobs', job);
          return true;
        });
      },
      true,
    );
  }

  cancel(ids: readonly number[]): Promise<boolean[]> {
    return this.#tx(
      'cancel',
      'readwrite',
      ['jobs', 'log', 'stats', 'statuses'],
      async (ctx) => {
        const valid = validateIds(ids, this.#limits);
        this.#prefetchPages(ctx, valid);
        const [found] = await Promise.all([this.#getJobs(ctx, valid), ctx.metaReady]);
        const gone = new Set<number>();
        return valid.map((id, i) => {
          const job = found[i];
          if (job === undefined || gone.has(id)) return false;
          gone.add(id);
          this.#remove(ctx, job, 'canceled');
          return true;
        });
      },
      true,
    );
  }

  clear(entrypoints?: readonly string[]): Promise<number> {
    return this.#tx('clear', 'readwrite', ['jobs', 'log', 'stats', 'statuses'], async (ctx) => {
      const only = entrypoints === undefined ? undefined : new Set(validateEntrypoints(entrypoints));
      const all = await ctx.tx.objectStore('jobs').getAll();
      // getAll returns records in key (id) order.
      const doomed = all.filter((job) => only === undefined || only.has(job.entrypoint));
      for (const job of doomed) this.#remove(ctx, job, 'deleted');
      return doomed.length;
    });
  }

  /** A held job leaves the store as canceled/deleted; the event names its holder, if any. */
  #remove(ctx: Ctx, job: JobRecord, status: 'canceled' | 'deleted'): void {
    const holder = job.queueManagerId;
    this.#leave(ctx, job);
    job.status = status;
    job.updated = ctx.now;
    job.queueManagerId = null;
    this.#enter(ctx, job);
    this.#record(ctx, job, eventKind(status), holder, null);
  }

  // ---- reads ----------------------------------------------------------------------------------

  jobStatus(ids: readonly number[]): Promise<(JobStatus | null)[]> {
    return this.#tx('jobStatus', 'readonly', ['jobs', 'statuses'], async (ctx) => {
      const valid = validateIds(ids, this.#limits);
      const found = await this.#getJobs(ctx, valid);
      const pageNos = [
        ...new Set(
          valid
            .filter((id, i) => found[i] === undefined && id < ctx.meta.nextId)
            .map((id) => Math.floor(id / STATUS_PAGE_SIZE)),
        ),
      ];
      const store = ctx.tx.objectStore('statuses');
      const pages = new Map(await Promise.all(pageNos.map(async (p) => [p, await store.get(p)] as const)));
      return valid.map((id, i) => {
        const job = found[i];
        if (job !== undefined) return job.status;
        if (id >= ctx.meta.nextId) return null;
        const page = pages.get(Math.floor(id / STATUS_PAGE_SIZE));
        return STATUS_BY_CODE[page?.[id % STATUS_PAGE_SIZE] ?? 0] ?? null;
      });
    });
  }

  getJobs(ids: readonly number[]): Promise<(Job | null)[]> {
    return this.#tx(
      'getJobs',
      'readonly',
      ['jobs'],
      async (ctx) => {
        const valid = validateIds(ids, this.#limits);
        const [found] = await Promise.all([this.#getJobs(ctx, valid), ctx.metaReady]);
        return found.map((job) => (job === undefined ? null : copyJob(job)));
      },
      true,
    );
  }

  queueSize(): Promise<QueueSizeRow[]> {
    return this.#tx('queueSize', 'readonly', [], async ({ meta }) =>
      [...meta.sizes]
        .map(([key, count]) => {
          const [entrypoint, status, priority] = key.split('\0') as [string, QueueSizeRow['status'], string];
          return { entrypoint, status, priority: Number(priority), count };
        })
        .sort(
          (a, b) =>
            compareStrings(a.entrypoint, b.entrypoint) ||
            HELD_STATUS_ORDER[a.status]! - HELD_STATUS_ORDER[b.status]! ||
            b.priority - a.priority,
        ),
    );
  }

  failedJobs(options?: { limit?: number; after?: number }): Promise<Job[]> {
    return this.#tx('failedJobs', 'readonly', ['jobs'], async (ctx) => {
      const { after, limit } = validatePage(options, 'failedJobs options', 100);
      if (limit === 0) return [];
      const rows = await ctx.tx
        .objectStore('jobs')
        .index('failed')
        .getAll(IDBKeyRange.lowerBound(after, true), limit);
      return rows.map(copyJob);
    });
  }

  log(options?: { after?: number; limit?: number }): Promise<JobEvent[]> {
    return this.#tx('log', 'readonly', ['log'], async (ctx) => {
      const { after, limit } = validatePage(options, 'log options', 1000);
      return this.#logRows(ctx.tx, after, limit);
    });
  }

  async #logRows(tx: Tx, after: number, limit: number): Promise<JobEvent[]> {
    const out: JobEvent[] = [];
    if (limit === 0) return out;
    let cursor = await tx.objectStore('log').openCursor(IDBKeyRange.lowerBound(after, true));
    while (cursor !== null) {
      for (const row of cursor.value.rows) {
        if (row.seq <= after) continue;
        out.push(row);
        if (out.length >= limit) return out;
      }
      cursor = await cursor.continue();
    }
    return out;
  }

  /** The subscribers' read: no metrics, no install gate beyond what reading needs. */
  async #readLog(after: number, limit: number): Promise<JobEvent[]> {
    if (this.#env.closed) return [];
    for (let attempt = 0; ; attempt++) {
      const db = await this.#connection();
      if (!db.objectStoreNames.contains('log')) return [];
      try {
        return await this.#logRows(db.transaction(['log'], 'readonly') as unknown as Tx, after, limit);
      } catch (error) {
        // The connection closed for another tab's upgrade: reopen once.
        if ((error as { name?: string }).name !== 'InvalidStateError' || attempt > 0) throw error;
        if (this.#db === db) this.#db = null;
      }
    }
  }

  statistics(options?: { since?: number; limit?: number }): Promise<StatisticsRow[]> {
    return this.#tx('statistics', 'readonly', ['stats'], async (ctx) => {
      const { since, limit } = validateStatisticsOptions(options);
      const increments = await ctx.tx.objectStore('stats').getAll(IDBKeyRange.lowerBound([since]));
      const buckets = new Map<string, StatisticsRow>();
      for (const { seq: _, ...row } of increments) {
        const key = `${row.second}\0${row.entrypoint}\0${row.status}\0${row.priority}`;
        const bucket = buckets.get(key);
        if (bucket === undefined) buckets.set(key, row);
        else bucket.count += row.count;
      }
      return [...buckets.values()]
        .filter((row) => row.second >= since)
        .sort(
          (a, b) =>
            b.second - a.second ||
            compareStrings(a.entrypoint, b.entrypoint) ||
            compareStrings(a.status, b.status) ||
            b.priority - a.priority,
        )
        .slice(0, limit);
    });
  }

  nextDueAt(entrypoints: readonly string[]): Promise<number | null> {
    return this.#tx('nextDueAt', 'readonly', ['jobs'], async (ctx) => {
      const names = new Set(validateEntrypoints(entrypoints));
      const jobs = ctx.tx.objectStore('jobs');
      let earliest: number | null = null;
      const consider = (at: number | undefined) => {
        if (at !== undefined && (earliest === null || at < earliest)) earliest = at;
      };
      for (const name of names) {
        // Jobs with a chosen time: the timed index is ordered by it.
        consider((await jobs.index('timed').openKeyCursor(IDBKeyRange.bound([name], [name, HIGH])))?.key[1]);
        // Fresh jobs: within a priority the first one (lowest id) has the earliest time.
        for (const [key, count] of ctx.meta.sizes) {
          const [entrypoint, status, priority] = key.split('\0');
          if (entrypoint !== name || status !== 'queued' || count === 0) continue;
          const range = IDBKeyRange.bound([name, -Number(priority)], [name, -Number(priority), HIGH]);
          let cursor = await jobs.index('ready').openCursor(range);
          while (cursor !== null && cursor.value.x !== undefined) cursor = await cursor.continue();
          consider(cursor?.value.executeAfter);
        }
      }
      return earliest;
    });
  }

  // ---- schedules ------------------------------------------------------------------------------

  upsertSchedules(schedules: readonly ScheduleInput[]): Promise<void> {
    return this.#tx('upsertSchedules', 'readwrite', ['schedules'], async (ctx) => {
      const valid = validateScheduleInputs(schedules, this.#limits);
      const store = ctx.tx.objectStore('schedules');
      const existing = await Promise.all(valid.map((s) => store.get(s.name)));
      const written = new Map<string, Schedule>();
      valid.forEach((input, i) => {
        const old = written.get(input.name) ?? existing[i];
        const schedule: Schedule = {
          name: input.name,
          entrypoint: input.entrypoint,
          expression: input.expression,
          timezone: input.timezone,
          nextRunAt: input.nextRunAt,
          lastRunAt: old?.lastRunAt ?? null,
          claimedBy: old?.claimedBy ?? null,
          claimedAt: old?.claimedAt ?? null,
        };
        written.set(input.name, schedule);
        this.#put(ctx, 'schedules', schedule);
        ctx.records++;
      });
    });
  }

  claimDueSchedules(options: ClaimOptions): Promise<Schedule[]> {
    return this.#tx('claimDueSchedules', 'readwrite', ['schedules'], async (ctx) => {
      const { claimerId, staleAfter, limit } = validateClaimOptions(options);
      const { now } = ctx;
      const all = await ctx.tx.objectStore('schedules').getAll();
      const due = all
        .filter((x) => x.nextRunAt <= now && (x.claimedAt === null || x.claimedAt < now - staleAfter))
        .sort((a, b) => a.nextRunAt - b.nextRunAt || compareStrings(a.name, b.name))
        .slice(0, limit);
      for (const schedule of due) {
        schedule.claimedBy = claimerId;
        schedule.claimedAt = now;
        this.#put(ctx, 'schedules', schedule);
        ctx.records++;
      }
      return due.map((x) => ({ ...x }));
    });
  }

  markScheduleRun(runs: readonly ScheduleRun[]): Promise<boolean[]> {
    return this.#tx('markScheduleRun', 'readwrite', ['schedules'], async (ctx) => {
      const valid = validateScheduleRuns(runs, this.#limits);
      const store = ctx.tx.objectStore('schedules');
      const found = await Promise.all(valid.map((r) => store.get(r.name)));
      const current = new Map<string, Schedule | undefined>();
      return valid.map((run, i) => {
        const schedule = current.has(run.name) ? current.get(run.name) : found[i];
        current.set(run.name, schedule);
        if (schedule === undefined || schedule.claimedBy !== run.claimerId) return false;
        schedule.lastRunAt = ctx.now;
        schedule.nextRunAt = run.nextRunAt;
        schedule.claimedBy = null;
        schedule.claimedAt = null;
        this.#put(ctx, 'schedules', { ...schedule });
        ctx.records++;
        return true;
      });
    });
  }

  deleteSchedules(names: readonly string[]): Promise<number> {
    return this.#tx('deleteSchedules', 'readwrite', ['schedules'], async (ctx) => {
      const valid = [...new Set(validateScheduleNames(names, this.#limits))];
      const store = ctx.tx.objectStore('schedules');
      const found = await Promise.all(valid.map((name) => store.getKey(name)));
      let deleted = 0;
      valid.forEach((name, i) => {
        if (found[i] === undefined) return;
        this.#delete(ctx, 'schedules', name);
        ctx.records++;
        deleted++;
      });
      return deleted;
    });
  }

  listSchedules(): Promise<Schedule[]> {
    return this.#tx('listSchedules', 'readonly', ['schedules'], async (ctx) => {
      const all = await ctx.tx.objectStore('schedules').getAll();
      return all.sort((a, b) => compareStrings(a.name, b.name));
    });
  }

  // ---- events ---------------------------------------------------------------------------------

  subscribe(listener: EventListener, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.#tx('subscribe', 'readonly', [], async ({ meta }) => {
      validateListener(listener);
      const { after, kinds } = validateSubscribeOptions(options);
      return this.#events.add(listener, after ?? meta.nextSeq - 1, kinds);
    });
  }

  // ---- maintenance ----------------------------------------------------------------------------

  /** Apply a layout change through an IndexedDB upgrade; retried when another tab changed the version meanwhile. */
  async #changeLayout(change: 'install' | 'uninstall'): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const db = await this.#connection();
      const installation = await readInstallation(db);
      if (change === 'install' && installation.installed && installation.schema === INDEXEDDB_SCHEMA_VERSION)
        return;
      if (change === 'uninstall' && !installation.installed) throw this.#notInstalled('uninstall');
      // Never migrate down: newer code in another tab owns the layout.
      if (change === 'install' && (installation.schema ?? 0) > INDEXEDDB_SCHEMA_VERSION)
        throw this.#outdated(installation.schema!);
      const version = db.version;
      db.close();
      if (this.#db === db) this.#db = null;
      try {
        this.#db = await changeLayout(this.name, version, change, this.#blockedTimeout, {
          onClosed: this.onConnectionClosed,
        });
        return;
      } catch (error) {
        const retry = (error as { details?: { retry?: boolean } }).details?.retry === true;
        if (!retry || attempt >= 3) throw error;
      }
    }
  }

  install(): Promise<void> {
    return this.#env.callAsync('install', () => this.#changeLayout('install'), 'open');
  }

  upgrade(): Promise<void> {
    return this.#env.callAsync(
      'upgrade',
      async () => {
        const installation = await readInstallation(await this.#connection());
        if (!installation.installed) throw this.#notInstalled('upgrade');
        await this.#changeLayout('install');
      },
      'open',
    );
  }

  uninstall(): Promise<void> {
    return this.#env.callAsync('uninstall', () => this.#changeLayout('uninstall'), 'open');
  }

  verify(): Promise<VerifyReport> {
    return this.#env.callAsync(
      'verify',
      async () => {
        const { installed, schema } = await readInstallation(await this.#connection());
        const problems: string[] = [];
        if (!installed) problems.push(`the IndexedDB queue "${this.name}" is not installed: call install()`);
        else if (schema !== INDEXEDDB_SCHEMA_VERSION)
          problems.push(
            `the IndexedDB queue "${this.name}" has schema ${schema}, this code expects ${INDEXEDDB_SCHEMA_VERSION}: ` +
              (schema! < INDEXEDDB_SCHEMA_VERSION
                ? 'call upgrade()'
                : 'reload the page to run the newer code'),
          );
        return {
          installed,
          version: schema,
          expectedVersion: INDEXEDDB_SCHEMA_VERSION,
          current: installed && schema === INDEXEDDB_SCHEMA_VERSION,
          problems,
        };
      },
      'open',
    );
  }

  /** Picked jobs of every entrypoint with heartbeat < cutoff, id ascending. */
  async #stalePicked(ctx: Ctx, cutoff: number): Promise<JobRecord[]> {
    const picked = await ctx.tx.objectStore('jobs').index('picked').getAll();
    return picked.filter((job) => job.heartbeat < cutoff).sort(byId);
  }

  scan(options: { staleAfter: number; retention?: Retention }): Promise<ScanReport> {
    return this.#tx('scan', 'readonly', ['jobs', 'log'], async (ctx) => {
      const { staleAfter, retention } = validateScanOptions(options);
      this.#env.countScan();
      const stale = await this.#stalePicked(ctx, ctx.now - staleAfter);
      // Orphans: records whose index keys disagree with their status.
      const all = await ctx.tx.objectStore('jobs').getAll();
      const orphans = all
        .filter(
          (j) =>
            (j.status !== 'queued' && (j.r !== undefined || j.x !== undefined)) ||
            (j.status === 'queued' && j.r === undefined && j.x === undefined) ||
            (j.status === 'picked') !== (j.p !== undefined) ||
            (j.status === 'failed') !== (j.f !== undefined),
        )
        .map((j) => j.id);
      const pages = await ctx.tx.objectStore('log').getAll();
      const keep = keeps(ctx.meta.logRows, retention, ctx.now);
      let index = 0;
      let beyond = 0;
      for (const page of pages) for (const row of page.rows) if (!keep(row, index++)) beyond++;
      return { stalePicked: stale.map((j) => j.id), orphans, logBeyondRetention: beyond };
    });
  }

  recover(options: { staleAfter: number }): Promise<number[]> {
    return this.#tx('recover', 'readwrite', ['jobs', 'log'], async (ctx) => {
      const { staleAfter } = validateRecoverOptions(options);
      const stale = await this.#stalePicked(ctx, ctx.now - staleAfter);
      for (const job of stale) {
        const holder = job.queueManagerId;
        this.#leave(ctx, job);
        job.status = 'queued';
        job.queueManagerId = null;
        job.updated = ctx.now;
        delete job.p;
        this.#enter(ctx, job);
        this.#record(ctx, job, 'requeued', holder, null);
      }
      ctx.after = () => this.#env.countRecovered(stale.length);
      return stale.map((job) => job.id);
    });
  }

  compact(retention: Retention): Promise<{ removed: number }> {
    return this.#tx('compact', 'readwrite', ['log', 'stats'], async (ctx) => {
      const r = validateCompactOptions(retention);
      const pages = await ctx.tx.objectStore('log').getAll();
      const keep = keeps(ctx.meta.logRows, r, ctx.now);
      let index = 0;
      let removed = 0;
      for (const page of pages) {
        const rows = page.rows.filter((row) => keep(row, index++));
        if (rows.length === page.rows.length) continue;
        removed += page.rows.length - rows.length;
        // Pages are keyed by their last seq: a page that lost its last row moves to a new key.
        const last = rows.at(-1)?.seq;
        if (last !== page.last) this.#delete(ctx, 'log', page.last);
        if (last !== undefined) this.#put(ctx, 'log', { last, first: rows[0]!.seq, rows });
      }
      if (r.maxAge !== undefined) {
        const oldest = ctx.now - r.maxAge;
        const old = await ctx.tx.objectStore('stats').getAllKeys(IDBKeyRange.upperBound([oldest], true));
        for (const key of old) this.#delete(ctx, 'stats', key);
      }
      if (removed > 0) {
        ctx.meta.logRows -= removed;
        ctx.metaDirty = true;
      }
      ctx.after = () => this.#env.countCompaction(removed);
      return { removed };
    });
  }

  metrics(): Promise<RepositoryMetrics> {
    return this.#tx('metrics', 'readonly', [], async () => this.#env.readMetrics());
  }

  resetMetrics(): Promise<void> {
    return this.#tx('resetMetrics', 'readonly', [], async () => this.#env.resetMetrics());
  }

  /** Idempotent: stops event delivery and closes the connection. */
  async close(): Promise<void> {
    if (this.#env.closed) return;
    await this.#env.close(() => {
      this.#db?.close();
      this.#db = null;
    });
    await this.#events.close();
  }
}

/**
 * Open (creating or upgrading when needed) a durable queue in IndexedDB. Several tabs and workers
 * of one origin may open the same `name`: each job is picked by one of them, and subscribers in
 * all of them receive every event (BroadcastChannel, with catch-up from the log).
 *
 * @param options.name the IndexedDB database name
 * @param options.durability 'relaxed' (default) or 'strict' (also survives an OS crash; slower)
 * @example
 * const queue = await createIndexedDbQueue({ name: 'uploads' });
 * await queue.enqueue([{ entrypoint: 'upload', payload: new TextEncoder().encode('{"file":1}') }]);
 */
export async function createIndexedDbQueue(
  options: IndexedDbQueueOptions,
): Promise<IndexedDbQueueRepository> {
  if (
    options === null ||
    typeof options !== 'object' ||
    typeof options.name !== 'string' ||
    options.name === ''
  ) {
    throw new InvalidArgumentError('createIndexedDbQueue needs { name }: the IndexedDB database name');
  }
  if (
    options.durability !== undefined &&
    options.durability !== 'relaxed' &&
    options.durability !== 'strict'
  ) {
    throw new InvalidArgumentError(
      `durability must be 'relaxed' or 'strict', got ${String(options.durability)}`,
    );
  }
  if (options.blockedTimeout !== undefined) validateCount(options.blockedTimeout, 'blockedTimeout');
  if (options.pollInterval !== undefined) validateCount(options.pollInterval, 'pollInterval', 1);
  resolveLimits(options.limits);
  let repo: IndexedDbQueueRepository | undefined;
  const onClosed = () => repo?.onConnectionClosed();
  const db = await openExisting(options.name, { onClosed, installIfNew: true });
  repo = new IndexedDbQueueRepository(db, options);
  try {
    await repo.install();
  } catch (error) {
    await repo.close();
    throw error;
  }
  return repo;
}
