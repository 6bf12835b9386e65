/**
 * The playground engine: runs in a Worker next to the store. The queue itself is served by
 * @tideq/web's `hostQueue` (the page talks to it with `connectQueue`): the engine hands it a
 * QueueManager and a SchedulerManager built from the visitor's configuration (simulated handlers
 * whose duration, failure rate and hang rate are read live). Limits are fixed per manager, so a
 * change of limits or schedules closes the host and starts a new one on a fresh MessagePort.
 * Beside it the engine follows the store's events to keep counts, a job index and per-second
 * series, and records which concurrency slot ran which job when (the slot timeline). The page
 * polls `snapshot()` a few times a second.
 */
import {
  coerceError,
  type Job,
  type JobEvent,
  type JobStatus,
  QueueManager,
  type QueueRepository,
  type Schedule,
  SchedulerManager,
} from '@tideq/core';
import { hostQueue, type QueueHost } from '@tideq/web/worker';
import type { Endpoint } from 'comlink';
import { type DemoPayload, makePayload, payloadCodec } from '../jobs.ts';
import {
  type ConfigureResult,
  type EntrypointConfig,
  type JobDetail,
  type JobFilter,
  type JobPage,
  type JobRow,
  OUTCOME,
  type OutcomeCode,
  type PlaygroundConfig,
  type SeriesPoint,
  type Snapshot,
  type StoreInfo,
} from '../protocol.ts';
import { type OpenStore, openStore } from './stores.ts';

interface IndexEntry {
  entrypoint: string;
  status: JobStatus;
  priority: number;
  attempts: number;
}

interface OpenSegment {
  slot: number;
  start: number;
  attempt: number;
  ep: number;
  waitMs: number;
}

interface Bucket {
  successful: number;
  retried: number;
  failed: number;
  enqueued: number;
  wait: number[];
  run: number[];
  /** Percentiles of a second that is over (no more samples come): sorted once, not every poll. */
  done?: { waitP50: number; waitP95: number; runP50: number; runP95: number };
}

const TERMINAL_KEPT = 50_000;
const EVENTS_KEPT = 100_000;
/** Events per snapshot for the page's log tail (it shows 20). */
const LOG_TAIL = 20;
const SERIES_SECONDS = 90;
const SAMPLES_PER_SECOND = 256;
const TEXT_SCAN_LIMIT = 20_000;
const encoder = new TextEncoder();

const OUTCOMES: Record<string, OutcomeCode> = {
  successful: OUTCOME.successful,
  retry: OUTCOME.retry,
  failed: OUTCOME.failed,
  exception: OUTCOME.exception,
  cancelled: OUTCOME.cancelled,
  timeout: OUTCOME.timeout,
};

function emptyCounts(): Record<JobStatus, number> {
  return { queued: 0, picked: 0, successful: 0, exception: 0, canceled: 0, deleted: 0, failed: 0 };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a QueueManager fixes at registration (limits) and the schedules: a change restarts the host. */
function hostKey(config: PlaygroundConfig): string {
  return JSON.stringify([
    config.worker,
    config.schedules,
    config.entrypoints.map((e) => [
      e.name,
      e.concurrencyLimit,
      e.requestsPerSecond,
      e.retryTimer,
      e.maxAttempts,
      e.timeout,
      e.retryDelay,
    ]),
  ]);
}

export class Engine {
  #config: PlaygroundConfig | null = null;
  #store: OpenStore | null = null;
  #info: StoreInfo = { kind: 'memory', label: 'starting', durable: false };
  #state: Snapshot['state'] = 'starting';
  #error: string | null = null;

  #host: QueueHost | null = null;
  #hostPort: MessagePort | null = null;
  #hostKey = '';
  #unsubscribe: (() => Promise<void>) | null = null;

  readonly #index = new Map<number, IndexEntry>();
  #terminalIds: number[] = [];
  #indexVersion = 0;
  #terminal = emptyCounts();
  #retried = 0;
  #held = emptyCounts();
  #events: JobEvent[] = [];
  #buckets = new Map<number, Bucket>();

  #open = new Map<number, OpenSegment>();
  #slots: boolean[] = [];
  #closed: number[] = [];
  #entrypointIndex = new Map<string, number>();

  #listCache: { key: string; version: number; ids: number[]; truncated: boolean } | null = null;

  /**
   * Opens the store and hosts the queue; also switches store and applies new settings. `port` is
   * where the page's `connectQueue` will talk to a new host: used when the host had to be
   * (re)started (`connected: true`), closed otherwise.
   */
  async configure(config: PlaygroundConfig, origin: string, port: MessagePort): Promise<ConfigureResult> {
    const previous = this.#config;
    this.#config = structuredClone(config);
    config.entrypoints.forEach((e, i) => {
      if (!this.#entrypointIndex.has(e.name)) this.#entrypointIndex.set(e.name, i);
    });
    let connected = false;
    try {
      if (!previous || previous.store !== config.store || !this.#store) {
        await this.#stopHost();
        await this.#closeStore();
        this.#state = 'starting';
        this.#store = await openStore(config.store, origin);
        this.#info = this.#store.info;
        await this.#follow(this.#store.repo);
      }
      const key = hostKey(config);
      if (!this.#host || key !== this.#hostKey) {
        await this.#stopHost();
        await this.#startHost(key, port);
        connected = true;
      }
      this.#state = config.paused ? 'paused' : 'running';
      this.#error = null;
    } catch (thrown) {
      this.#state = 'error';
      this.#error = coerceError(thrown).message;
      throw thrown;
    } finally {
      if (!connected) port.close();
    }
    return { info: this.#info, connected };
  }

  /** The page paused or resumed the host (through its facade). */
  setPaused(paused: boolean): void {
    if (this.#config) this.#config.paused = paused;
    if (this.#state !== 'error') this.#state = paused ? 'paused' : 'running';
  }

  // ---- following the store's events -------------------------------------------------------------

  async #follow(repo: QueueRepository): Promise<void> {
    this.#index.clear();
    this.#terminalIds = [];
    this.#terminal = emptyCounts();
    this.#retried = 0;
    this.#events = [];
    this.#buckets.clear();
    this.#indexVersion++;
    // From the start of the retained log: a durable store reopened after a reload shows its jobs.
    this.#unsubscribe = await repo.subscribe((events) => this.#onEvents(events), { after: 0 });
    await this.#refreshHeld();
  }

  #onEvents(events: readonly JobEvent[]): void {
    const now = Date.now();
    for (const e of events) {
      let entry = this.#index.get(e.jobId);
      switch (e.kind) {
        case 'enqueued':
          entry = { entrypoint: e.entrypoint, status: 'queued', priority: e.priority, attempts: 0 };
          this.#index.set(e.jobId, entry);
          break;
        case 'picked':
          if (entry) entry.attempts++;
          break;
        case 'retried':
          this.#retried++;
          break;
        case 'requeued':
          if (entry && e.status === 'queued' && entry.status === 'failed') entry.attempts = 0;
          break;
      }
      if (entry) entry.status = e.status;
      if (e.status !== 'queued' && e.status !== 'picked' && e.status !== 'failed') {
        this.#terminal[e.status]++;
        this.#terminalIds.push(e.jobId);
      }
      // Per-second series: only what happened while the page watches (not a replayed history).
      if (now - e.at < 5_000) {
        const bucket = this.#bucket(e.at);
        if (e.kind === 'enqueued') bucket.enqueued++;
        else if (e.kind === 'retried') bucket.retried++;
        else if (e.kind === 'failed') bucket.failed++;
        else if (e.kind === 'completed' && e.status === 'successful') bucket.successful++;
      }
    }
    for (const e of events) this.#events.push(e);
    if (this.#events.length > EVENTS_KEPT * 1.2) this.#events = this.#events.slice(-EVENTS_KEPT);
    if (this.#terminalIds.length > TERMINAL_KEPT * 1.2) {
      const drop = this.#terminalIds.length - TERMINAL_KEPT;
      for (let i = 0; i < drop; i++) {
        const id = this.#terminalIds[i]!;
        const entry = this.#index.get(id);
        if (
          entry &&
          (entry.status === 'successful' ||
            entry.status === 'exception' ||
            entry.status === 'canceled' ||
            entry.status === 'deleted')
        )
          this.#index.delete(id);
      }
      this.#terminalIds = this.#terminalIds.slice(drop);
    }
    this.#indexVersion++;
  }

  #bucket(at: number): Bucket {
    const second = Math.floor(at / 1000) * 1000;
    let bucket = this.#buckets.get(second);
    if (!bucket) {
      bucket = { successful: 0, retried: 0, failed: 0, enqueued: 0, wait: [], run: [] };
      this.#buckets.set(second, bucket);
      const oldest = second - SERIES_SECONDS * 1000;
      for (const key of this.#buckets.keys()) if (key < oldest) this.#buckets.delete(key);
    }
    return bucket;
  }

  async #refreshHeld(): Promise<void> {
    if (!this.#store) return;
    const held = emptyCounts();
    for (const row of await this.#store.repo.queueSize()) held[row.status] += row.count;
    this.#held = held;
  }

  // ---- managers ---------------------------------------------------------------------------------

  #entrypoint(name: string): EntrypointConfig | undefined {
    return this.#config?.entrypoints.find((e) => e.name === name);
  }

  async #startHost(key: string, port: MessagePort): Promise<void> {
    const config = this.#config!;
    const repo = this.#store!.repo;
    // Schedules removed in the page leave the store too (a host only knows its own).
    const wanted = new Set(config.schedules.map((s) => s.name));
    const gone = (await repo.listSchedules()).filter((s) => !wanted.has(s.name)).map((s) => s.name);
    if (gone.length > 0) await repo.deleteSchedules(gone);
    this.#slots = new Array(config.worker.maxConcurrentTasks).fill(false);
    const host = hostQueue({
      store: repo,
      manager: (store) => this.#buildManager(store),
      ...(config.schedules.length > 0
        ? { scheduler: (store: QueueRepository) => this.#buildScheduler(store) }
        : {}),
      run: {
        batchSize: config.worker.batchSize,
        maxConcurrentTasks: config.worker.maxConcurrentTasks,
        shutdownTimeout: 1_000,
      },
      autoStart: !config.paused,
      endpoint: port as unknown as Endpoint,
    });
    this.#host = host as unknown as QueueHost;
    this.#hostPort = port;
    this.#hostKey = key;
    await host.ready;
  }

  async #stopHost(): Promise<void> {
    if (!this.#host) return;
    await this.#host.close().catch(() => {});
    this.#hostPort?.close();
    this.#host = null;
    this.#hostPort = null;
    this.#hostKey = '';
    for (const id of [...this.#open.keys()]) this.#closeSegment(id, OUTCOME.retry);
  }

  #buildManager(repo: QueueRepository): QueueManager<Record<string, DemoPayload>> {
    let manager = new QueueManager(repo, { logger: 'silent', pollInterval: 1_000 }) as QueueManager<
      Record<string, DemoPayload>
    >;
    for (const ep of this.#config!.entrypoints) {
      manager = manager.entrypoint(
        ep.name,
        {
          codec: payloadCodec,
          concurrencyLimit: ep.concurrencyLimit,
          requestsPerSecond: ep.requestsPerSecond,
          retryTimer: ep.retryTimer,
          maxAttempts: ep.maxAttempts,
          ...(ep.timeout > 0 ? { timeout: ep.timeout } : {}),
          retry: { baseDelay: ep.retryDelay, maxDelay: 30_000 },
        },
        (context) => this.#simulate(ep.name, context.job, context.attempt, context.signal),
      );
    }
    manager.on('job', (event) => this.#closeSegment(event.id, OUTCOMES[event.outcome] ?? OUTCOME.retry));
    // Runs a shutdown (pause, new settings) hands back for a retry report no 'job' event.
    manager.on('state', ({ state }) => {
      if (state === 'stopped') for (const id of [...this.#open.keys()]) this.#closeSegment(id, OUTCOME.retry);
    });
    manager.on('error', ({ error, where }) => {
      this.#error = `${where}: ${error.message}`;
    });
    return manager;
  }

  #buildScheduler(repo: QueueRepository): SchedulerManager {
    let scheduler = new SchedulerManager(repo, { logger: 'silent', pollInterval: 1_000 });
    for (const s of this.#config!.schedules) {
      scheduler = scheduler.schedule(
        s.name,
        s.expression,
        async () => {
          await repo.enqueue(
            Array.from({ length: s.jobsPerTick }, (_, n) => ({
              entrypoint: s.entrypoint,
              payload: encoder.encode(JSON.stringify(makePayload(s.entrypoint, n, 64))),
              headers: { source: `schedule ${s.name}` },
            })),
          );
        },
        { missed: 'skip' },
      );
    }
    return scheduler;
  }

  async #closeStore(): Promise<void> {
    if (this.#unsubscribe) await this.#unsubscribe().catch(() => {});
    this.#unsubscribe = null;
    if (this.#store) await this.#store.close().catch(() => {});
    this.#store = null;
  }

  /** The simulated handler: waits its duration, maybe throws, maybe never finishes. */
  async #simulate(name: string, job: Job, attempt: number, signal: AbortSignal): Promise<void> {
    const start = Date.now();
    let slot = this.#slots.indexOf(false);
    if (slot < 0) slot = this.#slots.push(true) - 1;
    else this.#slots[slot] = true;
    this.#open.set(job.id, {
      slot,
      start,
      attempt,
      ep: this.#entrypointIndex.get(name) ?? 0,
      waitMs: Math.max(0, start - job.executeAfter),
    });
    const ep = this.#entrypoint(name);
    if (!ep) return;
    if (Math.random() * 100 < ep.hangPercent) {
      await sleep(2 ** 31 - 1, signal); // until a timeout, a cancel, a pause or the Worker's end
    }
    const duration = ep.durationMs * (0.5 + Math.random());
    if (duration >= 1) await sleep(duration, signal);
    if (Math.random() * 100 < ep.failurePercent) throw new Error(`simulated failure (attempt ${attempt})`);
  }

  #closeSegment(id: number, outcome: OutcomeCode): void {
    const open = this.#open.get(id);
    if (!open) return;
    this.#open.delete(id);
    this.#slots[open.slot] = false;
    const end = Date.now();
    this.#closed.push(open.slot, open.start, end, outcome, open.attempt, id, open.ep);
    const bucket = this.#bucket(end);
    if (bucket.run.length < SAMPLES_PER_SECOND) {
      bucket.run.push(end - open.start);
      bucket.wait.push(open.waitMs);
    }
  }

  // ---- what the page asks -----------------------------------------------------------------------

  /** Deletes every job of the playground's entrypoints (a `deleted` event each). */
  async clear(): Promise<number> {
    // Only the playground's entrypoints: a shared database may hold other queues' jobs.
    return this.#requireStore().clear(this.#config?.entrypoints.map((e) => e.name) ?? []);
  }

  async detail(id: number): Promise<JobDetail> {
    const repo = this.#requireStore();
    const [[job], [status]] = await Promise.all([repo.getJobs([id]), repo.jobStatus([id])]);
    const events = this.#events.filter((e) => e.jobId === id).slice(-50);
    return { job: job ?? null, status: status ?? null, events };
  }

  async listJobs(filter: JobFilter, offset: number, limit: number): Promise<JobPage> {
    const key = JSON.stringify(filter);
    let cache = this.#listCache;
    if (!cache || cache.key !== key || cache.version !== this.#indexVersion) {
      cache = { key, version: this.#indexVersion, ...(await this.#filter(filter)) };
      this.#listCache = cache;
    }
    const rows: JobRow[] = [];
    for (const id of cache.ids.slice(offset, offset + limit)) {
      const e = this.#index.get(id);
      if (e)
        rows.push({
          id,
          entrypoint: e.entrypoint,
          status: e.status,
          priority: e.priority,
          attempts: e.attempts,
        });
    }
    return { total: cache.ids.length, offset, rows, truncated: cache.truncated };
  }

  async #filter(filter: JobFilter): Promise<{ ids: number[]; truncated: boolean }> {
    const ids: number[] = [];
    for (const [id, e] of this.#index) {
      if (filter.entrypoint !== '' && e.entrypoint !== filter.entrypoint) continue;
      if (filter.status === 'held') {
        if (e.status !== 'queued' && e.status !== 'picked' && e.status !== 'failed') continue;
      } else if (filter.status !== 'all' && e.status !== filter.status) continue;
      ids.push(id);
    }
    ids.sort((a, b) => b - a);
    const text = filter.text.trim();
    if (text === '') return { ids, truncated: false };
    // Payloads live in the store: only held jobs have one. Scan a bounded number, newest first.
    const repo = this.#requireStore();
    const decoder = new TextDecoder();
    const matches: number[] = [];
    const scan = ids.slice(0, TEXT_SCAN_LIMIT);
    for (let i = 0; i < scan.length; i += 2_000) {
      const jobs = await repo.getJobs(scan.slice(i, i + 2_000));
      for (const job of jobs) {
        if (job?.payload && decoder.decode(job.payload).includes(text)) matches.push(job.id);
      }
    }
    return { ids: matches, truncated: ids.length > TEXT_SCAN_LIMIT };
  }

  async snapshot(): Promise<Snapshot> {
    let schedules: Schedule[] = [];
    if (this.#store) {
      try {
        await this.#refreshHeld();
        schedules = await this.#store.repo.listSchedules();
      } catch (thrown) {
        this.#error = coerceError(thrown).message;
      }
    }
    const now = Date.now();
    const running: number[] = [];
    for (const [id, s] of this.#open)
      running.push(s.slot, s.start, now, OUTCOME.running, s.attempt, id, s.ep);
    const segments = new Float64Array(this.#closed.length + running.length);
    segments.set(this.#closed);
    segments.set(running, this.#closed.length);
    this.#closed = [];
    const counts = {
      ...this.#terminal,
      queued: this.#held.queued,
      picked: this.#held.picked,
      failed: this.#held.failed,
    };
    return {
      at: now,
      store: this.#info,
      state: this.#state,
      error: this.#error,
      counts,
      retried: this.#retried,
      segments,
      slots: Math.max(this.#slots.length, this.#config?.worker.maxConcurrentTasks ?? 0),
      series: this.#series(now),
      log: this.#events.slice(-LOG_TAIL),
      schedules,
      indexVersion: this.#indexVersion,
    };
  }

  #series(now: number): SeriesPoint[] {
    const points: SeriesPoint[] = [];
    const last = Math.floor(now / 1000) * 1000 - 1000; // the last complete second
    for (let second = last - (SERIES_SECONDS - 1) * 1000; second <= last; second += 1000) {
      const b = this.#buckets.get(second);
      let latency = b?.done;
      if (!latency) {
        const wait = b ? [...b.wait].sort((x, y) => x - y) : [];
        const run = b ? [...b.run].sort((x, y) => x - y) : [];
        latency = {
          waitP50: percentile(wait, 0.5),
          waitP95: percentile(wait, 0.95),
          runP50: percentile(run, 0.5),
          runP95: percentile(run, 0.95),
        };
        // Samples are taken at Date.now() (#closeSegment): a second before the current one is final.
        if (b && second < Math.floor(now / 1000) * 1000) b.done = latency;
      }
      points.push({
        second,
        successful: b?.successful ?? 0,
        retried: b?.retried ?? 0,
        failed: b?.failed ?? 0,
        enqueued: b?.enqueued ?? 0,
        ...latency,
      });
    }
    return points;
  }

  #requireStore(): QueueRepository {
    if (!this.#store) throw new Error(this.#error ?? 'the store is not open yet');
    return this.#store.repo;
  }
}
