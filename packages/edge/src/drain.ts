/**
 * A drain pass bounded by a time budget, on the runtime's own QueueManager (its retry policy,
 * timeouts, heartbeats and shutdown): dispatching stops `graceMs` before the budget ends, running
 * jobs get half the grace to finish, and the rest are handed back with `retry` (due at once), so
 * the next drain runs them. If the isolate is killed first, its picked jobs stay picked and come
 * back through their entrypoint's `retryTimer` (set one on every entrypoint an edge drain runs).
 */
import { InvalidArgumentError, type QueueManager, type QueueRepository } from '@tideq/core';

/** How long one drain may take. */
export interface DrainBudget {
  /**
   * Wall-clock ms for the whole pass, report included (default 10000: under half of Vercel Edge's
   * 25 s to the first byte; Cloudflare cron triggers and Deno Deploy allow more, raise it there).
   */
  ms?: number;
  /** ms before the end when dispatching stops (default: a fifth of `ms`, at most 2000). */
  graceMs?: number;
}

/** What a drain did (the body of POST /drain). */
export interface DrainReport {
  /** Jobs picked and started. */
  processed: number;
  succeeded: number;
  /** Failed attempts sent back with backoff, plus jobs handed back unfinished at the budget. */
  retried: number;
  /** Of `retried`: still running when the budget ran out, handed back due at once. */
  handedBack: number;
  /** Dead letters (`failed`) and `exception`s. */
  failed: number;
  /** Jobs of the manager's entrypoints still queued (due now or later). */
  remaining: number;
  ms: number;
  /** The budget, not the queue, ended the pass. */
  stoppedEarly: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: any registry of entrypoints
type AnyManager = QueueManager<any>;

/** @internal Resolve the budget to concrete numbers, checking them. */
export function resolveBudget(budget: DrainBudget | undefined): { ms: number; graceMs: number } {
  const ms = budget?.ms ?? 10_000;
  if (!Number.isSafeInteger(ms) || ms < 10)
    throw new InvalidArgumentError(`budget.ms must be an integer >= 10, got ${ms}`);
  const graceMs = budget?.graceMs ?? Math.min(2000, Math.floor(ms / 5));
  if (!Number.isSafeInteger(graceMs) || graceMs < 2 || graceMs >= ms) {
    throw new InvalidArgumentError(`budget.graceMs must be an integer in 2..${ms - 1}, got ${graceMs}`);
  }
  return { ms, graceMs };
}

function runningJobs(manager: AnyManager): number {
  let n = 0;
  for (const s of Object.values(manager.stats())) n += s.running;
  return n;
}

/** @internal One pass: run `manager` on `store` until nothing is due now or the budget is spent. */
export async function drainPass(
  store: QueueRepository,
  manager: AnyManager,
  budget: { ms: number; graceMs: number },
): Promise<DrainReport> {
  const started = Date.now();
  const names = Object.keys(manager.stats());
  const stop = new AbortController();
  let stoppedEarly = false;
  const timer = setTimeout(
    () => {
      stoppedEarly = true;
      stop.abort();
    },
    Math.max(1, budget.ms - budget.graceMs),
  );
  // 'drain' mode ends on its own once nothing is queued; jobs due later (a retry's backoff) would
  // keep it waiting, so the pass also ends when the manager is idle with nothing due now.
  let idle = false;
  let checking = false;
  let settled = 0;
  const checkIdle = async (): Promise<void> => {
    if (checking || stop.signal.aborted || !idle || runningJobs(manager) > 0) return;
    checking = true;
    try {
      const due = await store.nextDueAt(names);
      if (idle && runningJobs(manager) === 0 && (due === null || due > Date.now())) stop.abort();
    } catch {
      // The run itself reports store failures.
    } finally {
      checking = false;
    }
  };
  const offState = manager.on('state', ({ state }) => {
    idle = state === 'idle';
    if (idle) void checkIdle();
  });
  const offJob = manager.on('job', () => {
    settled++;
    // After the manager's own next pass (it may pick more), look again.
    if (idle) setTimeout(() => void checkIdle(), 0);
  });
  const before = total(manager);
  try {
    await manager.run({
      mode: 'drain',
      signal: stop.signal,
      shutdownTimeout: Math.floor(budget.graceMs / 2),
    });
  } finally {
    clearTimeout(timer);
    offState();
    offJob();
  }
  const after = total(manager);
  let remaining = 0;
  const wanted = new Set(names);
  for (const row of await store.queueSize())
    if (row.status === 'queued' && wanted.has(row.entrypoint)) remaining += row.count;
  const processed = after.picked - before.picked;
  return {
    processed,
    succeeded: after.successful - before.successful,
    retried: after.retried - before.retried,
    // A run ends with a job event, except when shutdown hands it back (and a stale re-pick of a run
    // still going, which is not counted as picked either).
    handedBack: Math.max(0, processed - settled),
    failed: after.failed - before.failed,
    remaining,
    ms: Date.now() - started,
    stoppedEarly,
  };
}

function total(manager: AnyManager): { picked: number; successful: number; retried: number; failed: number } {
  const t = { picked: 0, successful: 0, retried: 0, failed: 0 };
  for (const s of Object.values(manager.stats())) {
    t.picked += s.picked;
    t.successful += s.successful;
    t.retried += s.retried;
    t.failed += s.failed + s.exception;
  }
  return t;
}
