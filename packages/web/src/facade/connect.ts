/**
 * connectQueue(): the page's typed facade over the queue a worker hosts (`hostQueue`).
 */
import { type Codec, InvalidArgumentError, type JobEvent, StorageUnavailableError } from '@tideq/core';
import { type Limits, validateEnqueueOptions } from '@tideq/core/adapter';
import * as Comlink from 'comlink';
import { encodeBatch, idsFromWire, type PageJob, pageCodecs } from './batch.js';
import { type AdaptedTarget, adaptTarget, GuardedEndpoint, type QueueTarget } from './endpoint.js';
import { hostGoneError, installErrorHandlers } from './errors.js';
import { type HelloMessage, type HostApi, isHandshake, type WelcomeMessage } from './protocol.js';
import type { ConnectOptions, PayloadsOf, QueueFacade, Unsubscribe } from './types.js';

interface ListenerBox {
  listener: ((events: JobEvent[]) => void) | null;
}

/**
 * The callback the worker calls. Made outside `subscribe`'s scope and holding only a WeakRef:
 * the exposed port keeps it alive, and it must not keep the page's listener alive with it.
 */
function weakCallback(ref: WeakRef<ListenerBox>): ((events: JobEvent[]) => void) & Comlink.ProxyMarked {
  return Comlink.proxy((events: JobEvent[]) => {
    const listener = ref.deref()?.listener;
    if (listener == null) return;
    try {
      listener(events);
    } catch (error) {
      console.error('a tideq subscribe listener threw', error);
    }
  });
}

/** Subscriptions whose unsubscribe function the page dropped: released in the worker after GC. */
const forgotten =
  typeof FinalizationRegistry === 'undefined'
    ? null
    : new FinalizationRegistry<{ remote: Comlink.Remote<HostApi>; id: number }>(({ remote, id }) => {
        remote.unsubscribe(id).catch(() => {});
      });

function webLocks(): LockManager | undefined {
  // Browser realms only: in Node a held lock request would keep the process alive.
  const browser =
    typeof document !== 'undefined' ||
    typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
  return browser ? globalThis.navigator?.locks : undefined;
}

let clientSeq = 0;
/** Spare batch buffers kept per connection (one per batch in flight is enough)... */
const MAX_SPARES = 8;
/** ...each at most this large: the buffer of one huge batch is not held for the page's lifetime. */
const MAX_SPARE_BYTES = 4 * 1024 * 1024;

/**
 * Before the welcome names the store's limits (or for a store that does not tell them), the page
 * checks no sizes: the store checks its own when the batch arrives.
 */
const PAGE_LIMITS: Partial<Limits> = {
  maxPayloadBytes: Number.MAX_SAFE_INTEGER,
  maxHeadersBytes: Number.MAX_SAFE_INTEGER,
  maxDedupeKeyLength: Number.MAX_SAFE_INTEGER,
};

/**
 * Connects to the queue a worker hosts with `hostQueue()`.
 *
 * @param target a module Worker, a SharedWorker, a MessagePort, a Node `worker_threads` Worker or
 *   port, or any Comlink Endpoint
 * @param options `codecs`: the handlers' codecs, so the page packs payloads into one transferred buffer
 * @returns the typed facade; every pending call rejects with a StorageUnavailableError if the worker dies
 * @example
 * import { connectQueue } from '@tideq/web';
 * import type { EmailQueue } from './worker';
 * const queue = connectQueue<EmailQueue>(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }));
 * const id = await queue.enqueue('email', { to: 'ada@example.com' });
 * await queue.waitFor([id]);
 */
export function connectQueue<Q = Record<string, unknown>>(
  target: QueueTarget,
  options: ConnectOptions<PayloadsOf<Q>> = {},
): QueueFacade<PayloadsOf<Q>> {
  installErrorHandlers();
  return new Facade(adaptTarget(target), (options.codecs ?? {}) as Record<string, Codec<unknown>>) as never;
}

class Facade {
  readonly #guard: GuardedEndpoint;
  readonly #remote: Comlink.Remote<HostApi>;
  readonly #codecs: Record<string, Codec<unknown>>;
  readonly #client: string;
  readonly #welcome: Promise<WelcomeMessage>;
  readonly #stop = new AbortController();
  readonly closed: Promise<Error>;
  #closedResolve!: (error: Error) => void;
  #welcomed = false;
  /** The store's limits from the welcome (null until then, or if the store does not tell them). */
  #limits: Limits | null = null;
  /** Encoded bytes per job of the last batch: the next buffer starts that large (no regrowth). */
  #bytesPerJob = 0;
  /**
   * Batch buffers the worker sent back once its store had copied them: reused for the next
   * batches, which then cost no allocation and no zero-filling (~0.1 ms per 280 KB batch here).
   */
  readonly #spares: ArrayBuffer[] = [];
  #releaseClientLock: (() => void) | null = null;
  #unwatch: () => void;

  constructor(target: AdaptedTarget, codecs: Record<string, Codec<unknown>>) {
    this.#codecs = codecs;
    this.#guard = new GuardedEndpoint(target.endpoint);
    this.#remote = Comlink.wrap<HostApi>(this.#guard);
    this.#client = `tideq-client:${globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`}:${++clientSeq}`;
    this.closed = new Promise((resolve) => {
      this.#closedResolve = resolve;
    });
    this.#unwatch = target.watch(
      (reason) => this.#fail(hostGoneError(reason)),
      () => !this.#welcomed,
    );
    const locks = target.web ? webLocks() : undefined;
    this.#welcome = this.#handshake(locks);
    // Calls await the handshake; nobody may be waiting on it yet.
    this.#welcome.catch(() => {});
  }

  async #handshake(locks: LockManager | undefined): Promise<WelcomeMessage> {
    let clientLock: string | null = null;
    if (locks !== undefined) {
      clientLock = this.#client;
      // Held while this page lives; the worker waits for it to learn that the page is gone.
      await new Promise<void>((granted) => {
        void locks.request(
          clientLock!,
          () =>
            new Promise<void>((release) => {
              this.#releaseClientLock = release;
              granted();
            }),
        );
      });
    }
    const hello: HelloMessage = { tideq: 'hello', client: this.#client, clientLock };
    const welcome = await new Promise<WelcomeMessage>((resolve, reject) => {
      const onMessage = (event: Event): void => {
        const data = (event as MessageEvent).data;
        if (!isHandshake(data)) return;
        if (data.tideq === 'ready') this.#guard.postMessage(hello);
        else if (data.tideq === 'welcome' && data.client === this.#client) {
          this.#guard.removeEventListener('message', onMessage);
          resolve(data);
        }
      };
      this.#guard.addEventListener('message', onMessage);
      this.closed.then(reject);
      this.#guard.postMessage(hello);
    });
    this.#welcomed = true;
    this.#limits = welcome.limits ?? null;
    if (welcome.hostLock !== null && locks !== undefined) {
      // Granted only once the worker that holds it is gone (terminated, crashed, closed).
      locks
        .request(welcome.hostLock, { signal: this.#stop.signal }, () => {
          this.#fail(hostGoneError('the worker was terminated or crashed'));
        })
        .catch(() => {});
    }
    return welcome;
  }

  #fail(error: Error): void {
    if (this.#guard.error !== null) return;
    this.#guard.fail(error);
    this.#stop.abort();
    this.#unwatch();
    this.#releaseClientLock?.();
    this.#closedResolve(error);
  }

  async #api(): Promise<Comlink.Remote<HostApi>> {
    await this.#welcome;
    return this.#remote;
  }

  async enqueue(entrypoint: string, payload: unknown, options?: object): Promise<number> {
    const [id] = await this.enqueueMany([{ ...options, entrypoint, payload }]);
    return id as number;
  }

  async enqueueMany(
    jobs: readonly PageJob[],
    options?: { onConflict?: 'raise' | 'skip' },
  ): Promise<(number | null)[]> {
    const onConflict = validateEnqueueOptions(options).onConflict;
    const codec = Array.isArray(jobs) ? pageCodecs(jobs, this.#codecs) : null;
    if (codec === null) {
      return idsFromWire(await (await this.#api()).enqueueValues(jobs as PageJob[], onConflict));
    }
    // Encoded (and validated) before any await: the caller may change its jobs once this returns
    // (only a batch too large for one task is read on in later tasks).
    const capacity = 64 + jobs.length * this.#bytesPerJob;
    const encoding = encodeBatch(jobs, onConflict, {
      codec,
      limits: this.#limits ?? PAGE_LIMITS,
      capacity,
      buffer: this.#spareBuffer(capacity),
    });
    const [remote, batch] = await Promise.all([this.#api(), encoding]);
    if (jobs.length > 0) this.#bytesPerJob = Math.ceil(batch.bytes.byteLength / jobs.length);
    const { ids, spare } = await remote.enqueueEncoded(Comlink.transfer(batch, [batch.bytes.buffer]));
    if (
      spare instanceof ArrayBuffer &&
      spare.byteLength <= MAX_SPARE_BYTES &&
      this.#spares.length < MAX_SPARES
    ) {
      this.#spares.push(spare);
    }
    return idsFromWire(ids);
  }

  /** A buffer the worker sent back, if one is large enough (else the writer allocates). */
  #spareBuffer(capacity: number): ArrayBuffer | undefined {
    const spares = this.#spares;
    for (let i = spares.length - 1; i >= 0; i--) {
      if (spares[i]!.byteLength >= capacity) return spares.splice(i, 1)[0];
    }
    return undefined;
  }

  async status(ids: readonly number[]) {
    return (await this.#api()).status(ids as number[]);
  }

  async waitFor(ids: readonly number[], options: { timeout?: number; signal?: AbortSignal } = {}) {
    const remote = await this.#api();
    const signal = options.signal;
    signal?.throwIfAborted();
    // Unique across the pages of a SharedWorker (the host keys waits by it).
    const waitId = Math.floor(Math.random() * 2 ** 52);
    const waiting = remote.waitFor(ids as number[], options.timeout, waitId);
    if (signal === undefined) return waiting;
    const onAbort = (): void => {
      remote.abortWait(waitId, signal.reason).catch(() => {});
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await waiting;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async cancel(ids: readonly number[]) {
    return (await this.#api()).cancel(ids as number[]);
  }

  async subscribe(
    listener: (events: JobEvent[]) => void,
    options: { after?: number; kinds?: JobEvent['kind'][] } = {},
  ): Promise<Unsubscribe> {
    const remote = await this.#api();
    if (typeof listener !== 'function') {
      throw new InvalidArgumentError('subscribe needs a listener function');
    }
    const box: ListenerBox = { listener };
    const id = await remote.subscribe(weakCallback(new WeakRef(box)), options, this.#client);
    let done = false;
    const unsubscribe: Unsubscribe = async () => {
      if (done) return;
      done = true;
      box.listener = null;
      forgotten?.unregister(unsubscribe);
      if (this.#guard.error === null) await remote.unsubscribe(id);
    };
    forgotten?.register(unsubscribe, { remote, id }, unsubscribe);
    return unsubscribe;
  }

  async pause() {
    return (await this.#api()).pause();
  }

  async resume() {
    return (await this.#api()).resume();
  }

  async stats() {
    return (await this.#api()).stats();
  }

  async metrics() {
    return (await this.#api()).metrics();
  }

  async queueSize() {
    return (await this.#api()).queueSize();
  }

  async replay() {
    return (await this.#api()).replay();
  }

  async failedJobs(options: { limit?: number; after?: number } = {}) {
    return (await this.#api()).failedJobs(options);
  }

  async requeue(ids: readonly number[]) {
    return (await this.#api()).requeue(ids as number[]);
  }

  async info() {
    return (await this.#api()).info();
  }

  async close(): Promise<void> {
    if (this.#guard.error !== null) return;
    if (this.#welcomed) await this.#remote.disconnect(this.#client).catch(() => {});
    this.#fail(
      new StorageUnavailableError(
        'this queue connection was closed (close() was called); connectQueue() again',
      ),
    );
  }
}
