/**
 * Shared plumbing of the conformance suite: the per-scenario repository and clock, the options,
 * and small helpers that keep scenarios short. @internal
 */
import { afterEach, beforeEach, expect } from 'vitest';
import { ManualClock } from '../../clock.js';
import type { TideqErrorCode } from '../../errors.js';
import type { DequeueOptions, EntrypointLimits, QueueRepository } from '../../port.js';
import type { Job, JobEvent, NewJob } from '../../types.js';
import { DEFAULT_LIMITS, type Limits } from '../../validation.js';
import { dumpRepository } from '../dump.js';

/** Creates a fresh, installed, empty repository that reads time from `ctx.clock`. */
export type RepositoryFactory = (ctx: { clock: ManualClock }) => Promise<QueueRepository>;

/** Options of `defineConformanceSuite`. */
export interface ConformanceOptions {
  /** Timeout of each scenario and of its setup/teardown, ms (default 5000; raise for remote stores). */
  timeout?: number;
  /** How long to wait for asynchronous event delivery, ms (default 2000). */
  eventTimeout?: number;
  /** The limits the factory configures its adapter with (default DEFAULT_LIMITS). */
  limits?: Partial<Limits>;
  /** Start time of each scenario's ManualClock (default 1_700_000_000_000, a whole second). */
  startTime?: number;
}

export interface ResolvedOptions {
  timeout: number;
  eventTimeout: number;
  limits: Limits;
  startTime: number;
}

export function resolveOptions(options: ConformanceOptions = {}): ResolvedOptions {
  return {
    timeout: options.timeout ?? 5000,
    eventTimeout: options.eventTimeout ?? 2000,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    startTime: options.startTime ?? 1_700_000_000_000,
  };
}

/** What each scenario works with; `repo` and `clock` are fresh per scenario. */
export interface Ctx {
  readonly repo: QueueRepository;
  readonly clock: ManualClock;
  readonly options: ResolvedOptions;
  /** The clock's start time (a whole second). */
  readonly t0: number;
}

/**
 * Register beforeEach/afterEach hooks that give every scenario of the current describe block a
 * fresh repository and clock, and close the repository afterwards.
 */
export function useRepository(factory: RepositoryFactory, options: ResolvedOptions): Ctx {
  let repo: QueueRepository | undefined;
  let clock: ManualClock | undefined;
  beforeEach(async () => {
    clock = new ManualClock(options.startTime);
    repo = await factory({ clock });
  }, options.timeout);
  afterEach(async () => {
    const r = repo;
    repo = undefined;
    await r?.close();
  }, options.timeout);
  return {
    get repo() {
      if (repo === undefined) throw new Error('conformance: no repository outside a scenario');
      return repo;
    },
    get clock() {
      if (clock === undefined) throw new Error('conformance: no clock outside a scenario');
      return clock;
    },
    options,
    t0: Math.floor(options.startTime),
  };
}

/** Each scenario-group module exports one of these. */
export type ScenarioGroup = (factory: RepositoryFactory, options: ResolvedOptions) => void;

// ---- helpers ----------------------------------------------------------------------------------

export function job(entrypoint = 'a', extra: Omit<NewJob, 'entrypoint'> = {}): NewJob {
  return { entrypoint, ...extra };
}

/** Enqueue and return the ids, failing the scenario if any position was skipped. */
export async function enqueueIds(repo: QueueRepository, jobs: readonly NewJob[]): Promise<number[]> {
  const ids = await repo.enqueue(jobs);
  expect(ids.every((id) => typeof id === 'number')).toBe(true);
  return ids as number[];
}

export function limitsFor(
  entrypoints: readonly string[],
  limits: EntrypointLimits = {},
): Record<string, EntrypointLimits> {
  return Object.fromEntries(entrypoints.map((e) => [e, { ...limits }]));
}

/** dequeue with defaults: batchSize 100, entrypoint 'a', manager 'm1'. */
export function dequeue(repo: QueueRepository, options: Partial<DequeueOptions> = {}): Promise<Job[]> {
  return repo.dequeue({
    batchSize: 100,
    entrypoints: { a: {} },
    queueManagerId: 'm1',
    ...options,
  });
}

export function ids(jobs: readonly { id: number }[]): number[] {
  return jobs.map((j) => j.id);
}

/** Assert that `promise` rejects with a TideqError of `code`; returns the error. */
export async function expectCode(
  promise: Promise<unknown>,
  code: TideqErrorCode,
): Promise<Error & { code: string }> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a rejection with ${code}`).toBeInstanceOf(Error);
  expect((caught as { code?: unknown }).code).toBe(code);
  return caught as Error & { code: string };
}

/** Assert that `call` rejects with `code` and leaves every observable state as it was. */
export async function expectRejectedUnchanged(
  repo: QueueRepository,
  code: TideqErrorCode,
  call: () => Promise<unknown>,
): Promise<Error & { code: string }> {
  const before = await dumpRepository(repo);
  const error = await expectCode(call(), code);
  expect(await dumpRepository(repo, { maxId: before.maxId })).toEqual(before);
  return error;
}

/** Everything in the log (all pages). */
export async function allLog(repo: QueueRepository, after = 0): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  for (;;) {
    const page = await repo.log({ after, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.seq;
  }
}

/** The highest seq in the log, 0 when empty. */
export async function lastSeq(repo: QueueRepository): Promise<number> {
  const rows = await allLog(repo);
  return rows.length === 0 ? 0 : rows[rows.length - 1]!.seq;
}

/** Wait (real time, polling every few ms) until `check` returns true, or fail after `timeout` ms. */
export async function waitUntil(check: () => boolean, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`conformance: timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}
