/**
 * One job run: the handler context, the built-in retry policy, and the async function that runs
 * a handler and turns its result or throw into an outcome (handler failure is data, never a crash).
 */
import { coerceError } from '../errors.js';
import type { EntrypointLimits } from '../port.js';
import type { Job } from '../types.js';
import type { EntrypointCounters } from './stats.js';
import type { Codec, ExecutionOutcome, Executor, Handler, JobContext, Logger, RetryPolicy } from './types.js';

/** @internal An entrypoint as registered, options resolved. */
export interface Entry {
  name: string;
  handler: Handler<unknown>;
  codec: Codec<unknown>;
  limits: EntrypointLimits;
  maxAttempts: number;
  retry: Required<RetryPolicy>;
  deadLetter: boolean;
  timeout: number;
  executor: Executor<unknown> | undefined;
  counters: EntrypointCounters;
  /** Runs with a timeout in start order; deadlines only grow, so the head expires first. */
  deadlines: RunningJob[];
  deadlineHead: number;
}

/** @internal What a run reports back to its manager. */
export interface RunHost {
  readonly resources: Record<string, unknown>;
  readonly logger: Logger;
  succeed(run: RunningJob): void;
  settle(run: RunningJob, outcome: ExecutionOutcome, error: Error | null): void;
  now(): number;
}

const NOT_DECODED: unique symbol = Symbol('not decoded');

/**
 * @internal The context handed to a handler, and the manager's record of the run. One object per
 * run; the AbortController is created only when a handler reads `signal` (most never do), and the
 * payload is decoded on first read so a codec error becomes a failure of the run, not of the loop.
 */
export class RunningJob implements JobContext<unknown> {
  readonly job: Job;
  readonly entry: Entry;
  readonly host: RunHost;
  readonly pickedAt: number;
  /** Set once the manager has decided the outcome; later handler results are ignored. */
  settled = false;
  deadline = 0;
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;
  #payload: unknown = NOT_DECODED;

  constructor(job: Job, entry: Entry, host: RunHost, pickedAt: number) {
    this.job = job;
    this.entry = entry;
    this.host = host;
    this.pickedAt = pickedAt;
  }

  get payload(): unknown {
    if (this.#payload === NOT_DECODED) this.#payload = this.entry.codec.decode(this.job.payload);
    return this.#payload;
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  get attempt(): number {
    return this.job.attempts;
  }

  get resources(): Record<string, unknown> {
    return this.host.resources;
  }

  get logger(): Logger {
    return this.host.logger;
  }

  abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}

/** @internal Runs one job to an outcome and reports it; never rejects. */
export async function runJob(run: RunningJob): Promise<void> {
  const entry = run.entry;
  if (entry.executor === undefined) {
    try {
      await entry.handler(run);
    } catch (thrown) {
      if (run.settled) return;
      const error = coerceError(thrown);
      run.host.settle(run, failureOutcome(entry, run.job, error, run.host.now()), error);
      return;
    }
    if (!run.settled) run.host.succeed(run);
    return;
  }
  let outcome: ExecutionOutcome;
  let error: Error | null = null;
  try {
    outcome = await entry.executor(run, async () => entry.handler(run));
    if (!isOutcome(outcome)) {
      throw new TypeError(
        `executor of ${entry.name} returned ${safeJson(outcome)}, not an ExecutionOutcome ({ status, error?, executeAfter? })`,
      );
    }
  } catch (thrown) {
    error = coerceError(thrown);
    outcome = failureOutcome(entry, run.job, error, run.host.now());
  }
  if (!run.settled) run.host.settle(run, outcome, error);
}

function isOutcome(value: unknown): value is ExecutionOutcome {
  if (typeof value !== 'object' || value === null) return false;
  const o = value as { status?: unknown; executeAfter?: unknown; error?: unknown };
  if (o.status === 'successful') return true;
  if (typeof o.error !== 'string') return false;
  if (o.status === 'retry') return typeof o.executeAfter === 'number' && Number.isFinite(o.executeAfter);
  return o.status === 'failed' || o.status === 'exception';
}

/** @internal The built-in policy: retry with backoff while attempts remain and the error is retryable. */
export function failureOutcome(entry: Entry, job: Job, error: Error, now: number): ExecutionOutcome {
  const message = describeError(error);
  const exhausted = entry.maxAttempts > 0 && job.attempts >= entry.maxAttempts;
  let retryable = false;
  if (!exhausted) {
    try {
      retryable = entry.retry.retryable(error, job);
    } catch {
      retryable = false; // a throwing predicate counts as "not retryable"
    }
  }
  if (retryable)
    return { status: 'retry', executeAfter: now + backoffDelay(entry.retry, job.attempts), error: message };
  return { status: entry.deadLetter ? 'failed' : 'exception', error: message };
}

/** @internal Delay before retrying after `attempt` runs (1-based), jitter applied. */
export function backoffDelay(policy: Required<RetryPolicy>, attempt: number): number {
  const raw = policy.baseDelay * policy.factor ** Math.max(0, attempt - 1);
  const delay = Math.min(policy.maxDelay, Number.isFinite(raw) ? raw : policy.maxDelay);
  return Math.floor(delay * (1 - policy.jitter * Math.random()));
}

/** @internal The text recorded for an error: `Name: message`. */
export function describeError(error: Error): string {
  return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
