/**
 * Event delivery shared by every store: `deliverEvents` is the one way a listener is called
 * (a throw or a rejected promise is reported and the listener stays subscribed), `EventFanout`
 * the in-process fan-out of memory stores (reference, WASM): each subscriber gets every
 * published event exactly once, in order, in batches, on a microtask after the committing call
 * returned. Stores that learn of events from elsewhere (another process: LISTEN/NOTIFY, another
 * tab: BroadcastChannel) follow their log with `LogFollower` instead.
 */
import type { EventListener, Unsubscribe } from '../port.js';
import type { JobEvent } from '../types.js';

/** Calls a listener with one batch; what it throws (or rejects with) is reported, never rethrown. */
export function deliverEvents(listener: EventListener, events: readonly JobEvent[]): void {
  try {
    const result: unknown = listener(events);
    if (result instanceof Promise) result.catch(reportListenerError);
  } catch (error) {
    reportListenerError(error);
  }
}

function reportListenerError(error: unknown): void {
  console.error('tideq: an event listener threw; it stays subscribed', error);
}

interface Subscriber {
  listener: EventListener;
  pending: JobEvent[];
  active: boolean;
}

/**
 * In-process event delivery for a memory store: `publish` the rows a call committed; each
 * subscriber gets them once, in seq order, batched, on a microtask after the call returned.
 */
export class EventFanout {
  readonly #subscribers = new Set<Subscriber>();
  #flushScheduled = false;

  /** How many subscribers there are: a store may skip collecting events when there are none. */
  get size(): number {
    return this.#subscribers.size;
  }

  /** Add a subscriber; `replay` is delivered first (rows it asked for with `after`). */
  add(listener: EventListener, replay: JobEvent[]): Unsubscribe {
    const subscriber: Subscriber = { listener, pending: replay, active: true };
    this.#subscribers.add(subscriber);
    if (replay.length > 0) this.#scheduleFlush();
    return () => {
      // Delivery is synchronous inside the flush, so once inactive it never calls again.
      subscriber.active = false;
      subscriber.pending = [];
      this.#subscribers.delete(subscriber);
      return Promise.resolve();
    };
  }

  /** Queue committed events for every subscriber (delivered on a microtask). */
  publish(events: readonly JobEvent[]): void {
    if (this.#subscribers.size === 0 || events.length === 0) return;
    for (const subscriber of this.#subscribers) subscriber.pending.push(...events);
    this.#scheduleFlush();
  }

  /** Drop every subscriber without delivering what is pending (close). */
  clear(): void {
    for (const subscriber of this.#subscribers) subscriber.active = false;
    this.#subscribers.clear();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // After the committing call has returned; batches whatever commits before the microtask runs.
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const subscriber of [...this.#subscribers]) {
      if (!subscriber.active || subscriber.pending.length === 0) continue;
      const batch = subscriber.pending;
      subscriber.pending = [];
      deliverEvents(subscriber.listener, batch);
    }
  }
}
