/** Waiting for jobs to finish, on the store's event stream (no polling loop). */
import { coerceError, InvalidArgumentError, TimeoutError } from '../errors.js';
import type { QueueRepository } from '../port.js';
import type { JobEvent, JobStatus } from '../types.js';
import { systemTimers } from './timers.js';
import type { Timers } from './types.js';

/** How long `waitFor` waits, and what stops it. */
export interface WaitForOptions {
  /** Reject with a TimeoutError after this many ms (default: wait as long as it takes). */
  timeout?: number;
  /** Reject with the signal's reason when it aborts. */
  signal?: AbortSignal;
  /** Timers for the timeout (default: the global setTimeout). */
  timers?: Timers;
}

/** A status a job does not leave by itself: terminal, or `failed` (a dead letter until requeued). */
function isSettled(status: JobStatus | null): boolean {
  return status !== null && status !== 'queued' && status !== 'picked';
}

/**
 * Resolve once every job is terminal (successful, exception, canceled, deleted) or `failed`, with
 * their statuses in the order of `ids`. Subscribes first, then reads `jobStatus`, so a job that
 * finishes in between is seen either way.
 *
 * @param repo the store
 * @param ids job ids returned by enqueue
 * @param options timeout (TimeoutError), signal (rejects with its reason), timers
 * @example
 * const [status] = await waitFor(repo, [id], { timeout: 30_000 }); // 'successful'
 */
export async function waitFor(
  repo: QueueRepository,
  ids: readonly number[],
  options: WaitForOptions = {},
): Promise<JobStatus[]> {
  if (!Array.isArray(ids)) throw new InvalidArgumentError('waitFor needs an array of job ids');
  const { signal, timeout } = options;
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout >= 0)) {
    throw new InvalidArgumentError(
      `waitFor timeout must be a finite number of ms >= 0, got ${String(timeout)}`,
    );
  }
  signal?.throwIfAborted();
  if (ids.length === 0) return [];

  const timers = options.timers ?? systemTimers;
  const statuses = new Map<number, JobStatus | null>();
  for (const id of ids) statuses.set(id, null);
  let remaining = statuses.size;
  let settle!: (error: Error | null) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === null ? resolve() : reject(error));
  });
  // Awaited below; this keeps an early rejection (abort during subscribe) from being reported as unhandled.
  finished.catch(() => {});
  let done = false;
  const finish = (error: Error | null): void => {
    if (done) return;
    done = true;
    settle(error);
  };
  const record = (id: number, status: JobStatus | null): void => {
    if (!isSettled(status) || !statuses.has(id) || isSettled(statuses.get(id) ?? null)) return;
    statuses.set(id, status);
    if (--remaining === 0) finish(null);
  };
  const onEvents = (events: readonly JobEvent[]): void => {
    for (const event of events) record(event.jobId, event.status);
  };

  const onAbort = (): void => finish(coerceError(signal?.reason));
  signal?.addEventListener('abort', onAbort);
  let timer: unknown = null;
  if (timeout !== undefined) {
    timer = timers.setTimeout(
      () =>
        finish(
          new TimeoutError(`jobs not finished after ${timeout} ms: ${pending(statuses).join(', ')}`, {
            details: { ids: pending(statuses) },
          }),
        ),
      timeout,
    );
  }
  const unsubscribe = await repo.subscribe(onEvents).catch((e: unknown) => {
    finish(coerceError(e));
    return null;
  });
  try {
    if (!done) {
      const current = await repo.jobStatus([...statuses.keys()]);
      const unknown: number[] = [];
      [...statuses.keys()].forEach((id, i) => {
        if (current[i] === null) unknown.push(id);
        else record(id, current[i]!);
      });
      if (unknown.length > 0) {
        finish(
          new InvalidArgumentError(`waitFor: no job with id ${unknown.join(', ')} exists in this store`, {
            ids: unknown,
          }),
        );
      }
    }
    await finished;
  } catch (error) {
    // jobStatus rejected: end the wait with its error.
    finish(coerceError(error));
    await finished;
  } finally {
    if (timer !== null) timers.clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (unsubscribe) await unsubscribe();
  }
  return ids.map((id) => statuses.get(id)!);
}

function pending(statuses: Map<number, JobStatus | null>): number[] {
  return [...statuses].filter(([, s]) => !isSettled(s)).map(([id]) => id);
}
