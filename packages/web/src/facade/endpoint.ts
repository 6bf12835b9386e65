/**
 * Endpoints for the facade: fits a Worker, SharedWorker, MessagePort, Node worker_threads Worker
 * or MessagePort, or any Comlink Endpoint to one shape, and settles Comlink's pending calls when
 * the other side dies (Comlink alone never settles them).
 */
import type { Endpoint } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { thrownReply } from './errors.js';

/** A Node `worker_threads` Worker or MessagePort (an EventEmitter with postMessage). */
export interface NodeWorkerLike {
  /** Sends a message (with transferred buffers). */
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  /** Adds a listener ('message', 'error', 'exit'). */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Removes a listener. */
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** What `connectQueue` accepts. */
export type QueueTarget = Worker | SharedWorker | MessagePort | NodeWorkerLike | Endpoint;

export interface AdaptedTarget {
  endpoint: Endpoint;
  /** Whether the other side is a browser realm (Web Locks tell when it dies). */
  web: boolean;
  /** Calls `onDead(reason)` when the other side is known to be gone; returns a stop function. */
  watch(onDead: (reason: string) => void, beforeReady: () => boolean): () => void;
}

function isNodeLike(target: object): target is NodeWorkerLike {
  return (
    typeof (target as NodeWorkerLike).on === 'function' &&
    typeof (target as NodeWorkerLike).off === 'function'
  );
}

/** @internal */
export function adaptTarget(target: QueueTarget): AdaptedTarget {
  if (typeof SharedWorker !== 'undefined' && target instanceof SharedWorker) {
    const port = target.port;
    return {
      endpoint: port as unknown as Endpoint,
      web: true,
      watch: (onDead) => watchPortClose(port, onDead),
    };
  }
  if (typeof Worker !== 'undefined' && target instanceof Worker) {
    return {
      endpoint: target as unknown as Endpoint,
      web: true,
      watch(onDead, beforeReady) {
        // A module that fails to load fires `error` and the worker is dead; later `error`s are
        // uncaught exceptions in a live worker (the host's lock tells us about its death).
        const onError = (): void => {
          if (beforeReady()) onDead('the worker failed to start');
        };
        target.addEventListener('error', onError);
        // terminate() fires no event: hear of it at once (the host's lock also tells, but only
        // after the handshake).
        const own = Object.hasOwn(target, 'terminate');
        const terminate = target.terminate;
        target.terminate = function (this: Worker) {
          terminate.call(this);
          onDead('the worker was terminated');
        };
        return () => {
          target.removeEventListener('error', onError);
          if (own) target.terminate = terminate;
          else delete (target as { terminate?: unknown }).terminate;
        };
      },
    };
  }
  if (isNodeLike(target)) {
    const endpoint = nodeEndpoint(target as never) as Endpoint;
    return {
      endpoint,
      web: false,
      watch(onDead) {
        const onExit = (code: unknown): void => onDead(`the worker exited with code ${String(code)}`);
        const onClose = (): void => onDead('the port closed');
        target.on('exit', onExit as (...args: unknown[]) => void);
        target.on('close', onClose);
        return () => {
          target.off('exit', onExit as (...args: unknown[]) => void);
          target.off('close', onClose);
        };
      },
    };
  }
  const endpoint = target as Endpoint;
  return {
    endpoint,
    web: typeof MessagePort !== 'undefined' && endpoint instanceof MessagePort,
    watch: (onDead) => watchPortClose(endpoint, onDead),
  };
}

/** MessagePort `close` (fired by browsers that support it when the other side goes away). */
function watchPortClose(port: Endpoint | MessagePort, onDead: (reason: string) => void): () => void {
  const onClose = (): void => onDead('the port closed');
  port.addEventListener('close', onClose);
  return () => port.removeEventListener('close', onClose);
}

/**
 * Wraps an endpoint for Comlink's `wrap`: remembers the id of every request sent and, when the
 * other side dies, answers each with a thrown error, so every pending call rejects. Requests
 * made afterwards are answered the same way at once.
 * @internal
 */
export class GuardedEndpoint implements Endpoint {
  readonly #inner: Endpoint;
  readonly #listeners = new Set<EventListenerOrEventListenerObject>();
  readonly #pending = new Set<string>();
  #error: Error | null = null;

  constructor(inner: Endpoint) {
    this.#inner = inner;
    inner.addEventListener('message', this.#onMessage);
    inner.start?.();
  }

  get error(): Error | null {
    return this.#error;
  }

  readonly #onMessage = (event: Event): void => {
    const data = (event as MessageEvent).data as { id?: unknown } | null;
    if (data !== null && typeof data === 'object' && typeof data.id === 'string')
      this.#pending.delete(data.id);
    this.#dispatch(event as MessageEvent);
  };

  #dispatch(event: MessageEvent | { data: unknown }): void {
    for (const listener of this.#listeners) {
      if (typeof listener === 'function') listener(event as MessageEvent);
      else listener.handleEvent(event as MessageEvent);
    }
  }

  postMessage(message: unknown, transfer?: Transferable[]): void {
    const id = (message as { id?: unknown } | null)?.id;
    if (this.#error !== null) {
      if (typeof id === 'string') {
        const error = this.#error;
        queueMicrotask(() => this.#dispatch({ data: thrownReply(id, error) }));
      }
      return;
    }
    if (typeof id === 'string') this.#pending.add(id);
    this.#inner.postMessage(message, transfer);
  }

  addEventListener(_type: string, listener: EventListenerOrEventListenerObject): void {
    this.#listeners.add(listener);
  }

  removeEventListener(_type: string, listener: EventListenerOrEventListenerObject): void {
    this.#listeners.delete(listener);
  }

  /** The other side is gone: every pending and later request rejects with `error`. */
  fail(error: Error): void {
    if (this.#error !== null) return;
    this.#error = error;
    const ids = [...this.#pending];
    this.#pending.clear();
    for (const id of ids) this.#dispatch({ data: thrownReply(id, error) });
    this.#inner.removeEventListener('message', this.#onMessage);
  }
}
