/**
 * SchedulerManager: cron schedules registered by name, each due tick claimed atomically through
 * the store (`claimDueSchedules`), so several schedulers on one store run every tick once
 * (PgQueuer's SchedulerManager, in TypeScript).
 *
 * A claimed tick is marked run (next tick computed here with croner) BEFORE its handler starts:
 * a tick runs at most once even if the handler outlives the claim; a scheduler that dies between
 * claim and mark leaves the claim to go stale (`claimStaleAfter`), then another one runs it late.
 */
import { Cron } from 'croner';
import { type Clock, systemClock } from '../clock.js';
import { coerceError, InvalidArgumentError, isTideqError } from '../errors.js';
import type { QueueRepository, ScheduleRun } from '../port.js';
import type { Schedule, ScheduleInput } from '../types.js';
import { validateCount, validateEntrypoint, validateManagerId } from '../validation.js';
import { describeError } from './executor.js';
import { checkLogger, resolveLogger } from './logger.js';
import { checkResources, knownOptions, optionalMethods, optionalSignal } from './options.js';
import { randomId, systemTimers } from './timers.js';
import type { Logger, ScheduleHandler, ScheduleOptions, SchedulerManagerOptions, Timers } from './types.js';

/** A time no cron tick reaches: stored as nextRunAt of an expression without future ticks. */
const NEVER = 8.64e15;

interface Definition {
  name: string;
  entrypoint: string;
  expression: string;
  timezone: string | null;
  cron: Cron;
  handler: ScheduleHandler;
  missed: 'skip' | 'runOnce';
  missedGrace: number;
}

/**
 * Runs cron schedules. Every scheduler sharing a store should register the same schedules: a
 * schedule claimed by a scheduler that does not know it waits for the claim to go stale.
 *
 * @example
 * const scheduler = new SchedulerManager(repo).schedule('nightly-report', '0 2 * * *', async ({ scheduledAt }) => {
 *   await buildReport(new Date(scheduledAt));
 * }, { timezone: 'Europe/Paris' });
 * await scheduler.run({ signal });
 */
export class SchedulerManager {
  readonly id: string;
  readonly logger: Logger;
  readonly resources: Record<string, unknown>;
  readonly #repo: QueueRepository;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #staleAfter: number;
  readonly #pollInterval: number;
  readonly #defs = new Map<string, Definition>();
  readonly #warnedUnknown = new Set<string>();
  #active = false;

  constructor(repo: QueueRepository, options: SchedulerManagerOptions = {}) {
    const o = knownOptions(options, 'SchedulerManager options', [
      'id',
      'clock',
      'timers',
      'logger',
      'resources',
      'claimStaleAfter',
      'pollInterval',
    ] satisfies (keyof SchedulerManagerOptions)[]) as SchedulerManagerOptions;
    this.#repo = repo;
    this.id = o.id === undefined ? randomId('scheduler') : validateManagerId(o.id, 'SchedulerManager id');
    this.#clock = optionalMethods<Clock>(o.clock, 'clock', ['now']) ?? systemClock;
    this.#timers =
      optionalMethods<Timers>(o.timers, 'timers', ['setTimeout', 'clearTimeout']) ?? systemTimers;
    this.logger = resolveLogger(checkLogger(o.logger));
    this.resources = checkResources(o.resources);
    this.#staleAfter = validateCount(o.claimStaleAfter ?? 30_000, 'claimStaleAfter', 1);
    this.#pollInterval = validateCount(o.pollInterval ?? 10_000, 'pollInterval', 1);
  }

  /**
   * Register a cron schedule.
   *
   * @param name unique schedule name (entrypoint syntax); also the entrypoint unless options say otherwise
   * @param expression a cron expression (5 fields, or 6 with seconds), read in the `timezone` option (UTC by default).
   *   Six fields put SECONDS FIRST (croner's order: `sec min hour day month weekday`). PgQueuer (croniter) and
   *   some other tools put seconds last, so a ported schedule must move that field to the front, or it silently
   *   changes meaning: PgQueuer's `'0 2 * * * 30'` (daily at 02:00:30) is `'30 0 2 * * *'` here.
   * @param handler runs once per due tick; a throw is logged, the schedule goes on
   * @param given timezone, entrypoint, missed-tick policy
   */
  schedule(name: string, expression: string, handler: ScheduleHandler, given: ScheduleOptions = {}): this {
    if (this.#active) throw new InvalidArgumentError(`register schedule ${name} before run() starts`);
    validateEntrypoint(name, 'schedule name');
    const options = knownOptions(given, `schedule ${name}`, [
      'timezone',
      'entrypoint',
      'missed',
      'missedGrace',
    ] satisfies (keyof ScheduleOptions)[]) as ScheduleOptions;
    if (this.#defs.has(name)) throw new InvalidArgumentError(`schedule ${name} is already registered`);
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(`schedule ${name} needs a handler function`);
    const timezone = options.timezone ?? null;
    let cron: Cron;
    try {
      cron = new Cron(expression, { paused: true, timezone: timezone ?? 'UTC' });
      cron.nextRun(new Date(this.#clock.now())); // an unknown time zone only throws here
    } catch (error) {
      throw new InvalidArgumentError(
        `schedule ${name}: invalid cron expression ${JSON.stringify(expression)}${timezone ? ` in time zone ${timezone}` : ''}: ${describeError(coerceError(error))}`,
        { expression, timezone },
      );
    }
    const missed = options.missed ?? 'runOnce';
    if (missed !== 'skip' && missed !== 'runOnce') {
      throw new InvalidArgumentError(
        `schedule ${name}: missed must be 'skip' or 'runOnce', got ${String(missed)}`,
      );
    }
    this.#defs.set(name, {
      name,
      entrypoint: validateEntrypoint(options.entrypoint ?? name, 'schedule entrypoint'),
      expression,
      timezone,
      cron,
      handler,
      missed,
      missedGrace: validateCount(options.missedGrace ?? 10_000, `schedule ${name}: missedGrace`),
    });
    return this;
  }

  /**
   * Run due ticks until the signal aborts; then abort running handlers' signals and wait up to
   * `shutdownTimeout` ms (default 10000) for them.
   */
  async run(options: { signal?: AbortSignal; shutdownTimeout?: number } = {}): Promise<void> {
    if (this.#active) throw new InvalidArgumentError(`SchedulerManager ${this.id} is already running`);
    if (this.#defs.size === 0) throw new InvalidArgumentError('register at least one schedule before run()');
    const o = knownOptions(options, 'run options', ['signal', 'shutdownTimeout']) as typeof options;
    const shutdownTimeout = validateCount(o.shutdownTimeout ?? 10_000, 'shutdownTimeout');
    const signal = optionalSignal(o.signal, 'signal');
    this.#active = true;
    const handlers = new AbortController();
    const running = new Set<Promise<void>>();
    let wake: (() => void) | null = null;
    const onAbort = (): void => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      let failures = 0;
      // Until the store has answered once, an outage is waited out for as long as it lasts (a
      // scheduler may start before its database), as QueueManager does.
      let reached = false;
      while (!signal?.aborted) {
        let ms: number;
        try {
          if (!reached) {
            await this.#sync();
            reached = true;
            failures = 0;
          }
          await this.#tick(handlers.signal, running);
          if (signal?.aborted) break;
          ms = await this.#nextWait();
          failures = 0;
        } catch (thrown) {
          // A dropped connection: back off and try again; anything else ends the run.
          const error = coerceError(thrown);
          const transient = isTideqError(error) && error.code === 'STORAGE_UNAVAILABLE';
          if (!transient || (reached && ++failures > 10)) throw error;
          if (!reached) failures++;
          this.logger.error(
            reached
              ? `scheduler store call failed (retry ${failures} of 10): ${describeError(error)}`
              : `scheduler store call at start failed (retry ${failures}): ${describeError(error)}`,
            { error },
          );
          ms = Math.min(5000, 100 * 2 ** (Math.min(failures, 16) - 1));
        }
        await new Promise<void>((resolve) => {
          const timer = this.#timers.setTimeout(resolve, ms);
          wake = () => {
            this.#timers.clearTimeout(timer);
            resolve();
          };
          if (signal?.aborted) wake(); // aborted while the store was being asked
        });
        wake = null;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      handlers.abort(new DOMException(`SchedulerManager ${this.id} shut down`, 'AbortError'));
      if (running.size > 0) {
        let timer: unknown = null;
        await Promise.race([
          Promise.all(running),
          new Promise<void>((resolve) => {
            timer = this.#timers.setTimeout(resolve, Math.max(1, shutdownTimeout));
          }),
        ]);
        this.#timers.clearTimeout(timer);
      }
      this.#active = false;
    }
  }

  /** Store new or changed schedules; keep the stored nextRunAt of unchanged ones (missed ticks stay visible). */
  async #sync(): Promise<void> {
    const stored = new Map((await this.#repo.listSchedules()).map((s) => [s.name, s]));
    const now = this.#clock.now();
    const upserts: ScheduleInput[] = [];
    for (const def of this.#defs.values()) {
      const s = stored.get(def.name);
      if (
        s &&
        s.expression === def.expression &&
        s.timezone === def.timezone &&
        s.entrypoint === def.entrypoint
      )
        continue;
      upserts.push({
        name: def.name,
        entrypoint: def.entrypoint,
        expression: def.expression,
        timezone: def.timezone,
        nextRunAt: nextTick(def, now),
      });
    }
    if (upserts.length > 0) await this.#repo.upsertSchedules(upserts);
  }

  /** Claim due ticks, mark them, start their handlers. */
  async #tick(signal: AbortSignal, running: Set<Promise<void>>): Promise<void> {
    const claimed = await this.#repo.claimDueSchedules({ claimerId: this.id, staleAfter: this.#staleAfter });
    if (claimed.length === 0) return;
    const now = this.#clock.now();
    const runs: ScheduleRun[] = [];
    const starts: { def: Definition; schedule: Schedule; skip: boolean }[] = [];
    for (const schedule of claimed) {
      const def = this.#defs.get(schedule.name);
      if (def === undefined) {
        if (!this.#warnedUnknown.has(schedule.name)) {
          this.#warnedUnknown.add(schedule.name);
          this.logger.warn(
            `schedule ${schedule.name} is not registered on scheduler ${this.id}; its claim goes stale`,
            {
              schedule: schedule.name,
            },
          );
        }
        continue;
      }
      const skip = def.missed === 'skip' && now - schedule.nextRunAt > def.missedGrace;
      runs.push({ name: def.name, claimerId: this.id, nextRunAt: nextTick(def, now) });
      starts.push({ def, schedule, skip });
    }
    if (runs.length === 0) return;
    const marked = await this.#repo.markScheduleRun(runs);
    starts.forEach(({ def, schedule, skip }, i) => {
      if (!marked[i]) return; // the claim went stale and passed to another scheduler
      if (skip) {
        this.logger.info(
          `schedule ${def.name}: skipped the tick missed at ${new Date(schedule.nextRunAt).toISOString()}`,
        );
        return;
      }
      const p = this.#runHandler(def, schedule, signal);
      running.add(p);
      void p.finally(() => running.delete(p));
    });
  }

  async #runHandler(def: Definition, schedule: Schedule, signal: AbortSignal): Promise<void> {
    try {
      await def.handler({
        schedule,
        scheduledAt: schedule.nextRunAt,
        signal,
        resources: this.resources,
        logger: this.logger,
      });
    } catch (thrown) {
      const error = coerceError(thrown);
      this.logger.error(`schedule ${def.name} failed: ${describeError(error)}`, {
        schedule: def.name,
        error,
      });
    }
  }

  /** ms until the earliest own schedule is due; soon again if one is due but claimed elsewhere. */
  async #nextWait(): Promise<number> {
    const now = this.#clock.now();
    let ms = this.#pollInterval;
    for (const s of await this.#repo.listSchedules()) {
      if (!this.#defs.has(s.name)) continue;
      const wait = s.nextRunAt > now ? s.nextRunAt - now : Math.min(1000, this.#staleAfter);
      if (wait < ms) ms = wait;
    }
    return Math.max(1, ms);
  }
}

function nextTick(def: Definition, now: number): number {
  const next = def.cron.nextRun(new Date(now));
  return next === null ? NEVER : next.getTime();
}
