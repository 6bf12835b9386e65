/**
 * The wire between `connectQueue` (page) and `hostQueue` (worker): the handshake messages and the
 * API the host exposes per connection with Comlink. Types only; behaviour lives in host/ and
 * facade/connect.ts.
 */
import type {
  EntrypointStats,
  Job,
  JobEvent,
  JobEventKind,
  JobStatus,
  QueueSizeRow,
  RepositoryMetrics,
} from '@tideq/core';
import type { Limits } from '@tideq/core/adapter';
import type { EncodedEnqueue, PageJob, WireIds } from './batch.js';

/** Page -> host, repeated when the host announces `ready` (a hello sent too early is lost). */
export interface HelloMessage {
  tideq: 'hello';
  client: string;
  /** A Web Lock the page holds while it lives: the host releases the page's subscriptions when it is granted. */
  clientLock: string | null;
}

/** Host -> page: the handshake answer. */
export interface WelcomeMessage {
  tideq: 'welcome';
  client: string;
  /** A Web Lock the host holds while it lives: the page rejects pending calls when it is granted. */
  hostLock: string | null;
  /** The entrypoints registered in the worker. */
  entrypoints: string[];
  /** The store's limits when it tells them (the page checks a batch against them as it encodes). */
  limits: Limits | null;
}

/** Host -> page: the host started listening (answers a hello that came too early). */
export interface ReadyMessage {
  tideq: 'ready';
}

export type HandshakeMessage = HelloMessage | WelcomeMessage | ReadyMessage;

/** What the host loop is doing. */
/** 'following': leader mode, another tab's worker runs the jobs. */
export type HostState = 'starting' | 'running' | 'paused' | 'stopped' | 'failed' | 'following';

/** `stats()`: the host's state and the QueueManager's counters per entrypoint. */
export interface HostStats<R = Record<string, unknown>> {
  state: HostState;
  /** Why the loop stopped, when state is 'failed'. */
  error: string | null;
  /** Whether this host runs the jobs (always true except for a follower tab in leader mode). */
  leader: boolean;
  entrypoints: { [K in keyof R]: EntrypointStats };
}

/** Subscriptions and connections the host holds (for leak checks and dashboards). */
export interface HostInfo {
  connections: number;
  subscribers: number;
  state: HostState;
}

export interface SubscribeOptionsWire {
  after?: number;
  kinds?: JobEventKind[];
}

/** @internal What the host exposes on each connection (Comlink). */
export interface HostApi {
  /**
   * A batch encoded on the page (one transferred buffer). `spare`: the batch's buffer transferred
   * back once the store copied the bytes (the WASM store), for the page's next batch.
   */
  enqueueEncoded(batch: EncodedEnqueue): Promise<{ ids: WireIds; spare: ArrayBuffer | null }>;
  enqueueValues(jobs: PageJob[], onConflict: 'raise' | 'skip'): Promise<WireIds>;
  status(ids: number[]): Promise<(JobStatus | null)[]>;
  waitFor(ids: number[], timeout: number | undefined, waitId: number): Promise<JobStatus[]>;
  abortWait(waitId: number, reason: unknown): void;
  cancel(ids: number[]): Promise<boolean[]>;
  subscribe(
    listener: (events: JobEvent[]) => void,
    options: SubscribeOptionsWire,
    client: string,
  ): Promise<number>;
  unsubscribe(id: number): Promise<void>;
  disconnect(client: string): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stats(): Promise<HostStats>;
  metrics(): Promise<RepositoryMetrics>;
  queueSize(): Promise<QueueSizeRow[]>;
  replay(): Promise<void>;
  failedJobs(options: { limit?: number; after?: number }): Promise<Job[]>;
  requeue(ids: number[]): Promise<boolean[]>;
  info(): Promise<HostInfo>;
}

export function isHandshake(data: unknown): data is HandshakeMessage {
  return typeof data === 'object' && data !== null && typeof (data as { tideq?: unknown }).tideq === 'string';
}
