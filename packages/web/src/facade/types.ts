/** Public types of the page facade: what `connectQueue()` returns, typed by the worker's handlers. */
import type {
  Codec,
  EnqueueJobOptions,
  Job,
  JobEvent,
  JobEventKind,
  JobStatus,
  QueueManager,
  QueueSizeRow,
  RepositoryMetrics,
} from '@tideq/core';
import type { QueueHost } from '../host/host.js';
import type { HostInfo, HostStats } from './protocol.js';

/**
 * The entrypoint -> payload map of a queue: from `typeof host` (hostQueue), `typeof manager`
 * (a QueueManager), or given directly as a record type.
 */
export type PayloadsOf<Q> =
  Q extends QueueHost<infer R>
    ? R
    : Q extends QueueManager<infer R>
      ? R
      : Q extends Record<string, unknown>
        ? Q
        : never;

/** One job of `enqueueMany`: the payload type follows its entrypoint. */
export type EnqueueJobOf<R> = {
  [N in keyof R & string]: { entrypoint: N; payload: R[N] } & EnqueueJobOptions;
}[keyof R & string];

/** Page-side codecs: entrypoints listed here are encoded on the page into the batch buffer. */
export type PageCodecs<R> = { [N in keyof R]?: Codec<R[N]> };

/** Options of `connectQueue(target, options)`. */
export interface ConnectOptions<R> {
  /**
   * The same codecs the worker's handlers use (share the module). With them the page encodes
   * payloads straight into the batch buffer; without, payloads are cloned and the worker encodes.
   */
  codecs?: PageCodecs<R>;
}

/** Stops a subscription and releases its callback in the worker. */
export type Unsubscribe = () => Promise<void>;

/** The queue in the worker, as the page sees it. Every call crosses the boundary once. */
export interface QueueFacade<R> {
  /** Enqueue one job; the payload type follows the entrypoint's codec. */
  enqueue<N extends keyof R & string>(
    entrypoint: N,
    payload: R[N],
    options?: EnqueueJobOptions,
  ): Promise<number>;
  /** Enqueue a batch atomically, as ONE message (one transferred buffer with page codecs). */
  enqueueMany(
    jobs: readonly EnqueueJobOf<R>[],
    options?: { onConflict?: 'raise' | 'skip' },
  ): Promise<(number | null)[]>;
  /** Latest status of each id (null for ids never assigned). */
  status(ids: readonly number[]): Promise<(JobStatus | null)[]>;
  /** Resolves once every job is terminal or failed (a dead letter). */
  waitFor(ids: readonly number[], options?: { timeout?: number; signal?: AbortSignal }): Promise<JobStatus[]>;
  /** Cancel jobs in any state; a running handler sees its signal abort. */
  cancel(ids: readonly number[]): Promise<boolean[]>;
  /**
   * Every job event, in commit order, exactly once. The subscription lives while the returned
   * function is reachable: call it to stop, or drop it and it is released after garbage collection.
   */
  subscribe(
    listener: (events: JobEvent[]) => void,
    options?: { after?: number; kinds?: JobEventKind[] },
  ): Promise<Unsubscribe>;
  /** Stop running jobs (running ones finish); enqueues are still accepted. */
  pause(): Promise<void>;
  /** Run jobs again. */
  resume(): Promise<void>;
  /** Host state and the QueueManager's counters and latencies per entrypoint. */
  stats(): Promise<HostStats<R>>;
  /** The store's metrics (records and bytes written, per-op latency). */
  metrics(): Promise<RepositoryMetrics>;
  /** Jobs in the store per entrypoint, status and priority. */
  queueSize(): Promise<QueueSizeRow[]>;
  /**
   * Deliver what is due now: wakes the worker's QueueManager from its sleep and re-checks
   * `navigator.onLine` for deliveries held offline. Resolves once the wakeup is applied, not when
   * the jobs finish (`waitFor` or `subscribe` for that); a paused host stays paused.
   */
  replay(): Promise<void>;
  /** Dead letters, id ascending (payload bytes transferred). */
  failedJobs(options?: { limit?: number; after?: number }): Promise<Job[]>;
  /** Put dead letters back to queued with attempts 0. */
  requeue(ids: readonly number[]): Promise<boolean[]>;
  /** Connections and subscriptions the host holds. */
  info(): Promise<HostInfo>;
  /** Resolves with the error pending calls got when the worker went away (or close() was called). */
  readonly closed: Promise<Error>;
  /** Disconnect: releases this page's subscriptions in the worker; later calls reject. */
  close(): Promise<void>;
}
