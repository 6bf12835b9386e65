/**
 * Leader mode: every tab runs its own dedicated worker with `hostQueue({ leader: { name } })` on a
 * durable store (createDurableMemoryQueue); a Web Lock elects the one worker that opens the store
 * and runs the jobs. The others forward their pages' calls to it over a BroadcastChannel and relay
 * its events. When the leader's tab closes, its lock is released and the next worker in line opens
 * the store (restoring the last persisted state) and takes over; jobs the old leader had picked run
 * again after their entrypoint's retryTimer.
 */
import {
  type JobEvent,
  type JobEventKind,
  type QueueRepository,
  StorageUnavailableError,
  type Unsubscribe,
} from '@tideq/core';
import * as Comlink from 'comlink';
import { GuardedEndpoint } from '../facade/endpoint.js';
import type { HostApi, HostInfo, HostStats, SubscribeOptionsWire } from '../facade/protocol.js';
import { connectionApi, type HostQueueOptions, HostRuntime, type Served, webLocks } from './host.js';

export interface LeaderOptions {
  /** Names the election (a Web Lock) and the channel; use the durable store's name. */
  name: string;
}

interface ChannelMessage {
  tideqLeader: 'announce' | 'events' | 'who';
  leader: string;
  events?: JobEvent[];
}

interface LocalSub {
  remote: Comlink.Remote<(events: JobEvent[]) => void>;
  kinds: Set<JobEventKind> | null;
  client: string;
  pending: JobEvent[];
  sending: boolean;
}

function randomId(prefix: string): string {
  return `${prefix}:${globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`}`;
}

/** A BroadcastChannel as a Comlink endpoint (many-to-many: Comlink ignores replies it did not ask for). */
function channelEndpoint(channel: BroadcastChannel): Comlink.Endpoint {
  return {
    postMessage: (message: unknown) => channel.postMessage(message),
    addEventListener: (_type: string, listener: EventListenerOrEventListenerObject) =>
      channel.addEventListener('message', listener),
    removeEventListener: (_type: string, listener: EventListenerOrEventListenerObject) =>
      channel.removeEventListener('message', listener),
  };
}

/** @internal The host of one tab in leader mode. */
export class LeaderHost<S extends QueueRepository, R extends Record<string, unknown>> implements Served {
  readonly ready: Promise<void>;
  readonly hostLock: string | null;
  connections = 0;
  readonly id = randomId('tideq-leader-candidate');
  readonly #options: HostQueueOptions<S, R>;
  readonly #name: string;
  readonly #channel: BroadcastChannel;
  #runtime: HostRuntime<S, R> | null = null;
  #runtimeApi: HostApi | null = null;
  #guard: GuardedEndpoint | null = null;
  #remote: Comlink.Remote<HostApi> | null = null;
  #leaderId: string | null = null;
  #storeEvents: Unsubscribe | null = null;
  readonly #subs = new Map<number, LocalSub>();
  #subSeq = 0;
  #entrypoints: string[] = [];
  #resign: (() => void) | null = null;
  /** Set while this worker opens the store after winning the election. */
  #becoming: Promise<void> | null = null;
  #becameLeader!: () => void;
  readonly #led = new Promise<void>((resolve) => {
    this.#becameLeader = resolve;
  });
  /** Page wait ids -> ids unique across tabs (the leader keys its waits by them). */
  readonly #waitIds = new Map<number, number>();

  constructor(options: HostQueueOptions<S, R>, leader: LeaderOptions) {
    this.#options = options;
    this.#name = leader.name;
    const locks = webLocks();
    if (locks === undefined || typeof BroadcastChannel === 'undefined') {
      throw new StorageUnavailableError(
        'leader mode needs Web Locks and BroadcastChannel (a browser worker); elsewhere host the queue without { leader }',
      );
    }
    this.#channel = new BroadcastChannel(`tideq-leader:${this.#name}`);
    this.#channel.addEventListener('message', (event) => this.#onChannel(event.data as ChannelMessage));
    this.#follow(null);
    this.#channel.postMessage({ tideqLeader: 'who', leader: this.id } satisfies ChannelMessage);
    // This worker's own lock: its pages learn from it that the worker died.
    this.hostLock = randomId('tideq-host');
    this.ready = new Promise<void>((held) => {
      void locks.request(this.hostLock!, () => {
        held();
        return new Promise<void>(() => {});
      });
    });
    // Queue for leadership; granted when no other worker holds it (at once, or when the leader dies).
    void locks.request(`tideq-leader:${this.#name}`, () => this.#lead());
  }

  get entrypoints(): string[] {
    return this.#entrypoints;
  }

  get leading(): boolean {
    return this.#runtime !== null;
  }

  /** The store, once this worker leads (never resolves in a tab that keeps following). */
  async store(): Promise<S> {
    await this.#led;
    return this.#runtime!.store();
  }

  /** Becomes the leader: opens the store (restoring its last state), runs the jobs, serves the others. */
  async #lead(): Promise<void> {
    this.#guard?.fail(new StorageUnavailableError('this tab became the leader; retry the call'));
    this.#guard = null;
    this.#remote = null;
    this.#becoming = this.#led;
    const runtime = new HostRuntime(this.#options, { hostLock: false, flushWrites: true });
    await runtime.ready;
    this.#runtime = runtime;
    this.#runtimeApi = connectionApi(runtime);
    this.#entrypoints = runtime.entrypoints;
    this.#leaderId = this.id;
    const store = await runtime.store();
    this.#storeEvents = await store.subscribe((events) => {
      this.#channel.postMessage({
        tideqLeader: 'events',
        leader: this.id,
        events: [...events],
      } satisfies ChannelMessage);
      this.#deliverAll(events);
    });
    Comlink.expose(this.#runtimeApi, channelEndpoint(this.#channel));
    this.#channel.postMessage({ tideqLeader: 'announce', leader: this.id } satisfies ChannelMessage);
    this.#becameLeader();
    // Held until this worker dies or close(): the lock then passes to the next tab in line.
    return new Promise<void>((release) => {
      this.#resign = release;
    });
  }

  /** Forward calls to the leader `leader` (null: not known yet); calls pending with the old one reject. */
  #follow(leader: string | null): void {
    if (this.leading) return;
    this.#guard?.fail(
      new StorageUnavailableError(
        'the leader tab closed while this call was in flight; another tab has taken over: retry the call',
      ),
    );
    this.#leaderId = leader;
    this.#guard = new GuardedEndpoint(channelEndpoint(this.#channel));
    this.#remote = Comlink.wrap<HostApi>(this.#guard);
  }

  #onChannel(message: ChannelMessage): void {
    if (message === null || typeof message !== 'object' || typeof message.tideqLeader !== 'string') return;
    if (message.tideqLeader === 'who') {
      if (this.leading)
        this.#channel.postMessage({ tideqLeader: 'announce', leader: this.id } satisfies ChannelMessage);
      return;
    }
    if (message.leader === this.id || this.leading) return;
    // The first leader heard of answers the calls sent so far; a different one means a takeover.
    if (this.#leaderId === null) this.#leaderId = message.leader;
    else if (message.leader !== this.#leaderId) this.#follow(message.leader);
    if (message.tideqLeader === 'events' && Array.isArray(message.events)) this.#deliverAll(message.events);
  }

  /** The API of the leader: local when this tab leads (or is taking over), forwarded otherwise. */
  async #target(): Promise<HostApi> {
    if (this.#runtimeApi === null && this.#becoming !== null) await this.#becoming;
    if (this.#runtimeApi !== null) return this.#runtimeApi;
    return this.#remote as unknown as HostApi;
  }

  #deliverAll(events: readonly JobEvent[]): void {
    for (const sub of this.#subs.values()) {
      let added = false;
      for (const event of events) {
        if (sub.kinds !== null && !sub.kinds.has(event.kind)) continue;
        sub.pending.push(event);
        added = true;
      }
      if (added && !sub.sending) void this.#flushSub(sub);
    }
  }

  async #flushSub(sub: LocalSub): Promise<void> {
    sub.sending = true;
    while (sub.pending.length > 0) {
      const batch = sub.pending;
      sub.pending = [];
      try {
        await sub.remote(batch);
      } catch {
        // The page's listener threw (it reports that itself) or the page is gone.
      }
    }
    sub.sending = false;
  }

  async disconnect(client: string): Promise<void> {
    for (const [id, sub] of [...this.#subs]) if (sub.client === client) this.#release(id);
  }

  #release(id: number): void {
    const sub = this.#subs.get(id);
    if (sub === undefined) return;
    this.#subs.delete(id);
    sub.pending = [];
    sub.remote[Comlink.releaseProxy]();
  }

  api(): HostApi {
    const t = () => this.#target();
    return {
      enqueueEncoded: async (batch) => (await t()).enqueueEncoded(batch),
      enqueueValues: async (jobs, onConflict) => (await t()).enqueueValues(jobs, onConflict),
      status: async (ids) => (await t()).status(ids),
      waitFor: async (ids, timeout, waitId) => {
        const unique = Math.floor(Math.random() * 2 ** 52);
        this.#waitIds.set(waitId, unique);
        try {
          return await (await t()).waitFor(ids, timeout, unique);
        } finally {
          this.#waitIds.delete(waitId);
        }
      },
      abortWait: async (waitId, reason) => {
        const unique = this.#waitIds.get(waitId);
        if (unique !== undefined) await (await t()).abortWait(unique, reason);
      },
      cancel: async (ids) => (await t()).cancel(ids),
      // Events come from this tab's relay, fed by the leader (here or over the channel).
      subscribe: async (listener, options: SubscribeOptionsWire, client) => {
        const id = ++this.#subSeq;
        this.#subs.set(id, {
          remote: listener as unknown as Comlink.Remote<(events: JobEvent[]) => void>,
          kinds: options.kinds === undefined ? null : new Set(options.kinds),
          client,
          pending: [],
          sending: false,
        });
        return id;
      },
      unsubscribe: async (id) => this.#release(id),
      disconnect: (client) => this.disconnect(client),
      pause: async () => (await t()).pause(),
      resume: async () => (await t()).resume(),
      stats: async () => ({ ...(await (await t()).stats()), leader: this.leading }) as HostStats,
      metrics: async () => (await t()).metrics(),
      queueSize: async () => (await t()).queueSize(),
      replay: async () => (await t()).replay(),
      failedJobs: async (options) => (await t()).failedJobs(options),
      requeue: async (ids) => (await t()).requeue(ids),
      info: async (): Promise<HostInfo> => ({
        connections: this.connections,
        subscribers: this.#subs.size,
        state: this.leading ? this.#runtime!.stats().state : 'following',
      }),
    };
  }

  async close(): Promise<void> {
    await this.#storeEvents?.();
    await this.#runtime?.close();
    // Flush and let go of the store, so the next leader can open it.
    if (this.#runtime !== null) await (await this.#runtime.store()).close();
    for (const id of [...this.#subs.keys()]) this.#release(id);
    this.#channel.close();
    this.#resign?.();
  }
}
