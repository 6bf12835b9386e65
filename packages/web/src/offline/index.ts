/**
 * Offline replay: @tideq/core's HTTP delivery in a Worker or a Service Worker. Deliveries hold
 * while `navigator.onLine` is false and go on at the `online` event (no attempts are spent on
 * certain network errors); in a Service Worker, Background Sync (`sync` event) wakes a replay
 * after every page of the origin has closed. Where there is no Background Sync (Safari, Firefox),
 * delivery happens while a page or worker of the origin is open and online.
 */
import { type HttpDelivery, type HttpDeliveryOptions, httpDelivery } from '@tideq/core';

/** The Background Sync tag used unless you choose another. */
export const REPLAY_TAG = 'tideq-replay';
/** The message a page posts to the Service Worker to ask for a replay where there is no Background Sync. */
const REPLAY_MESSAGE = 'tideq-replay';
const ONLINE_POLL_MS = 1000;

/** The checks of the {@link whenOnline} waits in progress, for {@link recheckOnline}. */
const waiting = new Set<() => void>();

/**
 * Re-checks `navigator.onLine` for every held delivery now (not at the next poll): the host's
 * `replay()` calls it. Deliveries go on if the runtime says online; else they keep waiting.
 * @internal
 */
export function recheckOnline(): void {
  for (const check of [...waiting]) check();
}

interface OnlineScope {
  navigator?: { onLine?: boolean };
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
}

/**
 * Resolves at once when online (or where the runtime cannot tell), else when `navigator.onLine`
 * turns true (the `online` event, or a check each second);
 * rejects with the signal's reason when it aborts (a cancel, a shutdown).
 *
 * @param signal aborts the wait
 * @example
 * await whenOnline(AbortSignal.timeout(60_000));
 */
export function whenOnline(signal?: AbortSignal): Promise<void> {
  const scope = globalThis as OnlineScope;
  if (scope.navigator?.onLine !== false || typeof scope.addEventListener !== 'function')
    return Promise.resolve();
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    // Also polled: Chromium flips a dedicated Worker's navigator.onLine but sends it no 'online'
    // event when the network comes back under DevTools emulation (seen with playwright's
    // setOffline); a check per second costs nothing while offline.
    const check = (): void => {
      if (scope.navigator?.onLine !== false) onOnline();
    };
    const poll = setInterval(check, ONLINE_POLL_MS);
    waiting.add(check);
    const done = (): void => {
      clearInterval(poll);
      waiting.delete(check);
      scope.removeEventListener?.('online', onOnline);
      signal?.removeEventListener('abort', onAbort);
    };
    const onOnline = (): void => {
      done();
      resolve();
    };
    const onAbort = (): void => {
      done();
      reject(signal!.reason);
    };
    scope.addEventListener!('online', onOnline);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The HTTP delivery entrypoint for a browser worker: {@link httpDelivery} gated by {@link whenOnline}.
 *
 * @param options any {@link HttpDeliveryOptions} (timeout, attempts, backoff, signing, limits)
 * @example
 * const outbox = offlineDelivery({ maxAttempts: 10 });
 * new QueueManager(store).entrypoint('outbox', outbox.options, outbox.handler);
 */
export function offlineDelivery(options: Omit<HttpDeliveryOptions, 'whenOnline'> = {}): HttpDelivery {
  return httpDelivery({ ...options, whenOnline });
}

interface ExtendableEventLike extends Event {
  tag?: string;
  data?: unknown;
  waitUntil?(promise: Promise<unknown>): void;
}

/**
 * In a Service Worker: run `replay` (e.g. a drain of the delivery queue) on a Background Sync event
 * with `tag`, on a page's {@link requestReplay} message, and at `online`. Replays never overlap: one
 * asked for while another runs starts when it ends. Returns the function that starts a replay.
 *
 * @param replay one pass over the queue, e.g. `() => manager.run({ mode: 'drain' })`
 * @param options the sync tag (default {@link REPLAY_TAG}) and the scope (default `self`)
 * @example
 * replayOnSync(async () => {
 *   const store = await createIndexedDbQueue({ name: 'outbox' });
 *   await new QueueManager(store).entrypoint('outbox', outbox.options, outbox.handler).run({ mode: 'drain' });
 * });
 */
export function replayOnSync(
  replay: () => Promise<unknown>,
  options: { tag?: string; scope?: EventTarget } = {},
): () => Promise<void> {
  const tag = options.tag ?? REPLAY_TAG;
  const scope = options.scope ?? (globalThis as unknown as EventTarget);
  let running: Promise<void> | null = null;
  let again = false;
  const start = (): Promise<void> => {
    if (running !== null) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await replay();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  scope.addEventListener('sync', (event) => {
    const e = event as ExtendableEventLike;
    if (e.tag === tag) e.waitUntil?.(start());
  });
  scope.addEventListener('message', (event) => {
    const e = event as ExtendableEventLike;
    if (e.data === REPLAY_MESSAGE) e.waitUntil?.(start());
  });
  scope.addEventListener('online', () => void start().catch(() => {}));
  return start;
}

/**
 * On the page: ask the Service Worker for a replay. Registers a Background Sync with `tag` where
 * the browser has it (the replay then also runs after the page closed, once the network is back);
 * elsewhere posts a message to the active Service Worker (the replay runs now, while it lives).
 *
 * @returns how the replay was requested: 'sync' or 'message' (or 'none' without a Service Worker)
 * @example
 * await queue.enqueue('outbox', { url: '/api/orders', body: JSON.stringify(order) });
 * await requestReplay();
 */
export async function requestReplay(tag = REPLAY_TAG): Promise<'sync' | 'message' | 'none'> {
  const container = (globalThis as { navigator?: { serviceWorker?: ServiceWorkerContainer } }).navigator
    ?.serviceWorker;
  if (container === undefined) return 'none';
  const registration = (await container.ready) as ServiceWorkerRegistration & {
    sync?: { register(tag: string): Promise<void> };
  };
  if (registration.sync !== undefined) {
    await registration.sync.register(tag);
    return 'sync';
  }
  if (registration.active === null) return 'none';
  registration.active.postMessage(REPLAY_MESSAGE);
  return 'message';
}
