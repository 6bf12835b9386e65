/**
 * hostQueue(): runs a QueueManager (and optionally a SchedulerManager) on a store inside a
 * dedicated Worker, a SharedWorker (one queue for every tab of the origin) or any Comlink
 * endpoint (Node worker_threads), and serves `connectQueue()` facades over Comlink.
 */
import {
  InvalidArgumentError,
  type Job,
  type JobEvent,
  type QueueManager,
  type QueueRepository,
  type RunOptions,
  type SchedulerManager,
  type Unsubscribe,
  waitFor,
} from '@tideq/core';
import { decodeEnqueueBatch, type Limits } from '@tideq/core/adapter';
import * as Comlink from 'comlink';
import { type EncodedEnqueue, idsToWire, type PageJob } from '../facade/batch.js';
import { installErrorHandlers } from '../facade/errors.js';
import {
  type HelloMessage,
  type HostApi,
  type HostInfo,
  type HostState,
  type HostStats,
  isHandshake,
  type SubscribeOptionsWire,
  type WelcomeMessage,
} from '../facade/protocol.js';
import { recheckOnline } from '../offline/index.js';
// A cycle, harmless: leader.ts uses HostRuntime only when a leader host is constructed.
import { LeaderHost } from './leader.js';

type Awaitable<T> = T | PromiseLike<T>;
/** What `store` may be: a store, a promise of one, or a function returning either. */
type StoreSource = Awaitable<QueueRepository> | (() => Awaitable<QueueRepository>);
/**
 * The store a StoreSource gives. hostQueue infers the whole source and derives the store from it,
 * so a factory returning one of several stores (`cond ? a() : b()`) types `manager`'s parameter
 * as their union instead of failing on the first.
 */
type SourcedStore<T> = (T extends () => infer A ? Awaited<A> : Awaited<T>) & QueueRepository;

/** Options of `hostQueue()`: the store, the manager with its handlers, and how it runs. */
export interface HostQueueOptions<S extends QueueRepository, R extends Record<string, unknown>> {
  /** The store, or a function that creates it (called once), e.g. `() => createMemoryQueue()`. */
  store: S | PromiseLike<S> | (() => Awaitable<S>);
  /**
   * Registers the handlers: returns a QueueManager on the store. Its entrypoints and codecs type
   * the page's `connectQueue<typeof host>()`.
   */
  manager: (store: S) => QueueManager<R>;
  /** Optional cron schedules on the same store. */
  scheduler?: (store: S) => SchedulerManager;
  /** batchSize, maxConcurrentTasks, shutdownTimeout of the run loop. */
  run?: Omit<RunOptions, 'signal' | 'mode'>;
  /** Run jobs as soon as the store is ready (default true); false: wait for `resume()`. */
  autoStart?: boolean;
  /**
   * Where pages connect. Default: the worker's global scope (each `connect` port of a
   * SharedWorker, or the dedicated Worker's own port). Node: `nodeEndpoint(parentPort)`.
   */
  endpoint?: Comlink.Endpoint;
  /**
   * Leader mode, for a per-tab dedicated worker on a durable store (createDurableMemoryQueue):
   * one tab's worker, elected by a Web Lock named after `name`, opens the store and runs the
   * jobs; the others forward their pages' calls to it and relay its events. When it closes, the
   * next tab takes over from the last persisted state. Enqueues are persisted before they are
   * acknowledged.
   */
  leader?: { name: string };
}

/** The running host. `typeof host` types the page's facade: `connectQueue<typeof host>(worker)`. */
export interface QueueHost<R = Record<string, unknown>> {
  /** Resolves once the store and the manager are up (rejects if the store failed to open). */
  readonly ready: Promise<void>;
  /** The store, once ready (in leader mode: once this worker leads). */
  store(): Promise<QueueRepository>;
  /** Serve one more endpoint (a MessagePort handed over by a page, for instance). */
  serve(endpoint: Comlink.Endpoint): void;
  /** Stop running jobs (running ones finish, within shutdownTimeout) and stop serving. */
  close(): Promise<void>;
  /** Phantom: the entrypoint -> payload map, for the page's types only. */
  readonly payloads?: R;
}

let hostLockSeq = 0;

/** Web Locks where a realm's death releases them (browsers); Node's would keep a process alive. */
export function webLocks(): LockManager | undefined {
  const g = globalThis as { document?: unknown; WorkerGlobalScope?: unknown; navigator?: Navigator };
  return g.document !== undefined || g.WorkerGlobalScope !== undefined ? g.navigator?.locks : undefined;
}

function randomId(prefix: string): string {
  const c = globalThis.crypto;
  return `${prefix}:${c?.randomUUID ? c.randomUUID() : `${Date.now()}-${Math.random()}`}`;
}

interface Subscription {
  id: number;
  client: string;
  remote: Comlink.Remote<(events: JobEvent[]) => void>;
  pending: JobEvent[];
  sending: boolean;
  stop: Unsubscribe | null;
  released: boolean;
}

/** @internal The queue runtime behind every connection of one host. */
export class HostRuntime<S extends QueueRepository, R extends Record<string, unknown>> {
  readonly ready: Promise<void>;
  #store: S | undefined;
  #manager: QueueManager<R> | undefined;
  #scheduler: SchedulerManager | undefined;
  #names = new Set<string>();
  #state: HostState = 'starting';
  #error: string | null = null;
  #abort: AbortController | null = null;
  #running: Promise<void> | null = null;
  readonly #runOptions: Omit<RunOptions, 'signal' | 'mode'>;
  readonly #subs = new Map<number, Subscription>();
  #subSeq = 0;
  readonly #waits = new Map<number, AbortController>();
  readonly hostLock: string | null;
  #releaseHostLock: (() => void) | null = null;
  connections = 0;

  readonly #flushWrites: boolean;

  /**
   * @param internal hostLock: hold a lock pages watch (false when a leader host holds it);
   *   flushWrites: persist before acknowledging an enqueue, requeue or cancel (stores with flush())
   */
  constructor(options: HostQueueOptions<S, R>, internal: { hostLock?: boolean; flushWrites?: boolean } = {}) {
    this.#runOptions = options.run ?? {};
    this.#flushWrites = internal.flushWrites ?? false;
    const locks = internal.hostLock === false ? undefined : webLocks();
    this.hostLock = locks ? randomId(`tideq-host-${++hostLockSeq}`) : null;
    const lockHeld = this.hostLock === null ? Promise.resolve() : this.#holdHostLock(this.hostLock);
    this.ready = (async () => {
      await lockHeld;
      const source = options.store;
      const store = (await (typeof source === 'function' ? (source as () => Awaitable<S>)() : source)) as S;
      this.#store = store;
      const manager = options.manager(store);
      this.#manager = manager;
      this.#scheduler = options.scheduler?.(store);
      for (const name of Object.keys(manager.stats())) this.#names.add(name);
      this.#state = 'paused';
      if (options.autoStart ?? true) this.resume();
    })();
    this.ready.catch((error: unknown) => {
      this.#state = 'failed';
      this.#error = String(error);
    });
  }

  /** Held as long as this realm lives: the page's request for it is granted when the worker dies. */
  #holdHostLock(name: string): Promise<void> {
    return new Promise<void>((granted) => {
      void navigator.locks.request(
        name,
        () =>
          new Promise<void>((release) => {
            this.#releaseHostLock = release;
            granted();
          }),
      );
    });
  }

  get entrypoints(): string[] {
    return [...this.#names];
  }

  /** The store's limits, when it tells them (the WASM store does). */
  get limits(): Limits | null {
    const limits = (this.#store as { limits?: unknown } | undefined)?.limits;
    return typeof limits === 'object' && limits !== null ? { ...(limits as Limits) } : null;
  }

  async store(): Promise<S> {
    await this.ready;
    return this.#store!;
  }

  resume(): void {
    if (this.#abort !== null || this.#manager === undefined) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#state = 'running';
    this.#error = null;
    const runs: Promise<void>[] = [];
    if (this.#names.size > 0) {
      runs.push(this.#manager.run({ ...this.#runOptions, mode: 'continuous', signal: abort.signal }));
    }
    if (this.#scheduler !== undefined) runs.push(this.#scheduler.run({ signal: abort.signal }));
    this.#running = Promise.all(runs).then(
      () => {
        if (this.#abort === abort) this.#abort = null;
        if (this.#state === 'running') this.#state = 'stopped';
      },
      (error: unknown) => {
        abort.abort();
        if (this.#abort === abort) this.#abort = null;
        this.#state = 'failed';
        this.#error = error instanceof Error ? error.message : String(error);
      },
    );
  }

  async pause(): Promise<void> {
    const abort = this.#abort;
    if (abort === null) return;
    this.#state = 'paused';
    abort.abort();
    await this.#running;
    this.#state = 'paused';
  }

  async close(): Promise<void> {
    await this.pause().catch(() => {});
    this.#state = 'stopped';
    for (const sub of this.#subs.values()) await this.#release(sub);
    this.#releaseHostLock?.();
  }

  stats(): HostStats<R> {
    return {
      state: this.#state,
      error: this.#error,
      leader: true,
      entrypoints: (this.#manager?.stats() ?? {}) as HostStats<R>['entrypoints'],
    };
  }

  info(): HostInfo {
    return { connections: this.connections, subscribers: this.#subs.size, state: this.#state };
  }

  #checkNames(jobs: readonly { entrypoint: unknown }[]): void {
    let last: unknown;
    for (const job of jobs) {
      const name = job?.entrypoint;
      if (name === last) continue;
      if (typeof name !== 'string' || !this.#names.has(name)) {
        throw new InvalidArgumentError(
          `entrypoint ${String(name)} is not registered in the worker; register it in hostQueue's manager (its handler runs the job)`,
          { entrypoint: String(name) },
        );
      }
      last = name;
    }
  }

  /** A write acknowledged to a page is persisted first, where the store can (leader mode). */
  async #persisted<T>(result: T): Promise<T> {
    if (this.#flushWrites) await (this.#store as { flush?: () => Promise<void> }).flush?.();
    return result;
  }

  /**
   * A batch the page encoded: to the store as bytes where it takes them (the WASM store's
   * `enqueueEncoded`: no job object made in the worker), else decoded into jobs for `enqueue`.
   * Either way the store validates it against its own limits and emits the same events.
   */
  async enqueueEncoded(batch: EncodedEnqueue): Promise<{ ids: (number | null)[]; copied: boolean }> {
    const store = await this.store();
    const names = (batch as { names?: unknown } | null)?.names;
    if (!Array.isArray(names)) {
      throw new InvalidArgumentError(
        'malformed enqueue batch: no names table (connectQueue encodes batches)',
      );
    }
    // The names table lists the entrypoints the jobs use: check it, not every job.
    this.#checkNames(names.map((entrypoint) => ({ entrypoint })));
    const direct = (store as { enqueueEncoded?: (b: EncodedEnqueue) => Promise<(number | null)[]> })
      .enqueueEncoded;
    if (typeof direct === 'function') {
      return { ids: await this.#persisted(await direct.call(store, batch)), copied: true };
    }
    // Other stores get payloads as views into the buffer (and may keep them): not sent back.
    const { jobs, onConflict } = decodeEnqueueBatch(batch);
    return { ids: await this.#persisted(await store.enqueue(jobs, { onConflict })), copied: false };
  }

  async enqueueValues(jobs: PageJob[], onConflict: 'raise' | 'skip'): Promise<(number | null)[]> {
    await this.ready;
    if (!Array.isArray(jobs)) throw new InvalidArgumentError('enqueueMany needs an array of jobs');
    this.#checkNames(jobs);
    // The worker's codecs encode the payloads (the page had none for these entrypoints).
    const manager = this.#manager as unknown as QueueManager<Record<string, unknown>>;
    return this.#persisted(
      await manager.enqueueMany(jobs as Parameters<typeof manager.enqueueMany>[0], { onConflict }),
    );
  }

  async cancel(ids: number[]): Promise<boolean[]> {
    return this.#persisted(await (await this.store()).cancel(ids));
  }

  async requeue(ids: number[]): Promise<boolean[]> {
    return this.#persisted(await (await this.store()).requeue(ids));
  }

  async waitFor(ids: number[], timeout: number | undefined, waitId: number) {
    const store = await this.store();
    const abort = new AbortController();
    this.#waits.set(waitId, abort);
    try {
      return await waitFor(store, ids, { timeout, signal: abort.signal });
    } finally {
      this.#waits.delete(waitId);
    }
  }

  abortWait(waitId: number, reason: unknown): void {
    this.#waits.get(waitId)?.abort(reason);
  }

  async subscribe(
    listener: Comlink.Remote<(events: JobEvent[]) => void>,
    options: SubscribeOptionsWire,
    client: string,
  ): Promise<number> {
    const store = await this.store();
    const sub: Subscription = {
      id: ++this.#subSeq,
      client,
      remote: listener,
      pending: [],
      sending: false,
      stop: null,
      released: false,
    };
    try {
      sub.stop = await store.subscribe((events) => this.#deliver(sub, events), options);
    } catch (error) {
      listener[Comlink.releaseProxy]();
      throw error;
    }
    this.#subs.set(sub.id, sub);
    return sub.id;
  }

  /**
   * One delivery in flight per subscriber; events arriving meanwhile go out together next. A page
   * that is gone therefore holds at most one pending call (until its lock releases it).
   */
  #deliver(sub: Subscription, events: readonly JobEvent[]): void {
    if (sub.released) return;
    for (let i = 0; i < events.length; i++) sub.pending.push(events[i]!);
    if (sub.sending) return;
    sub.sending = true;
    void (async () => {
      while (sub.pending.length > 0 && !sub.released) {
        const batch = sub.pending;
        sub.pending = [];
        try {
          await sub.remote(batch);
        } catch {
          // The page's listener threw (it reports that itself) or the page is gone.
        }
      }
      sub.sending = false;
    })();
  }

  async unsubscribe(id: number): Promise<void> {
    const sub = this.#subs.get(id);
    if (sub !== undefined) await this.#release(sub);
  }

  /** Releases every subscription of a page that closed or went away. */
  async disconnect(client: string): Promise<void> {
    for (const sub of [...this.#subs.values()]) if (sub.client === client) await this.#release(sub);
  }

  async #release(sub: Subscription): Promise<void> {
    if (sub.released) return;
    sub.released = true;
    sub.pending = [];
    this.#subs.delete(sub.id);
    const stop = sub.stop;
    sub.stop = null;
    // Closes the MessagePort behind the page's Comlink.proxy callback (it cannot answer if gone).
    sub.remote[Comlink.releaseProxy]();
    if (stop !== null) await stop();
  }

  /** Deliver what is due now: held offline deliveries re-check the network, the loop stops sleeping. */
  async replay(): Promise<void> {
    await this.ready;
    recheckOnline();
    this.#manager?.wake();
  }

  async failedJobs(options: { limit?: number; after?: number }): Promise<Job[]> {
    const jobs = await (await this.store()).failedJobs(options);
    return Comlink.transfer(jobs, payloadBuffers(jobs));
  }

  get manager(): QueueManager<R> | undefined {
    return this.#manager;
  }

  api(): HostApi {
    return connectionApi(this);
  }
}

/**
 * The payload buffers of jobs, each ONCE: a store's jobs may share one buffer per batch, and a
 * buffer listed twice in a transfer list makes postMessage throw.
 */
export function payloadBuffers(jobs: readonly Job[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const job of jobs) {
    const buffer = job.payload?.buffer;
    if (buffer instanceof ArrayBuffer && buffer.byteLength > 0) seen.add(buffer);
  }
  return [...seen];
}

/** @internal The Comlink API of one connection. */
export function connectionApi<S extends QueueRepository, R extends Record<string, unknown>>(
  runtime: HostRuntime<S, R>,
): HostApi {
  const api: HostApi = {
    enqueueEncoded: async (batch) => {
      const { ids, copied } = await runtime.enqueueEncoded(batch);
      // The store copied the bytes: send the buffer back for the page's next batch.
      const spare = copied ? batch.bytes.buffer : null;
      return Comlink.transfer({ ids: idsToWire(ids), spare }, spare === null ? [] : [spare]);
    },
    enqueueValues: async (jobs, onConflict) => idsToWire(await runtime.enqueueValues(jobs, onConflict)),
    status: async (ids) => (await runtime.store()).jobStatus(ids),
    waitFor: (ids, timeout, waitId) => runtime.waitFor(ids, timeout, waitId),
    abortWait: (waitId, reason) => runtime.abortWait(waitId, reason),
    cancel: (ids) => runtime.cancel(ids),
    subscribe: (listener, options, client) =>
      runtime.subscribe(listener as unknown as Comlink.Remote<(events: JobEvent[]) => void>, options, client),
    unsubscribe: (id) => runtime.unsubscribe(id),
    disconnect: (client) => runtime.disconnect(client),
    pause: async () => {
      await runtime.ready;
      await runtime.pause();
    },
    resume: async () => {
      await runtime.ready;
      runtime.resume();
    },
    stats: async () => {
      await runtime.ready.catch(() => {});
      return runtime.stats() as HostStats;
    },
    metrics: async () => (await runtime.store()).metrics(),
    queueSize: async () => (await runtime.store()).queueSize(),
    replay: () => runtime.replay(),
    failedJobs: (options) => runtime.failedJobs(options ?? {}),
    requeue: (ids) => runtime.requeue(ids),
    info: async () => runtime.info(),
  };
  return api;
}

interface WorkerScopeLike {
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  postMessage?: (message: unknown) => void;
  onconnect?: unknown;
}

/** @internal What serveEndpoint needs of a host (a plain runtime, or a leader-mode host). */
export interface Served {
  readonly ready: Promise<void>;
  readonly hostLock: string | null;
  readonly entrypoints: string[];
  /** The store's limits, if known, for the page's checks while it encodes. */
  readonly limits?: Limits | null;
  connections: number;
  disconnect(client: string): Promise<void>;
  api(): HostApi;
}

/**
 * Serves one endpoint: the Comlink API plus the handshake (welcome, client locks).
 * @internal
 */
export function serveEndpoint(runtime: Served, endpoint: Comlink.Endpoint): void {
  installErrorHandlers();
  runtime.connections++;
  const watched = new Set<string>();
  endpoint.addEventListener('message', ((event: MessageEvent) => {
    const data = event.data;
    if (!isHandshake(data) || data.tideq !== 'hello') return;
    const hello = data as HelloMessage;
    void runtime.ready.then(
      () => welcome(hello),
      () => welcome(hello),
    );
  }) as EventListener);
  const welcome = (hello: HelloMessage): void => {
    const message: WelcomeMessage = {
      tideq: 'welcome',
      client: hello.client,
      hostLock: runtime.hostLock,
      entrypoints: runtime.entrypoints,
      limits: runtime.limits ?? null,
    };
    endpoint.postMessage(message);
    // The page holds this lock while it lives: once granted to us, it is gone.
    const locks = webLocks();
    if (hello.clientLock !== null && !watched.has(hello.clientLock) && locks !== undefined) {
      watched.add(hello.clientLock);
      void locks.request(hello.clientLock, async () => {
        watched.delete(hello.clientLock!);
        await runtime.disconnect(hello.client);
      });
    }
  };
  Comlink.expose(runtime.api(), endpoint);
  endpoint.postMessage({ tideq: 'ready' });
}

/**
 * Runs a queue in this worker and serves it to pages (`connectQueue`) over Comlink.
 *
 * @param options the store, the manager (handlers, typed by their codecs), an optional
 *   scheduler, run options, autoStart, and the endpoint (default: this worker's scope)
 * @returns the host; export `typeof host` to type the page's facade
 * @example
 * // worker.ts
 * import { createMemoryQueue, jsonCodec, QueueManager } from '@tideq/core';
 * import { hostQueue } from '@tideq/web/worker';
 * export const host = hostQueue({
 *   store: () => createMemoryQueue(),
 *   manager: (store) =>
 *     new QueueManager(store).entrypoint('email', { codec: jsonCodec<{ to: string }>() }, async ({ payload }) => {
 *       await fetch(`/send?to=${payload.to}`);
 *     }),
 * });
 * export type EmailQueue = typeof host;
 */
export function hostQueue<T extends StoreSource, R extends Record<string, unknown>>(
  options: HostQueueOptions<SourcedStore<T>, R> & { store: T },
): QueueHost<R>;
export function hostQueue<S extends QueueRepository, R extends Record<string, unknown>>(
  options: HostQueueOptions<S, R>,
): QueueHost<R> {
  installErrorHandlers();
  const runtime: HostRuntime<S, R> | LeaderHost<S, R> =
    options.leader === undefined ? new HostRuntime(options) : new LeaderHost(options, options.leader);
  const serve = (endpoint: Comlink.Endpoint): void => serveEndpoint(runtime, endpoint);
  if (options.endpoint !== undefined) {
    serve(options.endpoint);
  } else {
    const scope = globalThis as unknown as WorkerScopeLike;
    if ('onconnect' in scope) {
      // SharedWorker: one connection per page (its port).
      scope.addEventListener('connect', (event: MessageEvent) => {
        const port = event.ports[0];
        if (port !== undefined) serve(port as unknown as Comlink.Endpoint);
      });
    } else if (typeof scope.postMessage === 'function' && !('document' in globalThis)) {
      serve(scope as unknown as Comlink.Endpoint);
    } else {
      throw new InvalidArgumentError(
        'hostQueue() runs inside a Worker or SharedWorker; elsewhere pass options.endpoint (e.g. nodeEndpoint(parentPort))',
      );
    }
  }
  return {
    ready: runtime.ready,
    store: () => runtime.store(),
    serve,
    close: () => runtime.close(),
  };
}
