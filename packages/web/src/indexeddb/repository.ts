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
  type DequeueOptions,
  DuplicateJobError,
  type EnqueueOptions,
  type EventListener,
  type FenceOptions,
  InvalidArgumentError,
  type Job,
  type JobEvent,
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
  CallEnvelope,
  type PortMethod,
  resolveLimits,
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
import { changeLayout, openExisting, storageError } from './connection.js';
import { type IndexHints, pickJobs } from './dequeue.js';
import { EventHub } from './events.js';
import {
  type Db,
  INDEXEDDB_SCHEMA_VERSION,
  type JobRecord,
  META_KEY,
  readInstallation,
  STATUS_PAGE_SIZE,
  type StoreName,
} from './schema.js';
import {
  compareStrings,
  copyJob,
  eventKind,
  HELD_STATUS_ORDER,
  HIGH,
  holds,
  keeps,
  STATUS_BY_CODE,
  StoreTx,
  type Tx,
} from './transaction.js';

/** IndexedDB commit durability: `relaxed` survives tab and browser crashes, `strict` also OS crashes and power loss. */
export type Durability = 'relaxed' | 'strict';

/** enqueue's guessed ids were taken by another connection meanwhile (the call runs again). */
class GuessMissed extends Error {}

/** Options of `createIndexedDbQueue`. */
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
  /** The next job id as this repository's last call left it: enqueue's guess (checked in the call). */
  #nextId: number | null = null;
  /** Where dequeue last left each entrypoint's ready index (MetaState.readyFrom, checked in the call). */
  readonly #indexHints: IndexHints = { ready: new Map(), chunks: new Map() };

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
    body: (ctx: StoreTx) => Promise<T>,
    prefetch = false,
  ): Promise<T> {
    return this.#env.callAsync(name, async ({ now }) => {
      // Held jobs live in `jobs` and in `chunks`: a call over one is over both.
      const scope = [
        ...new Set<StoreName>([...stores, 'meta', ...(stores.includes('jobs') ? ['chunks' as const] : [])]),
      ];
      for (let attempt = 0; ; attempt++) {
        const db = await this.#connection();
        if (!scope.every((store) => db.objectStoreNames.contains(store))) {
          // Not installed, or an older layout (stores this code needs are missing): say which.
          const installation = await readInstallation(db);
          throw installation.installed ? this.#outdated(installation.schema!) : this.#notInstalled(name);
        }
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
        const ctx = new StoreTx(tx, now);
        ctx.attempt = attempt;
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
            await ctx.finish();
            // Every write is issued: start the commit now instead of after the next task.
            tx.commit();
          }
        } catch (error) {
          try {
            tx.abort();
          } catch {
            // already finished or aborted
          }
          // enqueue wrote with ids another tab took meanwhile: all of it rolled back, do it again.
          if (error instanceof GuessMissed && attempt < 3) {
            this.#nextId = null;
            continue;
          }
          throw storageError(error, `${name}() on the IndexedDB queue "${this.name}"`);
        }
        try {
          await done;
        } catch (error) {
          throw storageError(error, `${name}() on the IndexedDB queue "${this.name}"`);
        }
        if (ctx.meta !== undefined) this.#nextId = ctx.meta.nextId;
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
        const { now } = ctx;
        const newJob = (input: (typeof valid)[number], id: number): Job => ({
          id,
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
        });
        const guess = keys.length === 0 && ctx.attempt === 0 ? this.#nextId : null;
        // Fresh: enqueued now without an executeAfter (see JobRecord.x).
        const fresh = (i: number) => valid[i]!.executeAfter === null;
        if (guess !== null) {
          // No dedupe keys: nothing to read first. Put the records now, with the ids the counters
          // had after this repository's last call, while the counters read is in flight; if another
          // tab or worker took ids meanwhile, the call aborts (nothing written) and runs again.
          const stored = valid.map((input, i) => newJob(input, guess + i));
          const freshness = stored.map((_, i) => fresh(i));
          ctx.storeNew(stored, freshness);
          const meta = await ctx.metaReady;
          if (meta.nextId !== guess) throw new GuessMissed();
          meta.nextId += stored.length;
          return stored.map((job, i) => {
            ctx.enter(job, freshness[i], true);
            ctx.record(job, 'enqueued', null, null);
            ctx.stored.push(job);
            return job.id;
          });
        }
        const index = ctx.tx.objectStore('jobs').index('dedupe');
        const [holders, meta] = await Promise.all([
          Promise.all(keys.map((k) => index.getKey(k))),
          ctx.metaReady,
        ]);
        const held = new Set(keys.filter((_, i) => holders[i] !== undefined));
        if (onConflict === 'raise' && held.size > 0) throw new DuplicateJobError([...held]);
        const created: Job[] = [];
        const freshness: boolean[] = [];
        const ids = valid.map((input, i) => {
          // With 'skip', a key held by the store or by an earlier job of this batch leaves this position out.
          if (input.dedupeKey !== null) {
            if (held.has(input.dedupeKey)) return null;
            held.add(input.dedupeKey);
          }
          const job = newJob(input, meta.nextId++);
          created.push(job);
          freshness.push(fresh(i));
          return job.id;
        });
        ctx.storeNew(created, freshness);
        created.forEach((job, i) => {
          ctx.enter(job, freshness[i], true);
          ctx.record(job, 'enqueued', null, null);
          ctx.stored.push(job);
        });
        return ids;
      },
      true,
    );
  }

  // ---- consuming ------------------------------------------------------------------------------

  dequeue(options: DequeueOptions): Promise<Job[]> {
    return this.#tx(
      'dequeue',
      'readwrite',
      ['jobs', 'log', 'stats', 'leases'],
      (ctx) => pickJobs(ctx, validateDequeueOptions(options, this.#limits), this.#indexHints),
      true,
    );
  }

  complete(results: readonly CompletionResult[], options?: FenceOptions): Promise<boolean[]> {
    return this.#tx(
      'complete',
      'readwrite',
      ['jobs', 'log', 'stats', 'statuses', 'leases'],
      async (ctx) => {
        const valid = validateCompletionResults(results, this.#limits);
        const fence = validateFenceOptions(options);
        const ids = valid.map((r) => r.id);
        ctx.prefetchPages(ids);
        // One round trip: counters, leases, status pages, the held ids around the batch and the
        // chunks holding it. A picked job finishing in a terminal status needs nothing else (its
        // lease says entrypoint, priority, holder and chunk); records are read only for the others,
        // and chunks only when one of them is not where the ids said (a second round trip).
        await Promise.all([ctx.loadLeases(), ctx.metaReady, ctx.readIdRange(ids), ctx.readChunks(ids)]);
        await ctx.loadChunks(valid.flatMap((r) => ctx.leaseOf(r.id)?.[1].k ?? []));
        const needRecord = valid.filter((r) => ctx.leaseOf(r.id) === undefined || r.status === 'failed');
        const records = new Map<number, JobRecord | undefined>();
        if (needRecord.length > 0) {
          const read = await ctx.getJobs(needRecord.map((r) => r.id));
          needRecord.forEach((r, i) => {
            records.set(r.id, read[i]);
          });
        }
        const done = new Set<number>();
        return valid.map(({ id, status, error }) => {
          const job = records.has(id) ? records.get(id) : ctx.leasedJob(id);
          // Failed jobs and ids finished earlier in this call are no longer queued or picked.
          if (job === undefined || done.has(id) || (job.status !== 'queued' && job.status !== 'picked'))
            return false;
          if (!holds(job, fence)) return false;
          done.add(id);
          const holder = job.queueManagerId;
          ctx.leave(job);
          job.status = status;
          job.updated = ctx.now;
          job.queueManagerId = null;
          if (status === 'failed') job.lastError = error;
          ctx.enter(job);
          ctx.record(job, eventKind(status), holder, error);
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
      ['jobs', 'log', 'leases'],
      async (ctx) => {
        const valid = validateRetryRequests(requests, this.#limits);
        const fence = validateFenceOptions(options);
        const [found] = await Promise.all([ctx.getJobs(valid.map((r) => r.id)), ctx.metaReady]);
        const seen = new Set<number>();
        return valid.map(({ id, executeAfter, error }, i) => {
          const job = found[i];
          if (job === undefined || seen.has(id) || job.status !== 'picked' || !holds(job, fence))
            return false;
          seen.add(id);
          const holder = job.queueManagerId;
          ctx.leave(job);
          job.status = 'queued';
          job.executeAfter = executeAfter;
          job.lastError = error;
          job.queueManagerId = null;
          job.updated = ctx.now;
          ctx.enter(job);
          ctx.record(job, 'retried', holder, error);
          return true;
        });
      },
      true,
    );
  }

  requeue(ids: readonly number[]): Promise<boolean[]> {
    return this.#tx('requeue', 'readwrite', ['jobs', 'log', 'leases'], async (ctx) => {
      const valid = validateIds(ids, this.#limits);
      const found = await ctx.getJobs(valid);
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
        ctx.leave(job);
        job.status = 'queued';
        job.attempts = 0;
        job.executeAfter = ctx.now;
        job.updated = ctx.now;
        job.queueManagerId = null;
        ctx.enter(job);
        ctx.record(job, 'requeued', null, null);
        return true;
      });
    });
  }

  heartbeat(ids: readonly number[], options?: FenceOptions): Promise<boolean[]> {
    return this.#tx(
      'heartbeat',
      'readwrite',
      ['leases'],
      async (ctx) => {
        const valid = validateIds(ids, this.#limits);
        const fence = validateFenceOptions(options);
        // Only picked jobs count, and their leases say all a heartbeat changes: no job record is read.
        await Promise.all([ctx.loadLeases(), ctx.metaReady]);
        const seen = new Set<number>();
        return valid.map((id) => {
          const job = seen.has(id) ? undefined : ctx.leasedJob(id);
          if (job === undefined || !holds(job, fence)) return false;
          seen.add(id);
          ctx.records++;
          ctx.refresh(job);
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
      ['jobs', 'log', 'stats', 'statuses', 'leases'],
      async (ctx) => {
        const valid = validateIds(ids, this.#limits);
        ctx.prefetchPages(valid);
        const [found] = await Promise.all([ctx.getJobs(valid), ctx.metaReady]);
        const gone = new Set<number>();
        return valid.map((id, i) => {
          const job = found[i];
          if (job === undefined || gone.has(id)) return false;
          gone.add(id);
          ctx.remove(job, 'canceled');
          return true;
        });
      },
      true,
    );
  }

  clear(entrypoints?: readonly string[]): Promise<number> {
    return this.#tx('clear', 'readwrite', ['jobs', 'log', 'stats', 'statuses', 'leases'], async (ctx) => {
      const only = entrypoints === undefined ? undefined : new Set(validateEntrypoints(entrypoints));
      const [all, chunks] = await Promise.all([
        ctx.tx.objectStore('jobs').getAll(),
        ctx.tx.objectStore('chunks').getAll(),
        ctx.loadLeases(),
      ]);
      ctx.scanned(all);
      const doomed = [...all, ...chunks.flatMap((chunk) => ctx.register(chunk))]
        .filter((job) => only === undefined || only.has(job.entrypoint))
        .sort((a, b) => a.id - b.id)
        .map((job) => ctx.overlay(job));
      for (const job of doomed) ctx.remove(job, 'deleted');
      return doomed.length;
    });
  }

  // ---- reads ----------------------------------------------------------------------------------

  jobStatus(ids: readonly number[]): Promise<(JobStatus | null)[]> {
    return this.#tx('jobStatus', 'readonly', ['jobs', 'statuses', 'leases'], async (ctx) => {
      const valid = validateIds(ids, this.#limits);
      const found = await ctx.getJobs(valid);
      const pageNos = [
        ...new Set(
          valid
            .filter(
              (id, i) => found[i] === undefined && id < ctx.meta.nextId && id >= (ctx.meta.statusBase ?? 1),
            )
            .map((id) => Math.floor(id / STATUS_PAGE_SIZE)),
        ),
      ];
      const store = ctx.tx.objectStore('statuses');
      const pages = new Map(await Promise.all(pageNos.map(async (p) => [p, await store.get(p)] as const)));
      return valid.map((id, i) => {
        const job = found[i];
        if (job !== undefined) return job.status;
        if (id >= ctx.meta.nextId || id < (ctx.meta.statusBase ?? 1)) return null;
        const page = pages.get(Math.floor(id / STATUS_PAGE_SIZE));
        return STATUS_BY_CODE[page?.[id % STATUS_PAGE_SIZE] ?? 0] ?? null;
      });
    });
  }

  getJobs(ids: readonly number[]): Promise<(Job | null)[]> {
    return this.#tx(
      'getJobs',
      'readonly',
      ['jobs', 'leases'],
      async (ctx) => {
        const valid = validateIds(ids, this.#limits);
        const [found] = await Promise.all([ctx.getJobs(valid), ctx.metaReady]);
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
    return this.#tx('nextDueAt', 'readonly', ['jobs', 'leases'], async (ctx) => {
      const names = new Set(validateEntrypoints(entrypoints));
      const jobs = ctx.tx.objectStore('jobs');
      // Picked jobs keep their queued record (and its index keys) under their lease: pass them over.
      const leased = await ctx.loadLeases();
      let earliest: number | null = null;
      const consider = (at: number | undefined) => {
        if (at !== undefined && (earliest === null || at < earliest)) earliest = at;
      };
      for (const name of names) {
        // Jobs with a chosen time: the timed index is ordered by it.
        let timed = await jobs.index('timed').openKeyCursor(IDBKeyRange.bound([name], [name, HIGH]));
        while (timed !== null && leased.has(timed.primaryKey)) timed = await timed.continue();
        consider(timed?.key[1]);
        // Fresh jobs: within a priority the first one (lowest id) has the earliest time.
        for (const [key, count] of ctx.meta.sizes) {
          const [entrypoint, status, priority] = key.split('\0');
          if (entrypoint !== name || status !== 'queued' || count === 0) continue;
          const range = IDBKeyRange.bound([name, -Number(priority)], [name, -Number(priority), HIGH]);
          let cursor = await jobs.index('ready').openCursor(range);
          while (cursor !== null && (cursor.value.x !== undefined || leased.has(cursor.value.id)))
            cursor = await cursor.continue();
          consider(cursor?.value.executeAfter);
          // Chunks hold fresh jobs only, all at their chunk's time: the first with a job not leased.
          let chunk = await ctx.tx.objectStore('chunks').index('ready').openCursor(range);
          while (chunk?.value.ids.every((id) => leased.has(id))) chunk = await chunk.continue();
          consider(chunk?.value.t);
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
        ctx.put('schedules', schedule);
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
        ctx.put('schedules', schedule);
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
        ctx.put('schedules', { ...schedule });
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
        ctx.delete('schedules', name);
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

  /** Ids of picked jobs of every entrypoint with heartbeat < cutoff, ascending. */
  async #stalePicked(ctx: StoreTx, cutoff: number): Promise<number[]> {
    const leased = await ctx.loadLeases();
    const ids: number[] = [];
    for (const [id, [lease]] of leased) if (lease.h < cutoff) ids.push(id);
    return ids.sort((a, b) => a - b);
  }

  scan(options: { staleAfter: number; retention?: Retention }): Promise<ScanReport> {
    return this.#tx('scan', 'readonly', ['jobs', 'log', 'leases'], async (ctx) => {
      const { staleAfter, retention } = validateScanOptions(options);
      this.#env.countScan();
      const stale = await this.#stalePicked(ctx, ctx.now - staleAfter);
      // Orphans: records whose index keys disagree with their status, leases of jobs that are gone.
      const [all, chunks] = await Promise.all([
        ctx.tx.objectStore('jobs').getAll(),
        ctx.tx.objectStore('chunks').getAll(),
      ]);
      const stored = new Set([...all.map((j) => j.id), ...chunks.flatMap((chunk) => chunk.ids)]);
      const orphans = all
        .filter(
          (j) =>
            (j.status !== 'queued' && (j.r !== undefined || j.x !== undefined)) ||
            (j.status === 'queued' && j.r === undefined && j.x === undefined) ||
            (j.status !== 'queued' && j.status !== 'failed') ||
            (j.status === 'failed') !== (j.f !== undefined),
        )
        .map((j) => j.id);
      for (const id of ctx.leased().keys()) if (!stored.has(id)) orphans.push(id);
      orphans.sort((a, b) => a - b);
      const pages = await ctx.tx.objectStore('log').getAll();
      const keep = keeps(ctx.meta.logRows, retention, ctx.now);
      let index = 0;
      let beyond = 0;
      for (const page of pages) for (const row of page.rows) if (!keep(row, index++)) beyond++;
      return { stalePicked: stale, orphans, logBeyondRetention: beyond };
    });
  }

  recover(options: { staleAfter: number }): Promise<number[]> {
    return this.#tx('recover', 'readwrite', ['jobs', 'log', 'leases'], async (ctx) => {
      const { staleAfter } = validateRecoverOptions(options);
      const staleIds = await this.#stalePicked(ctx, ctx.now - staleAfter);
      const stale = (await ctx.getJobs(staleIds)).filter((job) => job !== undefined);
      for (const job of stale) {
        const holder = job.queueManagerId;
        ctx.leave(job);
        job.status = 'queued';
        job.queueManagerId = null;
        job.updated = ctx.now;
        ctx.enter(job);
        ctx.record(job, 'requeued', holder, null);
      }
      ctx.after = () => this.#env.countRecovered(stale.length);
      return stale.map((job) => job.id);
    });
  }

  compact(retention: Retention): Promise<{ removed: number }> {
    return this.#tx('compact', 'readwrite', ['log', 'stats', 'jobs', 'statuses'], async (ctx) => {
      const r = validateCompactOptions(retention);
      // The oldest held job of each store, read with the log: the status horizon below needs them.
      const [pages, firstJob, firstChunk] = await Promise.all([
        ctx.tx.objectStore('log').getAll(),
        ctx.tx.objectStore('jobs').getAllKeys(undefined, 1),
        ctx.tx.objectStore('chunks').getAll(undefined, 1),
      ]);
      const keep = keeps(ctx.meta.logRows, r, ctx.now);
      let index = 0;
      let removed = 0;
      let horizon = ctx.meta.nextId;
      for (const id of [...firstJob, ...firstChunk.map((chunk) => chunk.ids[0]!)])
        horizon = Math.min(horizon, id);
      for (const page of pages) {
        const rows = page.rows.filter((row) => keep(row, index++));
        for (const row of rows) horizon = Math.min(horizon, row.jobId);
        if (rows.length === page.rows.length) continue;
        removed += page.rows.length - rows.length;
        // Pages are keyed by their last seq: a page that lost its last row moves to a new key.
        const last = rows.at(-1)?.seq;
        if (last !== page.last) ctx.delete('log', page.last);
        if (last !== undefined) ctx.put('log', { last, first: rows[0]!.seq, rows });
      }
      if (r.maxAge !== undefined) {
        const oldest = ctx.now - r.maxAge;
        const old = await ctx.tx.objectStore('stats').getAllKeys(IDBKeyRange.upperBound([oldest], true));
        for (const key of old) ctx.delete('stats', key);
      }
      if (removed > 0) {
        ctx.meta.logRows -= removed;
        ctx.metaDirty = true;
        // Ids older than every retained row's job and every held job have nothing left to answer
        // from: forget their statuses (jobStatus null), so the status pages stay bounded too.
        if (horizon > (ctx.meta.statusBase ?? 1)) {
          ctx.meta.statusBase = horizon;
          const firstKept = Math.floor(horizon / STATUS_PAGE_SIZE);
          if (firstKept > 0) ctx.delete('statuses', IDBKeyRange.upperBound(firstKept, true));
        }
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
