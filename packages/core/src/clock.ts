/** Where every adapter and the runtime get the time: integer epoch milliseconds. */
export interface Clock {
  /** The current time, integer epoch milliseconds. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that moves only when told to, for deterministic tests of delays, heartbeats,
 * rate limits and schedules.
 *
 * @example
 * const clock = new ManualClock(Date.UTC(2026, 0, 1));
 * clock.advance(1_000);
 */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = 1_700_000_000_000) {
    this.#now = Math.floor(start);
  }
  /** The time this clock was set or advanced to. */
  now(): number {
    return this.#now;
  }
  /** Move forward by `ms` (negative values are rejected: time never runs backwards). */
  advance(ms: number): number {
    if (!(ms >= 0) || !Number.isFinite(ms))
      throw new RangeError(`ManualClock.advance needs a finite ms >= 0, got ${ms}`);
    this.#now += Math.floor(ms);
    return this.#now;
  }
  /** Jump to `epochMs` (not earlier than now: time never runs backwards). */
  set(epochMs: number): void {
    if (!Number.isFinite(epochMs) || Math.floor(epochMs) < this.#now) {
      throw new RangeError(`ManualClock.set needs a finite time >= now (${this.#now}), got ${epochMs}`);
    }
    this.#now = Math.floor(epochMs);
  }
}
