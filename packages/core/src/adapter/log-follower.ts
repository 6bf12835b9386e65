/**
 * A subscriber that follows a store's log from a cursor, for stores whose events are committed
 * elsewhere (another process or tab): a wakeup (a NOTIFY, a BroadcastChannel message, a poll
 * timer) makes it read the rows after its cursor and deliver them. Wakeups that arrive during a
 * read are coalesced; a wakeup that carries the rows themselves is delivered without a read.
 */
import type { EventListener } from '../port.js';
import type { JobEvent, JobEventKind } from '../types.js';
import { deliverEvents } from './event-fanout.js';

/** Reads log rows with seq > after, ascending, at most `limit`. */
export type LogReader = (after: number, limit: number) => Promise<readonly JobEvent[]>;

const READ_SPACING_MS = 5;
const PAGE = 1000;

/** Follows a store's log from a cursor and delivers the rows to one listener (see the module comment). */
export class LogFollower {
  /** Seq of the last row delivered (or skipped as unwanted). */
  cursor: number;
  stopped = false;
  readonly #readLog: LogReader;
  readonly #listener: EventListener;
  readonly #kinds: ReadonlySet<JobEventKind> | null;
  readonly #kindList: readonly JobEventKind[];
  #running: Promise<void> | null = null;
  #dirty = false;
  #reportedReadError = false;
  #lastRead = 0;

  /**
   * @param readLog the store's log read (errors are reported once per outage and retried on the next wakeup)
   * @param after deliver rows with seq > after
   * @param kinds deliver only these kinds (null: all)
   */
  constructor(
    readLog: LogReader,
    listener: EventListener,
    after: number,
    kinds: ReadonlySet<JobEventKind> | null,
  ) {
    this.#readLog = readLog;
    this.#listener = listener;
    this.cursor = after;
    this.#kinds = kinds;
    this.#kindList = kinds === null ? [] : [...kinds];
  }

  #deliver(events: readonly JobEvent[]): void {
    const kinds = this.#kinds;
    const wanted = kinds === null ? events : events.filter((e) => kinds.has(e.kind));
    if (wanted.length > 0) deliverEvents(this.#listener, wanted);
  }

  /** Read what is new after the cursor; coalesces wakeups that arrive during a read. */
  wake(): void {
    if (this.stopped) return;
    if (this.#running !== null) {
      this.#dirty = true;
      return;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = null;
      this.#lastRead = 0; // the next wakeup after an idle spell reads at once
    });
  }

  /**
   * Log rows first..last carried by a wakeup (`load` decodes them, once for all followers; null
   * if it cannot). Wakeups must arrive in commit order, which is seq order: rows that continue
   * the cursor are delivered as they are; anything else (a gap, a read in flight) falls back to
   * reading the log. `mayHold(kind)` false for every wanted kind skips the rows undecoded.
   */
  offer(
    first: number,
    last: number,
    load: () => readonly JobEvent[] | null,
    mayHold?: (kind: JobEventKind) => boolean,
  ): void {
    if (this.stopped) return;
    if (this.#running !== null || first > this.cursor + 1) {
      this.wake();
      return;
    }
    if (last <= this.cursor) return;
    if (this.#kinds !== null && mayHold !== undefined && !this.#kindList.some(mayHold)) {
      this.cursor = last;
      return;
    }
    const events = load();
    if (events === null || events.length === 0) {
      this.wake();
      return;
    }
    const fresh = first > this.cursor ? events : events.filter((e) => e.seq > this.cursor);
    this.cursor = last;
    this.#deliver(fresh);
  }

  async #drain(): Promise<void> {
    do {
      // Under load (wakeups arriving while a read runs) read at most every READ_SPACING_MS, so
      // a burst of commits costs one read, not one each; an idle follower reads at once.
      if (this.#lastRead > 0) {
        const wait = this.#lastRead + READ_SPACING_MS - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (this.stopped) return;
      }
      this.#lastRead = performance.now();
      this.#dirty = false;
      try {
        for (;;) {
          const rows = await this.#readLog(this.cursor, PAGE);
          if (rows.length === 0 || this.stopped) break;
          // Seq order is commit order, so nothing can appear below the cursor later.
          this.cursor = rows[rows.length - 1]!.seq;
          this.#deliver(rows);
          if (rows.length < PAGE) break;
        }
        this.#reportedReadError = false;
      } catch (error) {
        // The next wakeup or poll retries; report once per outage.
        if (!this.#reportedReadError && !this.stopped)
          console.error('tideq: reading the job log for a subscriber failed:', error);
        this.#reportedReadError = true;
      }
    } while (this.#dirty && !this.stopped);
  }

  /** Stops delivery; resolves when a read in flight has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.#lastRead = 0;
    await this.#running;
  }
}
