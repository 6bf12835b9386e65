/**
 * Event delivery for the IndexedDB store: every subscriber keeps a cursor (the last seq it got)
 * and receives log rows strictly after it, in seq order, exactly once.
 *
 * Rows reach a subscriber three ways, all through `offer` / `wake`:
 * - commits of this repository (the rows are in hand after the transaction completed);
 * - a BroadcastChannel message from another repository on the same database (another tab,
 *   worker, or instance): `{ first, last, rows? }`, rows included when few;
 * - a read of the log from the cursor: whenever a message does not continue the cursor (another
 *   tab's message was missed or overtaken), at subscribe time, and on a slow poll as a safety net.
 * IndexedDB serializes readwrite transactions on the log, so seq order is commit order and a read
 * after the cursor never misses a row that commits later with a smaller seq.
 */
import type { EventListener, JobEvent, JobEventKind, Unsubscribe } from '@tideq/core';
import { LogFollower, type LogReader } from '@tideq/core/adapter';

/** The message one repository broadcasts to the others after each commit that wrote log rows. */
export interface CommitMessage {
  first: number;
  last: number;
  /** The rows themselves when the batch is small; otherwise readers read the log. */
  rows?: readonly JobEvent[];
}

/** Rows per broadcast carried inline; bigger commits send only their seq range. */
const INLINE_ROWS = 512;

export interface EventHubOptions {
  /** BroadcastChannel name shared by every repository on the database. */
  channel: string;
  read: LogReader;
  /** Safety-net poll of the log while anyone is subscribed, ms. */
  pollInterval: number;
}

/** The subscribers of one repository, and its BroadcastChannel to the other repositories. */
export class EventHub {
  readonly #subs = new Set<LogFollower>();
  readonly #options: EventHubOptions;
  #channel: BroadcastChannel | null = null;
  #poll: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(options: EventHubOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#subs.size;
  }

  #ensureChannel(): BroadcastChannel | null {
    if (this.#channel === null && !this.#closed && typeof BroadcastChannel !== 'undefined') {
      const channel = new BroadcastChannel(this.#options.channel);
      // Node keeps the process alive for an open channel; a browser has no unref.
      (channel as { unref?: () => void }).unref?.();
      channel.onmessage = (event: MessageEvent<CommitMessage>) => this.#onMessage(event.data);
      this.#channel = channel;
    }
    return this.#channel;
  }

  #onMessage(message: CommitMessage): void {
    if (message === null || typeof message !== 'object') return;
    const { first, last, rows } = message;
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last)) return;
    for (const sub of this.#subs) sub.offer(first, last, () => rows ?? null);
  }

  /** Start delivering to `listener` the rows after `after`, in order; returns its unsubscribe. */
  add(listener: EventListener, after: number, kinds: ReadonlySet<JobEventKind> | null): Unsubscribe {
    this.#ensureChannel();
    const sub = new LogFollower(this.#options.read, listener, after, kinds);
    this.#subs.add(sub);
    if (this.#poll === null) {
      this.#poll = setInterval(() => {
        for (const s of this.#subs) s.wake();
      }, this.#options.pollInterval);
      (this.#poll as { unref?: () => void }).unref?.();
    }
    // Replays rows after `after`, and anything committed while the cursor was being read.
    sub.wake();
    let done: Promise<void> | null = null;
    return () => {
      done ??= (async () => {
        this.#subs.delete(sub);
        await sub.stop();
        if (this.#subs.size === 0 && this.#poll !== null) {
          clearInterval(this.#poll);
          this.#poll = null;
        }
      })();
      return done;
    };
  }

  /** After a commit of this repository: its rows, to local subscribers and to the other repositories. */
  committed(rows: readonly JobEvent[]): void {
    if (rows.length === 0 || this.#closed) return;
    const first = rows[0]!.seq;
    const last = rows[rows.length - 1]!.seq;
    if (this.#subs.size > 0) {
      // After the committing call has returned to its caller.
      queueMicrotask(() => {
        for (const sub of this.#subs) sub.offer(first, last, () => rows);
      });
    }
    const channel = this.#ensureChannel();
    if (channel !== null) {
      const message: CommitMessage = rows.length <= INLINE_ROWS ? { first, last, rows } : { first, last };
      try {
        channel.postMessage(message);
      } catch {
        // A closed or failing channel: the others catch up from the log on their next read.
      }
    }
  }

  /** Drop every subscriber (no further deliveries) and close the channel. */
  async close(): Promise<void> {
    this.#closed = true;
    const subs = [...this.#subs];
    this.#subs.clear();
    if (this.#poll !== null) clearInterval(this.#poll);
    this.#poll = null;
    this.#channel?.close();
    this.#channel = null;
    await Promise.all(subs.map((s) => s.stop()));
  }
}
