/**
 * The QueueRepository on PostgreSQL, over any SqlDriver. Every port method validates its input
 * with the shared validators, reads the clock once, and runs ONE statement (SQL in
 * sql/queries/*.sql): atomic on its own, so it works over one-shot HTTP queries, and time is
 * the injected clock's (passed as a parameter, never now()).
 */
import {
  type ClaimOptions,
  type Clock,
  type CompletionResult,
  type DequeueOptions,
  DriverMisconfiguredError,
  DuplicateJobError,
  type EnqueueOptions,
  type EventListener,
  type FenceOptions,
  InvalidArgumentError,
  type Job,
  type JobEvent,
  type JobEventKind,
  type JobStatus,
  type Limits,
  type NewJob,
  type QueueRepository,
  type QueueSizeRow,
  type RepositoryMetrics,
  type Retention,
  type RetryRequest,
  type ScanReport,
  type Schedule,
  type ScheduleInput,
  type ScheduleRun,
  type StatisticsRow,
  StorageUnavailableError,
  type SubscribeOptions,
  TideqError,
  type Unsubscribe,
  type VerifyReport,
} from '@tideq/core';
import {
  CallEnvelope,
  DEFAULT_LIMITS,
  LogFollower,
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
import { packPayloads, toBytes } from './bytea.js';
import type { SqlDriver, Unlisten } from './driver.js';
import { isStorageUnavailable } from './errors.js';
import * as migrate from './migrate.js';
import { isMissingObject, notInstalledError, outdatedError, pgCode } from './migrate.js';
import { type RenderedQueries, renderQueries, resolveSchemaConfig, type SchemaConfig } from './sql.js';

/** Options of `createPostgresQueue`. */
export interface PostgresQueueOptions {
  /** How statements reach the server: `pgPoolDriver(pool)`, `neonHttpDriver(sql)`, ... */
  driver: SqlDriver;
  /** Time source (default: the system clock). Every call reads it once. */
  clock?: Clock;
  /** Schema of the tables (default 'tideq'). */
  schema?: string;
  /** Prefix of table, index and function names (default ''). */
  tablePrefix?: string;
  /** NOTIFY/LISTEN channel (default `tideq_<schema>[_<prefix>]`, at most 63 bytes). */
  channel?: string;
  /**
   * Wake subscribers with LISTEN/NOTIFY (default: when the driver holds a session). `true` on a
   * driver without one (HTTP) is a DriverMisconfiguredError; `false` polls.
   */
  listen?: boolean;
  /** How often subscribers poll the log when not listening, ms (default 250). */
  pollInterval?: number;
  /** Input limits (default DEFAULT_LIMITS). */
  limits?: Partial<Limits>;
}

const STATUS_ORDER: Record<string, number> = { queued: 0, picked: 1, failed: 2 };
const jsonOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);
const parseOrNull = <T>(value: unknown): T | null =>
  value === null || value === undefined ? null : (JSON.parse(String(value)) as T);
const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

function toJob(r: Record<string, unknown>): Job {
  return {
    id: num(r.id),
    entrypoint: String(r.entrypoint),
    payload: toBytes(r.payload),
    priority: num(r.priority),
    executeAfter: num(r.execute_after),
    dedupeKey: parseOrNull<string>(r.dedupe_key),
    headers: parseOrNull(r.headers),
    status: r.status as JobStatus,
    attempts: num(r.attempts),
    heartbeat: num(r.heartbeat),
    created: num(r.created),
    updated: num(r.updated),
    queueManagerId: (r.queue_manager_id as string | null) ?? null,
    lastError: parseOrNull<string>(r.last_error),
  };
}

function toEvent(r: Record<string, unknown>): JobEvent {
  return {
    seq: num(r.seq),
    kind: r.kind as JobEventKind,
    jobId: num(r.job_id),
    entrypoint: String(r.entrypoint),
    priority: num(r.priority),
    status: r.status as JobStatus,
    at: num(r.at),
    queueManagerId: (r.queue_manager_id as string | null) ?? null,
    error: parseOrNull<string>(r.error),
  };
}

function toSchedule(r: Record<string, unknown>): Schedule {
  return {
    name: String(r.name),
    entrypoint: String(r.entrypoint),
    expression: String(r.expression),
    timezone: (r.timezone as string | null) ?? null,
    nextRunAt: num(r.next_run_at),
    lastRunAt: numOrNull(r.last_run_at),
    claimedBy: (r.claimed_by as string | null) ?? null,
    claimedAt: numOrNull(r.claimed_at),
  };
}

/** 64-bit FNV-1a of the statement text, as hex: names its prepared statement. */
function fnv1a(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16);
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Per id, true at its first position where `hit` holds, false at repeats. */
function firstHits(ids: readonly number[], hit: (id: number) => boolean): boolean[] {
  const seen = new Set<number>();
  return ids.map((id) => {
    if (seen.has(id)) return false;
    seen.add(id);
    return hit(id);
  });
}

/** `"kind"`: how a kind appears in a NOTIFY's JSON text, to skip payloads without a wanted kind unparsed. */
const QUOTED_KIND = (kind: JobEventKind): string => `"${kind}"`;

/** Event kind of a completion's log row. */
const completionKind = (status: CompletionResult['status']): JobEventKind =>
  status === 'failed' ? 'failed' : status === 'canceled' ? 'cancelled' : 'completed';

export class PostgresQueueRepository implements QueueRepository {
  readonly config: SchemaConfig;
  readonly channel: string;
  readonly #driver: SqlDriver;
  readonly #limits: Limits;
  readonly #q: RenderedQueries;
  readonly #listen: boolean;
  readonly #pollInterval: number;
  #ready: Promise<void> | null = null;
  #subs = new Set<LogFollower>();
  #unlisten: Promise<Unlisten | null> | null = null;
  #pollTimer: ReturnType<typeof setInterval> | null = null;
  readonly #env: CallEnvelope;
  #names = new Map<string, string>();
  #finishChain: Promise<unknown> = Promise.resolve();

  constructor(options: PostgresQueueOptions) {
    if (options === null || typeof options !== 'object' || options.driver === undefined) {
      throw new InvalidArgumentError(
        'createPostgresQueue needs { driver } (e.g. pgPoolDriver(pool) or neonHttpDriver(neon(url)))',
      );
    }
    this.config = resolveSchemaConfig(options);
    this.#driver = options.driver;
    this.#env = new CallEnvelope({
      store: 'the PostgreSQL queue',
      clock: options.clock,
      ready: () => this.#ensureReady(),
      mapError: (error) => this.#mapError(error),
    });
    this.#limits = resolveLimits({ ...DEFAULT_LIMITS, ...options.limits });
    this.#q = renderQueries(this.config);
    this.channel =
      options.channel ??
      `tideq_${this.config.schema}${this.config.tablePrefix === '' ? '' : `_${this.config.tablePrefix}`}`;
    if (
      typeof this.channel !== 'string' ||
      this.channel.length === 0 ||
      // NUL cannot be sent to the server: caught here, not as a failure of every later write.
      this.channel.includes('\u0000') ||
      new TextEncoder().encode(this.channel).length > 63
    ) {
      throw new InvalidArgumentError(
        `channel must be 1..63 bytes without NUL (a Postgres identifier), got ${JSON.stringify(this.channel)}`,
        {
          field: 'channel',
        },
      );
    }
    if (options.listen === true && this.#driver.listen === undefined) {
      throw new DriverMisconfiguredError(
        `listen: true needs a driver that holds a session, and the ${this.#driver.name} has none (LISTEN over HTTP ` +
          'cannot receive notifications): use a Neon WebSocket Pool/Client or node-postgres for subscribers, or leave listen unset to poll',
      );
    }
    this.#listen = options.listen ?? this.#driver.listen !== undefined;
    this.#pollInterval =
      options.pollInterval === undefined
        ? 250
        : validateCount(options.pollInterval, 'pollInterval', 1, 3_600_000);
  }

  // ---- plumbing -------------------------------------------------------------------------------

  async #run(text: string, params: readonly unknown[]): Promise<Record<string, unknown>[]> {
    // Prepared once per connection: planning these CTE statements costs more than running them.
    let name = this.#names.get(text);
    if (name === undefined) {
      name = `tideq_${fnv1a(text)}`;
      this.#names.set(text, name);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.#driver.query(text, params, { name })).rows;
      } catch (error) {
        // A deadlock or serialization failure rolled the statement back: safe to run again.
        const code = pgCode(error);
        if ((code === '40P01' || code === '40001') && attempt < 3) continue;
        throw error;
      }
    }
  }

  /** Checked once per repository: the driver's configuration, then the installed schema version. */
  #ensureReady(): Promise<void> {
    if (this.#ready === null) {
      const ready = (async () => {
        await this.#driver.check?.();
        const report = await migrate.verify(this.#driver, this.config);
        if (!report.installed) throw notInstalledError(this.config);
        if (report.version !== report.expectedVersion) throw outdatedError(this.config, report.version ?? 0);
      })();
      this.#ready = ready;
      ready.catch(() => {
        if (this.#ready === ready) this.#ready = null;
      });
    }
    return this.#ready;
  }

  #mapError(error: unknown): unknown {
    if (error instanceof TideqError) return error;
    if (isMissingObject(error)) {
      this.#ready = null;
      return notInstalledError(this.config, error);
    }
    // Only an outage (errors.ts decides) is STORAGE_UNAVAILABLE; a bug surfaces as what it is.
    if (isStorageUnavailable(error)) {
      const message = error instanceof Error ? error.message : String(error);
      return new StorageUnavailableError(
        `PostgreSQL is unreachable through the ${this.#driver.name}: ${message}`,
        {
          cause: error,
        },
      );
    }
    return error;
  }

  /** The kit's envelope: closed and installed gates, one clock read (`now`), metrics, error mapping. */
  #op<T>(
    name: PortMethod,
    fn: (now: number) => Promise<T>,
    options: { needsInstall?: boolean } = {},
  ): Promise<T> {
    return this.#env.callAsync(
      name,
      (tx) => fn(tx.now),
      options.needsInstall === false ? 'open' : 'installed',
    );
  }

  /**
   * complete, cancel, retry, requeue and clear of one repository apply in call order (session
   * order), as on a single-threaded store: otherwise a pooled driver may commit a later
   * complete(failed) before an earlier cancel, and the cancel then finds a dead letter. The
   * runtime issues these from one loop, so the chain costs it nothing.
   */
  #finishing<T>(run: () => Promise<T>): Promise<T> {
    const result = this.#finishChain.then(run, run);
    this.#finishChain = result.catch(() => undefined);
    return result;
  }

  /** After `rows` log rows of `kind` committed: count them; wake polling subscribers at once (listening ones get the NOTIFY). */
  #wrote(kind: JobEventKind, rows: number): void {
    this.#env.countEvents(kind, rows);
    if (rows > 0 && !this.#listen && this.#subs.size > 0) {
      setTimeout(() => {
        for (const sub of this.#subs) sub.wake();
      }, 0);
    }
  }

  // ---- producing ------------------------------------------------------------------------------

  enqueue(jobs: readonly NewJob[], options: EnqueueOptions = {}): Promise<(number | null)[]> {
    return this.#op('enqueue', async (now) => {
      const { onConflict } = validateEnqueueOptions(options);
      const valid = validateNewJobs(jobs, this.#limits, onConflict);
      if (valid.length === 0) return [];
      // Payload bytes as one binary parameter ($10), never as per-byte hex text (bytea.ts).
      const payloads = packPayloads(valid.map((j) => j.payload));
      const params = [
        valid.map((j) => j.entrypoint),
        payloads.lengths,
        valid.map((j) => j.priority),
        valid.map((j) => j.executeAfter),
        valid.map((j) => jsonOrNull(j.dedupeKey)),
        valid.map((j) => jsonOrNull(j.headers)),
        now,
        onConflict === 'skip',
        this.channel,
        payloads.blob,
      ];
      for (let attempt = 0; ; attempt++) {
        let rows: Record<string, unknown>[];
        try {
          rows = await this.#run(this.#q.enqueue, params);
        } catch (error) {
          // A concurrent enqueue took a key between our check and our insert: run again, the
          // check then sees it.
          if (pgCode(error) === '23505' && attempt < 3) continue;
          throw error;
        }
        const conflicts = rows.filter((r) => r.conflict === true);
        if (onConflict === 'raise' && conflicts.length > 0) {
          const keys = [...new Set(conflicts.map((r) => JSON.parse(String(r.dk)) as string))];
          throw new DuplicateJobError(keys);
        }
        const ids = rows.map((r) => numOrNull(r.id));
        const stored = ids.filter((id) => id !== null).length;
        valid.forEach((j, i) => {
          if (ids[i] !== null) this.#env.countStoredJob(j);
        });
        this.#wrote('enqueued', stored);
        return ids;
      }
    });
  }

  // ---- consuming ------------------------------------------------------------------------------

  dequeue(options: DequeueOptions): Promise<Job[]> {
    return this.#op('dequeue', async (now) => {
      const o = validateDequeueOptions(options, this.#limits);
      const eps = [...o.entrypoints.keys()];
      const lim = [...o.entrypoints.values()];
      const rows = await this.#run(this.#q.dequeue, [
        now,
        o.batchSize,
        o.queueManagerId,
        o.maxOwned,
        eps,
        lim.map((l) => l.concurrencyLimit),
        lim.map((l) => l.requestsPerSecond),
        lim.map((l) => l.retryTimer),
        lim.map((l) => l.maxAttempts),
        this.channel,
      ]);
      // Jobs its step 2 moved to `failed` (worker lost) are not returned, so not counted here.
      this.#wrote('picked', rows.length);
      // The function returns its picks as its UPDATE wrote them (migration 5): pick order is
      // priority descending, then id.
      return rows.map(toJob).sort((a, b) => b.priority - a.priority || a.id - b.id);
    });
  }

  complete(results: readonly CompletionResult[], options?: FenceOptions): Promise<boolean[]> {
    return this.#finishing(() =>
      this.#op('complete', async (now) => {
        const valid = validateCompletionResults(results, this.#limits);
        const fence = validateFenceOptions(options);
        const ids = valid.map((r) => r.id);
        const statuses = valid.map((r) => r.status);
        const errors = valid.map((r) => jsonOrNull(r.error));
        if (ids.length === 0) return [];
        const rows = await this.#run(this.#q.complete, [ids, statuses, errors, now, this.channel, fence]);
        const out = rows.map((r) => r.ok === true);
        out.forEach((ok, i) => {
          if (ok) this.#wrote(completionKind(statuses[i]!), 1);
        });
        return out;
      }),
    );
  }

  retry(requests: readonly RetryRequest[], options?: FenceOptions): Promise<boolean[]> {
    return this.#finishing(() =>
      this.#op('retry', async (now) => {
        const valid = validateRetryRequests(requests, this.#limits);
        const fence = validateFenceOptions(options);
        const ids = valid.map((r) => r.id);
        const at = valid.map((r) => r.executeAfter);
        const errors = valid.map((r) => jsonOrNull(r.error));
        if (ids.length === 0) return [];
        const rows = await this.#run(this.#q.retry, [ids, at, errors, now, this.channel, fence]);
        const out = rows.map((r) => r.ok === true);
        this.#wrote('retried', out.filter(Boolean).length);
        return out;
      }),
    );
  }

  requeue(ids: readonly number[]): Promise<boolean[]> {
    return this.#finishing(() =>
      this.#op('requeue', async (now) => {
        const valid = validateIds(ids, this.#limits);
        if (valid.length === 0) return [];
        const rows = await this.#run(this.#q.requeue, [valid, now, this.channel]);
        const conflicts = parseOrNull<string[]>(rows[0]?.conflicts);
        if (conflicts !== null && conflicts.length > 0) {
          throw new DuplicateJobError(
            conflicts.map((k) => JSON.parse(k) as string),
            undefined,
          );
        }
        const out = rows.map((r) => r.ok === true);
        this.#wrote('requeued', out.filter(Boolean).length);
        return out;
      }),
    );
  }

  heartbeat(ids: readonly number[], options?: FenceOptions): Promise<boolean[]> {
    return this.#op('heartbeat', async (now) => {
      const valid = validateIds(ids, this.#limits);
      const fence = validateFenceOptions(options);
      if (valid.length === 0) return [];
      const rows = await this.#run(this.#q.heartbeat, [[...new Set(valid)], now, fence]);
      const hit = new Set(rows.map((r) => num(r.id)));
      this.#env.countRecords(hit.size);
      return firstHits(valid, (id) => hit.has(id));
    });
  }

  cancel(ids: readonly number[]): Promise<boolean[]> {
    return this.#finishing(() =>
      this.#op('cancel', async (now) => {
        const valid = validateIds(ids, this.#limits);
        if (valid.length === 0) return [];
        const rows = await this.#run(this.#q.cancel, [valid, now, this.channel]);
        const out = rows.map((r) => r.ok === true);
        this.#wrote('cancelled', out.filter(Boolean).length);
        return out;
      }),
    );
  }

  clear(entrypoints?: readonly string[]): Promise<number> {
    return this.#finishing(() =>
      this.#op('clear', async (now) => {
        const eps = entrypoints === undefined ? null : validateEntrypoints(entrypoints);
        const rows = await this.#run(this.#q.clear, [eps, now, this.channel]);
        const cleared = num(rows[0]?.cleared ?? 0);
        this.#wrote('completed', cleared);
        return cleared;
      }),
    );
  }

  // ---- reads ----------------------------------------------------------------------------------

  jobStatus(ids: readonly number[]): Promise<(JobStatus | null)[]> {
    return this.#op('jobStatus', async () => {
      const valid = validateIds(ids, this.#limits);
      if (valid.length === 0) return [];
      const rows = await this.#run(this.#q.jobStatus, [valid]);
      return rows.map((r) => (r.status as JobStatus | null) ?? null);
    });
  }

  getJobs(ids: readonly number[]): Promise<(Job | null)[]> {
    return this.#op('getJobs', async () => {
      const valid = validateIds(ids, this.#limits);
      if (valid.length === 0) return [];
      const rows = await this.#run(this.#q.getJobs, [[...new Set(valid)]]);
      const byId = new Map(rows.map((r) => [num(r.id), r]));
      return valid.map((id) => {
        const r = byId.get(id);
        return r === undefined ? null : toJob(r);
      });
    });
  }

  queueSize(): Promise<QueueSizeRow[]> {
    return this.#op('queueSize', async () => {
      const rows = await this.#run(this.#q.queueSize, []);
      return rows
        .map((r) => ({
          entrypoint: String(r.entrypoint),
          status: r.status as QueueSizeRow['status'],
          priority: num(r.priority),
          count: num(r.count),
        }))
        .sort(
          (a, b) =>
            byString(a.entrypoint, b.entrypoint) ||
            STATUS_ORDER[a.status]! - STATUS_ORDER[b.status]! ||
            b.priority - a.priority,
        );
    });
  }

  failedJobs(options: { limit?: number; after?: number } = {}): Promise<Job[]> {
    return this.#op('failedJobs', async () => {
      const { after, limit } = validatePage(options, 'failedJobs options', 100);
      const rows = await this.#run(this.#q.failedJobs, [after, limit]);
      return rows.map(toJob);
    });
  }

  log(options: { after?: number; limit?: number } = {}): Promise<JobEvent[]> {
    return this.#op('log', async () => {
      const { after, limit } = validatePage(options, 'log options', 1000);
      return this.#readLog(after, limit);
    });
  }

  /** The subscribers' read (no metrics, no install check: errors retry on the next wake). */
  async #readLog(after: number, limit: number): Promise<JobEvent[]> {
    const rows = await this.#run(this.#q.log, [after, limit]);
    return rows.map(toEvent);
  }

  statistics(options: { since?: number; limit?: number } = {}): Promise<StatisticsRow[]> {
    return this.#op('statistics', async () => {
      const { since, limit } = validateStatisticsOptions(options);
      const rows = await this.#run(this.#q.statistics, [Math.max(since, Number.MIN_SAFE_INTEGER), limit]);
      return rows
        .map((r) => ({
          entrypoint: String(r.entrypoint),
          status: r.status as StatisticsRow['status'],
          priority: num(r.priority),
          second: num(r.second),
          count: num(r.count),
        }))
        .sort(
          (a, b) =>
            b.second - a.second ||
            byString(a.entrypoint, b.entrypoint) ||
            byString(a.status, b.status) ||
            b.priority - a.priority,
        );
    });
  }

  nextDueAt(entrypoints: readonly string[]): Promise<number | null> {
    return this.#op('nextDueAt', async () => {
      const eps = validateEntrypoints(entrypoints);
      if (eps.length === 0) return null;
      const rows = await this.#run(this.#q.nextDueAt, [eps]);
      return numOrNull(rows[0]?.at);
    });
  }

  // ---- schedules ------------------------------------------------------------------------------

  upsertSchedules(schedules: readonly ScheduleInput[]): Promise<void> {
    return this.#op('upsertSchedules', async () => {
      const valid = validateScheduleInputs(schedules, this.#limits);
      if (valid.length === 0) return;
      await this.#run(this.#q.upsertSchedules, [
        valid.map((s) => s.name),
        valid.map((s) => s.entrypoint),
        valid.map((s) => s.expression),
        valid.map((s) => s.timezone),
        valid.map((s) => s.nextRunAt),
      ]);
      this.#env.countRecords(valid.length);
    });
  }

  claimDueSchedules(options: ClaimOptions): Promise<Schedule[]> {
    return this.#op('claimDueSchedules', async (now) => {
      const { claimerId, staleAfter, limit } = validateClaimOptions(options);
      const rows = await this.#run(this.#q.claimSchedules, [claimerId, staleAfter, limit, now]);
      this.#env.countRecords(rows.length);
      return rows.map(toSchedule).sort((a, b) => a.nextRunAt - b.nextRunAt || byString(a.name, b.name));
    });
  }

  markScheduleRun(runs: readonly ScheduleRun[]): Promise<boolean[]> {
    return this.#op('markScheduleRun', async (now) => {
      const valid = validateScheduleRuns(runs, this.#limits);
      const names = valid.map((r) => r.name);
      const claimers = valid.map((r) => r.claimerId);
      const next = valid.map((r) => r.nextRunAt);
      if (names.length === 0) return [];
      const rows = await this.#run(this.#q.markScheduleRun, [names, claimers, next, now]);
      const hit = new Set(rows.map((r) => num(r.ord) - 1));
      this.#env.countRecords(hit.size);
      return names.map((_, i) => hit.has(i));
    });
  }

  deleteSchedules(names: readonly string[]): Promise<number> {
    return this.#op('deleteSchedules', async () => {
      const valid = validateScheduleNames(names, this.#limits);
      if (valid.length === 0) return 0;
      const rows = await this.#run(this.#q.deleteSchedules, [valid]);
      this.#env.countRecords(rows.length);
      return rows.length;
    });
  }

  listSchedules(): Promise<Schedule[]> {
    return this.#op('listSchedules', async () => {
      const rows = await this.#run(this.#q.listSchedules, []);
      return rows.map(toSchedule).sort((a, b) => byString(a.name, b.name));
    });
  }

  // ---- events ---------------------------------------------------------------------------------

  subscribe(listener: EventListener, options: SubscribeOptions = {}): Promise<Unsubscribe> {
    return this.#op('subscribe', async () => {
      validateListener(listener);
      const o = validateSubscribeOptions(options);
      let after: number;
      if (o.after !== undefined) {
        after = o.after;
      } else {
        const rows = await this.#run(this.#q.lastSeq, []);
        after = num(rows[0]?.last_seq ?? 0);
      }
      await this.#startWakeups();
      const sub = new LogFollower((from, limit) => this.#readLog(from, limit), listener, after, o.kinds);
      this.#subs.add(sub);
      // Replay, and catch anything committed between reading the cursor and LISTEN taking effect.
      sub.wake();
      let done: Promise<void> | null = null;
      return () => {
        done ??= (async () => {
          this.#subs.delete(sub);
          await sub.stop();
          if (this.#subs.size === 0) await this.#stopWakeups();
        })();
        return done;
      };
    });
  }

  #wakeAll = (): void => {
    for (const sub of this.#subs) sub.wake();
  };

  /**
   * A NOTIFY: its payload is '<first seq>:<last seq>:<the statement's log rows as JSON>' when
   * they fitted, else '<first seq>:<last seq>:k<the JSON list of their kinds>' (a subscriber that
   * wants none of those kinds skips them without a read; one that wants some reads the log).
   */
  #onNotify = (payload: string): void => {
    const a = payload.indexOf(':');
    const b = a < 0 ? -1 : payload.indexOf(':', a + 1);
    const first = a < 0 ? Number.NaN : Number(payload.slice(0, a));
    const last = b < 0 ? Number.NaN : Number(payload.slice(a + 1, b));
    if (!(Number.isSafeInteger(first) && Number.isSafeInteger(last) && first <= last)) {
      for (const sub of this.#subs) sub.wake();
      return;
    }
    const text = payload.slice(b + 1);
    let parsed: readonly JobEvent[] | null | undefined;
    const parse = (): readonly JobEvent[] | null => {
      if (parsed !== undefined) return parsed;
      if (!text.startsWith('[')) return (parsed = null); // kinds only: read the log
      try {
        const rows = JSON.parse(text) as unknown[][];
        parsed = rows.map((r) =>
          toEvent({
            seq: r[0],
            kind: r[1],
            job_id: r[2],
            entrypoint: r[3],
            priority: r[4],
            status: r[5],
            at: r[6],
            queue_manager_id: r[7],
            error: r[8],
          }),
        );
      } catch {
        parsed = null;
      }
      return parsed;
    };
    const mayHold = (kind: JobEventKind): boolean => text.includes(QUOTED_KIND(kind));
    for (const sub of this.#subs) sub.offer(first, last, parse, mayHold);
  };

  async #startWakeups(): Promise<void> {
    if (this.#listen) {
      if (this.#unlisten === null) {
        const pending = this.#driver.listen!(this.channel, this.#onNotify, this.#wakeAll);
        this.#unlisten = pending;
        pending.catch(() => {
          if (this.#unlisten === pending) this.#unlisten = null;
        });
      }
      await this.#unlisten;
    } else if (this.#pollTimer === null) {
      this.#pollTimer = setInterval(this.#wakeAll, this.#pollInterval);
    }
  }

  async #stopWakeups(): Promise<void> {
    if (this.#pollTimer !== null) {
      clearInterval(this.#pollTimer);
      this.#pollTimer = null;
    }
    const pending = this.#unlisten;
    this.#unlisten = null;
    const unlisten = await pending?.catch(() => null);
    await unlisten?.().catch(() => {});
  }

  // ---- maintenance ----------------------------------------------------------------------------

  install(): Promise<void> {
    return this.#op(
      'install',
      async () => {
        await this.#driver.check?.();
        await migrate.install(this.#driver, this.config);
        this.#ready = null;
      },
      { needsInstall: false },
    );
  }

  upgrade(): Promise<void> {
    return this.#op(
      'upgrade',
      async () => {
        await migrate.upgrade(this.#driver, this.config);
        this.#ready = null;
      },
      { needsInstall: false },
    );
  }

  uninstall(): Promise<void> {
    return this.#op(
      'uninstall',
      async () => {
        if (!(await migrate.verify(this.#driver, this.config)).installed)
          throw notInstalledError(this.config);
        await migrate.uninstall(this.#driver, this.config);
        this.#ready = null;
      },
      { needsInstall: false },
    );
  }

  verify(): Promise<VerifyReport> {
    return this.#op('verify', () => migrate.verify(this.#driver, this.config), { needsInstall: false });
  }

  scan(options: { staleAfter: number; retention?: Retention }): Promise<ScanReport> {
    return this.#op('scan', async (now) => {
      const { staleAfter, retention } = validateScanOptions(options);
      const maxRecords = retention.maxRecords ?? null;
      const maxAge = retention.maxAge ?? null;
      const rows = await this.#run(this.#q.scan, [staleAfter, now, maxRecords, maxAge]);
      const r = rows[0] ?? {};
      this.#env.countScan();
      return {
        stalePicked: JSON.parse(String(r.stale ?? '[]')) as number[],
        orphans: JSON.parse(String(r.orphans ?? '[]')) as number[],
        logBeyondRetention: num(r.beyond ?? 0),
      };
    });
  }

  recover(options: { staleAfter: number }): Promise<number[]> {
    return this.#op('recover', async (now) => {
      const { staleAfter } = validateRecoverOptions(options);
      const rows = await this.#run(this.#q.recover, [staleAfter, now, this.channel]);
      const ids = rows.map((r) => num(r.id));
      this.#env.countRecovered(ids.length);
      this.#wrote('requeued', ids.length);
      return ids;
    });
  }

  compact(retention: Retention): Promise<{ removed: number }> {
    return this.#op('compact', async (now) => {
      const r = validateCompactOptions(retention);
      const rows = await this.#run(this.#q.compact, [now, r.maxRecords ?? null, r.maxAge ?? null]);
      const removed = num(rows[0]?.removed ?? 0);
      this.#env.countCompaction(removed);
      return { removed };
    });
  }

  metrics(): Promise<RepositoryMetrics> {
    return this.#op('metrics', async () => this.#env.readMetrics());
  }

  resetMetrics(): Promise<void> {
    return this.#op('resetMetrics', async () => this.#env.resetMetrics());
  }

  async close(): Promise<void> {
    if (!this.#env.markClosed()) return;
    const subs = [...this.#subs];
    this.#subs.clear();
    await Promise.all(subs.map((s) => s.stop()));
    await this.#stopWakeups();
    await this.#driver.close?.();
  }
}

/** A QueueRepository on PostgreSQL / Neon. Call `install()` once (or run `npx tideq install`). */
export function createPostgresQueue(options: PostgresQueueOptions): PostgresQueueRepository {
  return new PostgresQueueRepository(options);
}
