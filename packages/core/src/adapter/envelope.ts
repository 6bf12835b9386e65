/**
 * The per-call envelope every store wraps its port methods in, and the metrics rules, written
 * once. A call through the envelope:
 *   1. counts itself (`ops[method].count`, at the start, so a `metrics()` call sees itself);
 *   2. refuses a closed store (STORAGE_UNAVAILABLE), then whatever `guard` refuses, then, for
 *      gate 'installed', an uninstalled store (NOT_INSTALLED; `installed()` for sync stores,
 *      `ready()` for async ones);
 *   3. reads the clock once (`now`, floored to an integer) and runs the body with it;
 *   4. publishes the events the body committed (`tx.events`) to in-process subscribers;
 *   5. on a rejection: counts it (`ops[method].errors` and `errors`) and rejects with
 *      `mapError(error)`; always adds the wall time to `totalMs`/`maxMs`.
 */
import { type Clock, systemClock } from '../clock.js';
import { NotInstalledError, StorageUnavailableError } from '../errors.js';
import { emptyMetrics, type PORT_METHODS } from '../port.js';
import type { JobEvent, JobEventKind, JsonObject, RepositoryMetrics } from '../types.js';
import { EventFanout } from './event-fanout.js';

/** A port method's name: the key of its `metrics().ops` entry. */
export type PortMethod = (typeof PORT_METHODS)[number];

/** 'installed': the store must be installed (most methods); 'open': only not closed (install, verify, close). */
export type Gate = 'installed' | 'open';

/** What a body gets: the call's one `now`, and where it puts the log rows it committed. */
export interface CallTx {
  readonly now: number;
  /** Rows committed by this call, in seq order; published to subscribers after the body returns. */
  events: JobEvent[];
}

/** How a store's {@link CallEnvelope} gates, times and maps its calls. */
export interface EnvelopeOptions {
  /** Names the store in error messages, e.g. 'the reference queue'. */
  store: string;
  /** Where time comes from (default: the wall clock). */
  clock?: Clock;
  /** Sync stores: whether the store is installed now (default: always). */
  installed?: () => boolean;
  /** Async stores: resolves when the store is installed and current, else rejects (NOT_INSTALLED...). */
  ready?: () => Promise<void>;
  /** Store-specific refusal checked after `closed` and before the install gate (e.g. a trapped core). */
  guard?: (method: PortMethod) => void;
  /** Turns what a body threw into what the caller sees (e.g. a driver error into a TideqError). */
  mapError?: (error: unknown) => unknown;
}

// ---- metrics rules ----------------------------------------------------------------------------
// recordsWritten counts every record a call writes, the same way in every store:
//   - per log row (= per job transition): the row and the job write; plus, when the job ends
//     (completed, cancelled) or becomes a dead letter (failed), its statistics bucket: 3, else 2;
//   - per heartbeat refreshed: 1; per schedule upserted, claimed, marked run or deleted: 1.
// bytesWritten counts, per stored job, its payload bytes plus the UTF-8 bytes of its headers'
// JSON. scans and compactions count calls; recoveries counts recovered jobs; compactedRecords
// counts dropped log rows. The conformance suite checks every number exactly.

/** recordsWritten for one log row of this kind. */
export function recordsPerEvent(kind: JobEventKind): number {
  return kind === 'completed' || kind === 'cancelled' || kind === 'failed' ? 3 : 2;
}

const utf8 = new TextEncoder();

/** bytesWritten for one stored job: payload bytes + UTF-8 bytes of `JSON.stringify(headers)`. */
export function storedJobBytes(job: { payload: Uint8Array | null; headers: JsonObject | null }): number {
  return (
    (job.payload === null ? 0 : job.payload.byteLength) +
    (job.headers === null ? 0 : utf8.encode(JSON.stringify(job.headers)).length)
  );
}

/**
 * One per repository. Sync stores (memory) use `call`, async stores (IndexedDB, SQL) `callAsync`.
 *
 * @example
 * readonly #env = new CallEnvelope({ store: 'the IndexedDB queue', clock, ready: () => this.#open() });
 * heartbeat(ids) {
 *   return this.#env.callAsync('heartbeat', async ({ now }) => {
 *     const valid = validateIds(ids, this.#limits);
 *     const hits = await this.#refresh(valid, now);
 *     this.#env.countRecords(hits);
 *     return ...;
 *   });
 * }
 */
export class CallEnvelope {
  /** The live counters; `metrics()` should hand out `readMetrics()`, a copy. */
  metrics: RepositoryMetrics = emptyMetrics();
  /** In-process subscribers: `tx.events` of every call go to them. */
  readonly events = new EventFanout();
  readonly #store: string;
  readonly #clock: Clock;
  readonly #installed: (() => boolean) | undefined;
  readonly #ready: (() => Promise<void>) | undefined;
  readonly #guard: ((method: PortMethod) => void) | undefined;
  readonly #mapError: ((error: unknown) => unknown) | undefined;
  #closed = false;

  constructor(options: EnvelopeOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#installed = options.installed;
    this.#ready = options.ready;
    this.#guard = options.guard;
    this.#mapError = options.mapError;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The clock's time as the envelope reads it (floored): for calls outside the port (snapshot). */
  now(): number {
    return Math.floor(this.#clock.now());
  }

  /** Run a synchronous body (a memory store: trivially atomic). */
  call<T>(method: PortMethod, body: (tx: CallTx) => T, gate: Gate = 'installed'): Promise<T> {
    const op = this.metrics.ops[method]!;
    const metrics = this.metrics;
    const started = performance.now();
    op.count++;
    try {
      // The common case (open, no guard) without a call: this runs on every call of a memory store.
      if (this.#closed || this.#guard !== undefined) this.#refuse(method);
      if (gate === 'installed' && this.#installed !== undefined && !this.#installed()) {
        throw this.#notInstalled(method);
      }
      const tx: CallTx = { now: Math.floor(this.#clock.now()), events: [] };
      const result = body(tx);
      if (tx.events.length > 0) this.events.publish(tx.events);
      return Promise.resolve(result);
    } catch (error) {
      op.errors++;
      metrics.errors++;
      return Promise.reject(this.#mapError === undefined ? error : this.#mapError(error));
    } finally {
      const ms = performance.now() - started;
      op.totalMs += ms;
      if (ms > op.maxMs) op.maxMs = ms;
    }
  }

  /** Run an asynchronous body (a store whose commit is awaited). */
  async callAsync<T>(
    method: PortMethod,
    body: (tx: CallTx) => Promise<T>,
    gate: Gate = 'installed',
  ): Promise<T> {
    const op = this.metrics.ops[method]!;
    const metrics = this.metrics;
    const started = performance.now();
    op.count++;
    try {
      if (this.#closed || this.#guard !== undefined) this.#refuse(method);
      if (gate === 'installed') {
        if (this.#installed !== undefined && !this.#installed()) throw this.#notInstalled(method);
        if (this.#ready !== undefined) await this.#ready();
      }
      const tx: CallTx = { now: Math.floor(this.#clock.now()), events: [] };
      const result = await body(tx);
      if (tx.events.length > 0) this.events.publish(tx.events);
      return result;
    } catch (error) {
      op.errors++;
      metrics.errors++;
      throw this.#mapError === undefined ? error : this.#mapError(error);
    } finally {
      const ms = performance.now() - started;
      op.totalMs += ms;
      if (ms > op.maxMs) op.maxMs = ms;
    }
  }

  /**
   * Close once: the first call runs `release` as the `close` call (counted, gate 'open') and
   * drops in-process subscribers; later calls resolve at once. Every other call rejects from now on.
   */
  close(release: () => void = () => {}): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.call(
      'close',
      () => {
        this.#closed = true;
        this.events.clear();
        release();
      },
      'open',
    );
  }

  /** Async stores whose close awaits (connections, subscriptions): true the first time only. */
  markClosed(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.events.clear();
    return true;
  }

  /** Throws what a call that is not through the envelope (snapshot, restore) must refuse: a closed store. */
  assertOpen(what: string): void {
    if (this.#closed)
      throw new StorageUnavailableError(`${this.#store} was closed; ${what}() needs a new repository`);
  }

  #refuse(method: PortMethod): void {
    if (this.#closed) {
      throw new StorageUnavailableError(`${this.#store} was closed; ${method}() needs a new repository`);
    }
    this.#guard?.(method);
  }

  #notInstalled(method: PortMethod): NotInstalledError {
    return new NotInstalledError(`${this.#store} is not installed; call install() before ${method}()`);
  }

  // ---- counting (the rules above) -------------------------------------------------------------

  /** `count` log rows of `kind` committed. */
  countEvents(kind: JobEventKind, count = 1): void {
    this.metrics.recordsWritten += count * recordsPerEvent(kind);
  }

  /** Records that are not log rows: heartbeats, schedule rows. */
  countRecords(count: number): void {
    this.metrics.recordsWritten += count;
  }

  /** A job stored by enqueue: its bytes (its `enqueued` row is counted by countEvents). */
  countStoredJob(job: { payload: Uint8Array | null; headers: JsonObject | null }): void {
    this.metrics.bytesWritten += storedJobBytes(job);
  }

  /** One `scan` call (metrics.scans). */
  countScan(): void {
    this.metrics.scans++;
  }

  /** Jobs put back by `recover` (metrics.recoveries). */
  countRecovered(jobs: number): void {
    this.metrics.recoveries += jobs;
  }

  /** One `compact` call and the log rows it dropped (metrics.compactions, compactedRecords). */
  countCompaction(removedRows: number): void {
    this.metrics.compactions++;
    this.metrics.compactedRecords += removedRows;
  }

  /** A copy of the counters (what `metrics()` returns). */
  readMetrics(): RepositoryMetrics {
    return structuredClone(this.metrics);
  }

  /** Zeroes every counter (what `resetMetrics()` does). */
  resetMetrics(): void {
    this.metrics = emptyMetrics();
  }
}
