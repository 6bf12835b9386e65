/**
 * What the page and the engine Worker say to each other: the playground's configuration, the
 * requests the page makes, and the periodic snapshot the engine answers with. Types only.
 */
import type { Job, JobEvent, JobStatus, Schedule } from '@tideq/core';

/** Where the queue lives. */
export type StoreKind = 'memory' | 'durable' | 'indexeddb' | 'postgres';

/** One entrypoint: the simulated handler's behaviour and the limits passed to the library. */
export interface EntrypointConfig {
  name: string;
  /** ms a run takes (uniformly +-50% when jitter is on). */
  durationMs: number;
  /** 0..100: percent of runs that throw. */
  failurePercent: number;
  /** 0..100: percent of runs that never finish (until timeout, cancel or kill). */
  hangPercent: number;
  concurrencyLimit: number;
  requestsPerSecond: number;
  retryTimer: number;
  maxAttempts: number;
  /** ms; 0 = none. */
  timeout: number;
  /** ms of the first retry's backoff. */
  retryDelay: number;
}

export interface WorkerConfig {
  batchSize: number;
  maxConcurrentTasks: number;
}

export interface ScheduleConfig {
  name: string;
  expression: string;
  /** The entrypoint each tick enqueues jobs of. */
  entrypoint: string;
  jobsPerTick: number;
}

export interface PlaygroundConfig {
  store: StoreKind;
  entrypoints: EntrypointConfig[];
  worker: WorkerConfig;
  schedules: ScheduleConfig[];
  paused: boolean;
}

export interface EnqueueRequest {
  entrypoint: string;
  count: number;
  priority: number;
  delayMs: number;
  dedupeKey: string;
  payloadBytes: number;
}

export interface ConfigureResult {
  info: StoreInfo;
  /** A new host serves the port the page passed: the page connects its facade to it. */
  connected: boolean;
}

export interface JobFilter {
  status: JobStatus | 'held' | 'all';
  entrypoint: string;
  /** Matched against the payload decoded as text. */
  text: string;
}

/** One row of the jobs list. */
export interface JobRow {
  id: number;
  entrypoint: string;
  status: JobStatus;
  priority: number;
  attempts: number;
}

export interface JobPage {
  total: number;
  offset: number;
  rows: JobRow[];
  /** True when a payload search stopped early (it scans at most a bounded number of jobs). */
  truncated: boolean;
}

export interface JobDetail {
  job: Job | null;
  /** The latest status, also after the job left the store. */
  status: JobStatus | null;
  events: JobEvent[];
}

/** Segment codes of the slot timeline. */
export const OUTCOME = {
  running: 0,
  successful: 1,
  retry: 2,
  failed: 3,
  exception: 4,
  cancelled: 5,
  timeout: 6,
  killed: 7,
} as const;
export type OutcomeCode = (typeof OUTCOME)[keyof typeof OUTCOME];

/** Fields per segment in {@link Snapshot.segments}: slot, start, end, outcome, attempt, job id, entrypoint index. */
export const SEGMENT_FIELDS = 7;

export interface SeriesPoint {
  /** Start of the one-second bucket (epoch ms). */
  second: number;
  successful: number;
  retried: number;
  failed: number;
  enqueued: number;
  waitP50: number;
  waitP95: number;
  runP50: number;
  runP95: number;
}

export interface StoreInfo {
  kind: StoreKind;
  /** What the store is, in words (the driver for Postgres). */
  label: string;
  /** Whether picked jobs survive the worker (kill-the-worker recovers them). */
  durable: boolean;
}

export interface Snapshot {
  at: number;
  store: StoreInfo;
  state: 'starting' | 'running' | 'paused' | 'error';
  error: string | null;
  /** Jobs in the store by status (queued, picked, failed) plus terminal transitions seen. */
  counts: Record<JobStatus, number>;
  retried: number;
  /** Closed segments since the previous snapshot, then the running ones (outcome running), flat. */
  segments: Float64Array;
  slots: number;
  series: SeriesPoint[];
  log: JobEvent[];
  schedules: Schedule[];
  /** Bumped whenever the job index changed: the page refreshes its list then. */
  indexVersion: number;
}

/** Servers tell the page about Postgres through GET /api/pg/info. */
export interface PostgresInfo {
  available: boolean;
  driver: string | null;
  database: string | null;
  hint: string | null;
}
