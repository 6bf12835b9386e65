/**
 * Default retention, applied by the runtime: without it a store's log and statistics grow with
 * every job forever (issue #11: a WASM queue that ran 3M jobs held 959 MB, `log({ after: 0 })`
 * still returned seq 1). Every running QueueManager of a store (in this process) shares ONE
 * compactor, so many managers do not multiply the work.
 */
import { coerceError } from '../errors.js';
import type { QueueRepository, Retention } from '../port.js';
import { validateCount } from '../validation.js';
import { knownOptions } from './options.js';
import type { Timers } from './types.js';

/** What a QueueManager's `retention` option resolves to. */
export interface RetentionPolicy {
  /** Log rows kept (newest). */
  maxRecords: number;
  /** ms log rows and statistics buckets are kept. */
  maxAge: number;
  /** ms between compactions on the timer (a busy store is also compacted every maxRecords / 2 rows). */
  every: number;
}

/**
 * The default: the newest 100,000 log rows, nothing older than 24 hours, statistics for 24 hours,
 * compacted every minute and after every 50,000 rows written by this process's managers.
 */
export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = Object.freeze({
  maxRecords: 100_000,
  maxAge: 24 * 60 * 60 * 1000,
  every: 60_000,
});

/** @internal The `retention` option checked: false (off), or the policy with defaults filled in. */
export function resolveRetention(value: unknown): RetentionPolicy | false {
  if (value === false) return false;
  const o = knownOptions(value, 'retention', ['maxRecords', 'maxAge', 'every']);
  return {
    maxRecords: validateCount(o.maxRecords ?? DEFAULT_RETENTION.maxRecords, 'retention.maxRecords'),
    maxAge: validateCount(o.maxAge ?? DEFAULT_RETENTION.maxAge, 'retention.maxAge'),
    every: validateCount(o.every ?? DEFAULT_RETENTION.every, 'retention.every', 1),
  };
}

/** Log rows a finished job has written (enqueued, picked, completed). */
const ROWS_PER_JOB = 3;

interface Compactor {
  users: number;
  policy: RetentionPolicy;
  timers: Timers;
  timer: unknown;
  rowsSince: number;
  running: Promise<void> | null;
  report: (error: Error) => void;
}

const compactors = new WeakMap<QueueRepository, Compactor>();

/** @internal One manager's handle on its store's shared compactor. */
export interface RetentionHandle {
  /** `jobs` finished (completed or retried) by this manager: compacts early on a busy store. */
  noteJobs(jobs: number): void;
  /** This manager stopped; the last one to stop ends the timer. */
  stop(): void;
}

/**
 * Join (or start) the store's compactor. The first manager's policy, timers and error reporter
 * apply while any manager of the store runs. The entry lives as long as the repository object
 * (a WeakMap), so rows counted by earlier managers still count.
 */
export function joinRetention(
  repo: QueueRepository,
  policy: RetentionPolicy,
  timers: Timers,
  report: (error: Error) => void,
): RetentionHandle {
  let c = compactors.get(repo);
  if (c === undefined) {
    c = { users: 0, policy, timers, timer: null, rowsSince: 0, running: null, report };
    compactors.set(repo, c);
  }
  // The row count survives between managers (an edge drain runs one short-lived manager per
  // request): many short runs still add up to a compaction.
  if (c.users === 0) {
    c.policy = policy;
    c.timers = timers;
    c.report = report;
    arm(repo, c);
  }
  c.users++;
  const shared = c;
  let stopped = false;
  return {
    noteJobs(jobs) {
      shared.rowsSince += jobs * ROWS_PER_JOB;
      if (shared.rowsSince >= Math.max(1000, shared.policy.maxRecords / 2)) compact(repo, shared);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (--shared.users > 0) return;
      if (shared.timer !== null) shared.timers.clearTimeout(shared.timer);
      shared.timer = null;
    },
  };
}

function arm(repo: QueueRepository, c: Compactor): void {
  c.timer = c.timers.setTimeout(() => {
    c.timer = null;
    if (c.users === 0) return;
    compact(repo, c);
    arm(repo, c);
  }, c.policy.every);
}

/** One compaction at a time per store; a request while one runs is served by it. */
function compact(repo: QueueRepository, c: Compactor): void {
  if (c.running !== null) return;
  c.rowsSince = 0;
  const retention: Retention = { maxRecords: c.policy.maxRecords, maxAge: c.policy.maxAge };
  c.running = repo
    .compact(retention)
    .then(
      () => {},
      (error: unknown) => c.report(coerceError(error)),
    )
    .finally(() => {
      c.running = null;
    });
}
