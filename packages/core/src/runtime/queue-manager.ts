/**
 * QueueManager: registers handlers by entrypoint and runs the dequeue loop over any
 * QueueRepository (PgQueuer's QueueManager, in TypeScript).
 *
 * The loop, per batch: flush finished jobs (one `complete` and at most one `retry` call), dequeue
 * up to the free slots, start the handlers, yield one macrotask. Idle, it sleeps until a store
 * event for its entrypoints, one of its own jobs finishing, the next due `executeAfter`, or the
 * poll interval. Running jobs are heartbeated in one batched call per interval.
 */
import { type Clock, systemClock } from '../clock.js';
import { coerceError, InvalidArgumentError, isTideqError, TimeoutError } from '../errors.js';
import type {
  CompletionResult,
  EntrypointLimits,
  QueueRepository,
  RetryRequest,
  Unsubscribe,
} from '../port.js';
import type { Job, JobEvent, JobEventKind, NewJob } from '../types.js';
import { validateCount, validateEntrypoint, validateManagerId, validateRate } from '../validation.js';
import { codecOrBytes } from './codec.js';
import { describeError, type Entry, failureOutcome, type RunHost, RunningJob, runJob } from './executor.js';
import { checkLogger, resolveLogger } from './logger.js';
import {
  checkResources,
  knownOptions,
  optionalBoolean,
  optionalChoice,
  optionalMethods,
  optionalSignal,
} from './options.js';
import { joinRetention, type RetentionHandle, type RetentionPolicy, resolveRetention } from './retention.js';
import { EntrypointCounters } from './stats.js';
import { randomId, systemTimers, yieldToEventLoop } from './timers.js';
import type {
  EnqueueJobOptions,
  EntrypointOptions,
  EntrypointStats,
  ExecutionOutcome,
  Handler,
  Logger,
  QueueManagerEvents,
  QueueManagerOptions,
  RetryPolicy,
  RunOptions,
  Timers,
} from './types.js';

type Listener<K extends keyof QueueManagerEvents> = (event: QueueManagerEvents[K]) => void;

const DEFAULT_RETRY = { baseDelay: 1000, maxDelay: 300_000, factor: 2, jitter: 1, retryable: () => true };

/**
 * Runs handlers for the jobs of its entrypoints. The type parameter records each entrypoint's
 * payload type so `enqueue` is checked against the handler.
 *
 * @example
 * const qm = new QueueManager(repo)
 *   .entrypoint('sendEmail', { codec: jsonCodec<{ to: string }>(), maxAttempts: 5 }, async ({ payload }) => {
 *     await send(payload.to);
 *   });
 * await qm.enqueue('sendEmail', { to: 'ada@example.com' });
 * await qm.run({ mode: 'drain' });
 */
// biome-ignore lint/complexity/noBannedTypes: {} is the empty registry that entrypoint() extends
export class QueueManager<R extends Record<string, unknown> = {}> {
  readonly id: string;
  readonly resources: Record<string, unknown>;
  readonly logger: Logger;
  readonly #repo: QueueRepository;
  readonly #host: RunHost;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #pollInterval: number;
  readonly #heartbeatInterval: number;
  readonly #retention: RetentionPolicy | false;
  #compactor: RetentionHandle | null = null;
  readonly #entries = new Map<string, Entry>();
  readonly #running = new Map<number, RunningJob>();
  #done: CompletionResult[] = [];
  #retries: RetryRequest[] = [];
  /** Bumped by every wakeup; the loop sleeps only if nothing happened since it looked. */
  #wakeGen = 0;
  #wake: (() => void) | null = null;
  #active = false;
  #stopping = false;
  #idle = false;
  #nowCache = -1;
  #storeFailures = 0;
  /** The store has answered a dequeue in this run: outages count towards the limit from now on. */
  #reached = false;
  #unsubscribe: Unsubscribe | null = null;
  #deadlineTimer: unknown = null;
  #deadlineAt = Number.POSITIVE_INFINITY;
  readonly #listeners: { [K in keyof QueueManagerEvents]: Set<Listener<K>> } = {
    job: new Set(),
    state: new Set(),
    error: new Set(),
  };

  /**
   * @param repo the store (any QueueRepository adapter)
   * @param options id, clock (the store's), timers, logger, shared resources, poll interval,
   *   retention (see {@link QueueManagerOptions}); every option is checked here
   */
  constructor(repo: QueueRepository, options: QueueManagerOptions = {}) {
    const o = knownOptions(options, 'QueueManager options', MANAGER_OPTIONS) as QueueManagerOptions;
    this.#repo = repo;
    this.id = o.id === undefined ? randomId('qm') : validateManagerId(o.id, 'QueueManager id');
    this.#clock = optionalMethods<Clock>(o.clock, 'clock', ['now']) ?? systemClock;
    this.#timers =
      optionalMethods<Timers>(o.timers, 'timers', ['setTimeout', 'clearTimeout']) ?? systemTimers;
    this.logger = resolveLogger(checkLogger(o.logger));
    this.resources = checkResources(o.resources);
    this.#retention = resolveRetention(o.retention);
    // What runs report back through; kept off the public surface.
    this.#host = {
      resources: this.resources,
      logger: this.logger,
      now: () => this.#clock.now(),
      succeed: (run) => this.#succeed(run),
      settle: (run, outcome, error) => this.#settle(run, outcome, error),
    };
    this.#pollInterval = validateCount(o.pollInterval ?? 10_000, 'pollInterval', 1);
    this.#heartbeatInterval = validateCount(o.heartbeatInterval ?? 10_000, 'heartbeatInterval', 1);
  }

  /**
   * Register the handler of an entrypoint.
   *
   * @param name the entrypoint (1..128 of `[A-Za-z0-9_.:-]`)
   * @param options limits, retry policy, timeout, codec (see {@link EntrypointOptions})
   * @param handler called with a {@link JobContext}; its throw is a failed attempt
   * @returns this manager, typed with the new entrypoint
   */
  entrypoint<N extends string, P = Uint8Array | null>(
    name: N,
    options: EntrypointOptions<P>,
    handler: Handler<P>,
  ): QueueManager<R & { [K in N]: P }>;
  entrypoint<N extends string>(name: N, handler: Handler): QueueManager<R & { [K in N]: Uint8Array | null }>;
  // biome-ignore lint/suspicious/noExplicitAny: the overloads above carry the types; codecs are invariant in P
  entrypoint(name: string, a: EntrypointOptions<any> | Handler<any>, b?: Handler<any>): this {
    if (this.#active) throw new InvalidArgumentError(`register entrypoint ${name} before run() starts`);
    validateEntrypoint(name, 'entrypoint name');
    if (this.#entries.has(name)) throw new InvalidArgumentError(`entrypoint ${name} is already registered`);
    const options = typeof a === 'function' ? {} : a;
    const handler = typeof a === 'function' ? a : b;
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(`entrypoint ${name} needs a handler function`);
    this.#entries.set(name, resolveEntry(name, options, handler));
    return this;
  }

  /**
   * Enqueue one job of a registered entrypoint, its payload encoded by that entrypoint's codec.
   * @returns the job id
   */
  async enqueue<N extends keyof R & string>(
    name: N,
    payload: R[N],
    options?: EnqueueJobOptions,
  ): Promise<number> {
    const [id] = await this.#repo.enqueue([this.#newJob(name, payload, options)]);
    return id!;
  }

  /** Enqueue a batch atomically (see the port's onConflict). */
  async enqueueMany<N extends keyof R & string>(
    jobs: readonly ({ entrypoint: N; payload: R[N] } & EnqueueJobOptions)[],
    options?: { onConflict?: 'raise' | 'skip' },
  ): Promise<(number | null)[]> {
    return this.#repo.enqueue(
      jobs.map((j) => this.#newJob(j.entrypoint, j.payload, j)),
      options,
    );
  }

  /** Cancel jobs in any state; a running handler (here or in another manager) sees its signal abort. */
  cancel(ids: readonly number[]): Promise<boolean[]> {
    return this.#repo.cancel(ids);
  }

  /** Counters and p50/p95 latencies per registered entrypoint. */
  stats(): Record<string, EntrypointStats> {
    const out: Record<string, EntrypointStats> = {};
    for (const [name, entry] of this.#entries) out[name] = entry.counters.snapshot();
    return out;
  }

  /** Listen to job outcomes, loop states and errors; returns a function that stops listening. */
  on<K extends keyof QueueManagerEvents>(type: K, listener: Listener<K>): () => void {
    const set = this.#listeners[type] as Set<Listener<K>>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Whether run() is in progress. */
  get running(): boolean {
    return this.#active;
  }

  /**
   * Look for due jobs now rather than at the end of the loop's sleep: for work no store event
   * announces (a clock that jumped, a network back, a store written by another process without
   * notifications). A no-op while not running.
   */
  wake(): void {
    this.#wakeLoop();
  }

  /**
   * Process jobs until aborted ('continuous') or until nothing is queued or running for these
   * entrypoints, deferred jobs included ('drain'). A store out of reach at start is waited out;
   * rejects if the store fails otherwise (a bug, or 10 outages in a row once running), after the shutdown.
   */
  async run(options: RunOptions = {}): Promise<void> {
    if (this.#active) throw new InvalidArgumentError(`QueueManager ${this.id} is already running`);
    if (this.#entries.size === 0)
      throw new InvalidArgumentError('register at least one entrypoint before run()');
    const o = knownOptions(options, 'run options', RUN_OPTIONS) as RunOptions;
    const mode = optionalChoice(o.mode, 'mode', ['continuous', 'drain'], 'continuous');
    const batchSize = validateCount(o.batchSize ?? 100, 'batchSize', 1, 10_000);
    const maxConcurrent = validateCount(o.maxConcurrentTasks ?? 100, 'maxConcurrentTasks', 1);
    const shutdownTimeout = validateCount(o.shutdownTimeout ?? 10_000, 'shutdownTimeout');
    const signal = optionalSignal(o.signal, 'signal');

    this.#active = true;
    this.#stopping = false;
    this.#idle = false;
    this.#storeFailures = 0;
    this.#reached = false;
    const onAbort = (): void => {
      this.#stopping = true;
      this.#wakeLoop();
    };
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) this.#stopping = true;

    const heartbeat = this.#startHeartbeats();
    let fatal: Error | null = null;
    this.#emit('state', { state: 'running' });
    try {
      await this.#loop(mode, batchSize, maxConcurrent);
    } catch (thrown) {
      fatal = coerceError(thrown);
      this.#report(fatal, 'run');
    }
    this.#stopping = true;
    this.#emit('state', { state: 'stopping' });
    try {
      await this.#shutdown(shutdownTimeout);
    } catch (thrown) {
      fatal ??= coerceError(thrown);
      this.#report(coerceError(thrown), 'shutdown');
    }
    heartbeat.stop();
    this.#compactor?.stop();
    this.#compactor = null;
    this.#clearDeadlineTimer();
    signal?.removeEventListener('abort', onAbort);
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = null;
    if (unsubscribe !== null)
      await unsubscribe().catch((e: unknown) => this.#report(coerceError(e), 'unsubscribe'));
    this.#active = false;
    this.#emit('state', { state: 'stopped' });
    if (fatal !== null) throw fatal;
  }

  // ---- the loop ---------------------------------------------------------------------------------

  /**
   * The loop, restarted after STORAGE_UNAVAILABLE (a dropped connection) with backoff 0.1 s .. 5 s;
   * unsent results stay buffered. Until the store has answered a first dequeue (start-up: the
   * subscription, the first dequeue) an outage is waited out for as long as it lasts, since a
   * worker may well start before its database; after that, 10 failures in a row end the run.
   * Other errors end it at once.
   */
  async #loop(mode: 'continuous' | 'drain', batchSize: number, maxConcurrent: number): Promise<void> {
    for (;;) {
      try {
        if (this.#unsubscribe === null) {
          if (this.#stopping) return;
          await this.#subscribe();
        }
        await this.#passes(mode, batchSize, maxConcurrent);
        return;
      } catch (thrown) {
        const error = coerceError(thrown);
        const transient = isTideqError(error) && error.code === 'STORAGE_UNAVAILABLE';
        const failures = ++this.#storeFailures;
        // Shutting down: no more waiting for the store (the shutdown's own flush tries once more).
        if (!transient || this.#stopping || (this.#reached && failures > 10)) throw error;
        this.#report(
          error,
          this.#reached ? `store call (retry ${failures} of 10)` : `store call at start (retry ${failures})`,
        );
        await this.#sleep(this.#wakeGen, Math.min(5000, 100 * 2 ** (failures - 1)));
      }
    }
  }

  /**
   * Subscribes (before the first dequeue, so no enqueue after it goes unnoticed), then joins the
   * store's retention. Only the kinds that bring work or cancel a run here; completions and dead
   * letters elsewhere only matter when they free a concurrency slot. Never `picked`.
   */
  async #subscribe(): Promise<void> {
    const kinds: JobEventKind[] = ['enqueued', 'retried', 'requeued', 'cancelled'];
    for (const entry of this.#entries.values()) {
      if ((entry.limits.concurrencyLimit ?? 0) > 0) {
        kinds.push('completed', 'failed');
        break;
      }
    }
    this.#unsubscribe = await this.#repo.subscribe((events) => this.#onEvents(events), { kinds });
    if (this.#retention !== false) {
      this.#compactor = joinRetention(this.#repo, this.#retention, this.#timers, (e) =>
        this.#report(e, 'compact (retention)'),
      );
    }
  }

  async #passes(mode: 'continuous' | 'drain', batchSize: number, maxConcurrent: number): Promise<void> {
    const repo = this.#repo;
    const names = [...this.#entries.keys()];
    const limits: Record<string, EntrypointLimits> = {};
    for (const entry of this.#entries.values()) limits[entry.name] = entry.limits;
    const staleCheck = minPositive([...this.#entries.values()].map((e) => e.limits.retryTimer ?? 0));
    const rateWait = minPositive(
      [...this.#entries.values()].map((e) =>
        e.limits.requestsPerSecond ? Math.ceil(1000 / e.limits.requestsPerSecond) : 0,
      ),
    );

    while (true) {
      if (this.#done.length > 0 || this.#retries.length > 0) await this.#flush();
      if (this.#stopping) return;
      const free = maxConcurrent - this.#running.size;
      if (free <= 0) {
        await this.#sleep(this.#wakeGen, this.#pollInterval);
        // Gather the other jobs finishing in this turn into the same flush.
        await yieldToEventLoop();
        continue;
      }
      const gen = this.#wakeGen;
      const jobs = await repo.dequeue({
        batchSize: Math.min(batchSize, free),
        entrypoints: limits,
        queueManagerId: this.id,
        maxOwned: maxConcurrent,
      });
      this.#storeFailures = 0;
      this.#reached = true;
      if (jobs.length > 0) {
        this.#setIdle(false);
        this.#start(jobs);
        await yieldToEventLoop();
        continue;
      }
      // Nothing to pick: decide whether to stop (drain) and how long to sleep.
      if (this.#done.length > 0 || this.#retries.length > 0) continue;
      const nextDue = await repo.nextDueAt(names);
      if (mode === 'drain' && nextDue === null && this.#running.size === 0) {
        if (this.#done.length === 0 && this.#retries.length === 0) return;
        continue;
      }
      const now = this.#clock.now();
      let ms = this.#pollInterval;
      if (staleCheck > 0) ms = Math.min(ms, staleCheck);
      if (nextDue !== null) {
        // Due but not picked: a gate (rate or a concurrency slot held elsewhere) holds it back.
        ms = Math.min(ms, nextDue > now ? nextDue - now : rateWait > 0 ? rateWait : ms);
      }
      this.#setIdle(true);
      await this.#sleep(gen, ms);
    }
  }

  #start(jobs: Job[]): void {
    const now = this.#clock.now();
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      // A stale re-pick of a job this manager still runs: keep the run that is going.
      if (this.#running.has(job.id)) continue;
      const entry = this.#entries.get(job.entrypoint);
      if (entry === undefined) continue; // cannot happen: dequeue returns only named entrypoints
      const run = new RunningJob(job, entry, this.#host, now);
      this.#running.set(job.id, run);
      const counters = entry.counters;
      counters.picked++;
      counters.running++;
      counters.recordWait(now - job.executeAfter);
      if (entry.timeout > 0) this.#trackDeadline(run, now + entry.timeout);
      void runJob(run);
    }
  }

  /** Sleeps until a wakeup newer than `gen`, or `ms` of the timers pass. */
  #sleep(gen: number, ms: number): Promise<void> {
    if (gen !== this.#wakeGen) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.#timers.setTimeout(
        () => {
          if (this.#wake === done) this.#wake = null;
          resolve();
        },
        Math.max(1, Math.ceil(ms)),
      );
      const done = (): void => {
        this.#timers.clearTimeout(timer);
        resolve();
      };
      this.#wake = done;
    });
  }

  #wakeLoop(): void {
    this.#wakeGen++;
    const wake = this.#wake;
    if (wake !== null) {
      this.#wake = null;
      wake();
    }
  }

  #onEvents(events: readonly JobEvent[]): void {
    let wake = false;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const kind = event.kind;
      if (kind === 'picked') continue;
      if (kind === 'cancelled') {
        const run = this.#running.get(event.jobId);
        if (run !== undefined) this.#cancelRun(run);
      }
      // Enqueues, retries and requeues bring work; completions elsewhere free concurrency slots.
      if (!wake && this.#entries.has(event.entrypoint)) wake = true;
    }
    if (wake) this.#wakeLoop();
  }

  // ---- settling runs ----------------------------------------------------------------------------

  #succeed(run: RunningJob): void {
    run.settled = true;
    this.#done.push({ id: run.job.id, status: 'successful' });
    run.entry.counters.successful++;
    this.#release(run);
    if (this.#listeners.job.size > 0) this.#emitJob(run, 'successful', null);
  }

  #settle(run: RunningJob, outcome: ExecutionOutcome, error: Error | null): void {
    run.settled = true;
    const counters = run.entry.counters;
    const id = run.job.id;
    let message: string | null = null;
    switch (outcome.status) {
      case 'successful':
        this.#done.push({ id, status: 'successful' });
        counters.successful++;
        break;
      case 'retry':
        message = outcome.error;
        this.#retries.push({ id, executeAfter: outcome.executeAfter, error: message });
        counters.retried++;
        break;
      default:
        // 'failed' | 'exception' (runJob has checked custom executors' outcomes)
        message = outcome.error;
        this.#done.push({ id, status: outcome.status, error: message });
        if (outcome.status === 'failed') counters.failed++;
        else counters.exception++;
    }
    if (message !== null && outcome.status !== 'retry') {
      this.logger.warn(`job ${id} (${run.entry.name}) ${outcome.status}`, {
        id,
        error: message,
        attempt: run.attempt,
      });
    }
    this.#release(run);
    if (this.#listeners.job.size > 0) {
      const kind = error instanceof TimeoutError ? 'timeout' : outcome.status;
      this.#emitJob(run, kind, message);
    }
  }

  /**
   * The clock read once per microtask wave: the runs of a batch finish in the same few waves, and
   * reading the clock per job cost 0.2 µs per job under gVisor-style sandboxes (Date.now is a syscall).
   */
  #coarseNow(): number {
    if (this.#nowCache < 0) {
      this.#nowCache = this.#clock.now();
      queueMicrotask(this.#expireNow);
    }
    return this.#nowCache;
  }

  readonly #expireNow = (): void => {
    this.#nowCache = -1;
  };

  #release(run: RunningJob): void {
    this.#running.delete(run.job.id);
    const counters = run.entry.counters;
    counters.running--;
    counters.recordRun(this.#coarseNow() - run.pickedAt);
    this.#wakeLoop();
  }

  /** The job left the store as canceled: abort the handler and forget the run. */
  #cancelRun(run: RunningJob): void {
    if (run.settled) return;
    run.settled = true;
    run.abort(new DOMException(`job ${run.job.id} was cancelled`, 'AbortError'));
    run.entry.counters.cancelled++;
    this.#release(run);
    if (this.#listeners.job.size > 0) this.#emitJob(run, 'cancelled', null);
  }

  async #flush(): Promise<void> {
    while (this.#done.length > 0 || this.#retries.length > 0) {
      const done = this.#done;
      const retries = this.#retries;
      this.#done = [];
      this.#retries = [];
      // Results of jobs cancelled or re-picked meanwhile come back false: nothing to do for them.
      // Fenced by this manager's id: a result for a job another manager re-picked is ignored.
      const fence = { queueManagerId: this.id };
      try {
        if (done.length > 0) await this.#repo.complete(done, fence);
        if (retries.length > 0) await this.#repo.retry(retries, fence);
        this.#compactor?.noteJobs(done.length + retries.length);
      } catch (error) {
        // Keep them for the next flush: sending a result twice is harmless (false the second time).
        this.#done = done.concat(this.#done);
        this.#retries = retries.concat(this.#retries);
        throw error;
      }
    }
  }

  // ---- timeouts ---------------------------------------------------------------------------------

  #trackDeadline(run: RunningJob, deadline: number): void {
    run.deadline = deadline;
    run.entry.deadlines.push(run);
    if (deadline < this.#deadlineAt) this.#armDeadlineTimer(deadline);
  }

  #armDeadlineTimer(at: number): void {
    this.#clearDeadlineTimer();
    this.#deadlineAt = at;
    this.#deadlineTimer = this.#timers.setTimeout(
      () => this.#expireDeadlines(),
      Math.max(1, at - this.#clock.now()),
    );
  }

  #clearDeadlineTimer(): void {
    if (this.#deadlineTimer !== null) this.#timers.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = null;
    this.#deadlineAt = Number.POSITIVE_INFINITY;
  }

  /** One timer for all runs: expire every overdue head, then re-arm at the earliest live deadline. */
  #expireDeadlines(): void {
    this.#deadlineTimer = null;
    this.#deadlineAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#entries.values()) {
      const queue = entry.deadlines;
      let head = entry.deadlineHead;
      while (head < queue.length) {
        const run = queue[head]!;
        if (!run.settled && run.deadline > now) break;
        head++;
        if (!run.settled) this.#timeOut(run);
      }
      if (head > 1024 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
      entry.deadlineHead = head;
      if (head < queue.length) next = Math.min(next, queue[head]!.deadline);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#armDeadlineTimer(next);
  }

  #timeOut(run: RunningJob): void {
    const error = new TimeoutError(
      `job ${run.job.id} (${run.entry.name}) ran longer than ${run.entry.timeout} ms`,
    );
    run.abort(error);
    run.entry.counters.timedOut++;
    this.#settle(run, failureOutcome(run.entry, run.job, error, this.#clock.now()), error);
  }

  // ---- heartbeats -------------------------------------------------------------------------------

  /** One batched heartbeat for every running job, every min(heartbeatInterval, retryTimer / 3). */
  #startHeartbeats(): { stop(): void } {
    // Every running job, not only those with a retryTimer: `scan`/`recover` judge all picked jobs by it.
    const retryTimer = minPositive([...this.#entries.values()].map((e) => e.limits.retryTimer ?? 0));
    const every = Math.max(
      1,
      retryTimer > 0
        ? Math.min(this.#heartbeatInterval, Math.floor(retryTimer / 3))
        : this.#heartbeatInterval,
    );
    let timer: unknown = null;
    let stopped = false;
    const beat = (): void => {
      const ids: number[] = [];
      for (const id of this.#running.keys()) ids.push(id);
      const next = (): void => {
        if (!stopped) timer = this.#timers.setTimeout(beat, every);
      };
      if (ids.length === 0) {
        next();
        return;
      }
      this.#repo.heartbeat(ids, { queueManagerId: this.id }).then(next, (e: unknown) => {
        this.#report(coerceError(e), 'heartbeat');
        next();
      });
    };
    timer = this.#timers.setTimeout(beat, every);
    return {
      stop: () => {
        stopped = true;
        if (timer !== null) this.#timers.clearTimeout(timer);
      },
    };
  }

  // ---- shutdown ---------------------------------------------------------------------------------

  /**
   * Running jobs get `timeout` ms to finish (their results are flushed as they come); then their
   * signals abort and they go back to `queued` at once, so any manager can run them again. (Leaving
   * them picked would delay them by retryTimer, or forever without one.)
   */
  async #shutdown(timeout: number): Promise<void> {
    if (this.#running.size > 0) {
      let timedOut = false;
      const timer = this.#timers.setTimeout(
        () => {
          timedOut = true;
          this.#wakeLoop();
        },
        Math.max(1, timeout),
      );
      while (this.#running.size > 0 && !timedOut) {
        if (this.#done.length > 0 || this.#retries.length > 0) await this.#flush();
        if (this.#running.size === 0) break;
        await this.#sleep(this.#wakeGen, timeout + 1);
      }
      this.#timers.clearTimeout(timer);
    }
    if (this.#running.size > 0) {
      const now = this.#clock.now();
      const reason = new DOMException(`QueueManager ${this.id} shut down`, 'AbortError');
      for (const run of [...this.#running.values()]) {
        run.abort(reason);
        run.settled = true;
        this.#retries.push({
          id: run.job.id,
          executeAfter: now,
          error: `shutdown: ${reason.message} before the job finished`,
        });
        run.entry.counters.retried++;
        this.#release(run);
      }
    }
    await this.#flush();
  }

  // ---- helpers ----------------------------------------------------------------------------------

  #newJob(name: string, payload: unknown, options: EnqueueJobOptions | undefined): NewJob {
    const entry = this.#entries.get(name);
    if (entry === undefined) {
      throw new InvalidArgumentError(
        `entrypoint ${name} is not registered on this manager; register it (its codec encodes the payload) or enqueue through the repository`,
      );
    }
    const job: NewJob = { entrypoint: name, payload: entry.codec.encode(payload) };
    if (options?.priority !== undefined) job.priority = options.priority;
    if (options?.executeAfter !== undefined) job.executeAfter = options.executeAfter;
    if (options?.dedupeKey !== undefined) job.dedupeKey = options.dedupeKey;
    if (options?.headers !== undefined) job.headers = options.headers;
    return job;
  }

  #setIdle(idle: boolean): void {
    if (this.#idle === idle) return;
    this.#idle = idle;
    this.#emit('state', { state: idle ? 'idle' : 'running' });
  }

  #emitJob(run: RunningJob, outcome: QueueManagerEvents['job']['outcome'], error: string | null): void {
    this.#emit('job', { id: run.job.id, entrypoint: run.entry.name, outcome, attempt: run.attempt, error });
  }

  #emit<K extends keyof QueueManagerEvents>(type: K, event: QueueManagerEvents[K]): void {
    for (const listener of this.#listeners[type] as Set<Listener<K>>) {
      try {
        listener(event);
      } catch (thrown) {
        // A listener must not break the loop.
        this.logger.error(`a ${type} listener threw`, { error: coerceError(thrown) });
      }
    }
  }

  #report(error: Error, where: string): void {
    this.logger.error(`${where} failed: ${describeError(error)}`, { manager: this.id, error });
    this.#emit('error', { error, where });
  }
}

function resolveEntry(name: string, given: EntrypointOptions<unknown>, handler: Handler<unknown>): Entry {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new InvalidArgumentError(`options of entrypoint ${name} must be an object`);
  }
  const options = knownOptions(given, `entrypoint ${name}`, ENTRYPOINT_OPTIONS) as EntrypointOptions<unknown>;
  const where = (field: string): string => `entrypoint ${name}: ${field}`;
  const concurrencyLimit = optionalBoolean(options.serializedDispatch, where('serializedDispatch'), false)
    ? 1
    : validateCount(options.concurrencyLimit ?? 0, where('concurrencyLimit'));
  const limits: EntrypointLimits = {
    concurrencyLimit,
    requestsPerSecond: validateRate(options.requestsPerSecond ?? 0, where('requestsPerSecond')),
    retryTimer: validateCount(options.retryTimer ?? 0, where('retryTimer')),
    maxAttempts: validateCount(options.maxAttempts ?? 3, where('maxAttempts')),
  };
  const retry = {
    ...DEFAULT_RETRY,
    ...(knownOptions(options.retry, where('retry'), RETRY_OPTIONS) as RetryPolicy),
  };
  validateCount(retry.baseDelay, where('retry.baseDelay'));
  validateCount(retry.maxDelay, where('retry.maxDelay'));
  validateRate(retry.factor, where('retry.factor'));
  if (!(retry.jitter >= 0 && retry.jitter <= 1)) {
    throw new InvalidArgumentError(`${where('retry.jitter')} must be in 0..1, got ${String(retry.jitter)}`);
  }
  if (typeof retry.retryable !== 'function')
    throw new InvalidArgumentError(`${where('retry.retryable')} must be a function`);
  if (options.executor !== undefined && typeof options.executor !== 'function') {
    throw new InvalidArgumentError(`${where('executor')} must be a function`);
  }
  return {
    name,
    handler,
    codec: codecOrBytes(options.codec, name),
    limits,
    maxAttempts: limits.maxAttempts!,
    retry,
    deadLetter: optionalBoolean(options.deadLetter, where('deadLetter'), true),
    timeout: validateCount(options.timeout ?? 0, where('timeout')),
    executor: options.executor,
    counters: new EntrypointCounters(),
    deadlines: [],
    deadlineHead: 0,
  };
}

const MANAGER_OPTIONS = [
  'id',
  'clock',
  'timers',
  'logger',
  'resources',
  'pollInterval',
  'heartbeatInterval',
  'retention',
] as const satisfies readonly (keyof QueueManagerOptions)[];
const RUN_OPTIONS = [
  'mode',
  'batchSize',
  'maxConcurrentTasks',
  'signal',
  'shutdownTimeout',
] as const satisfies readonly (keyof RunOptions)[];
const ENTRYPOINT_OPTIONS = [
  'codec',
  'concurrencyLimit',
  'serializedDispatch',
  'requestsPerSecond',
  'retryTimer',
  'maxAttempts',
  'retry',
  'deadLetter',
  'timeout',
  'executor',
] as const satisfies readonly (keyof EntrypointOptions<unknown>)[];
const RETRY_OPTIONS = [
  'baseDelay',
  'maxDelay',
  'factor',
  'jitter',
  'retryable',
] as const satisfies readonly (keyof RetryPolicy)[];

function minPositive(values: number[]): number {
  let min = 0;
  for (const v of values) if (v > 0 && (min === 0 || v < min)) min = v;
  return min;
}
