/**
 * The Postgres store as seen from the engine Worker: every port method is one POST to the dev
 * server (`/api/pg/call`), which runs it on `createPostgresQueue` over Neon's driver; events
 * arrive on a Server-Sent Events stream (`/api/pg/events`) the server feeds from the store's
 * own subscription (LISTEN/NOTIFY). Errors come back as TideqError JSON and are revived.
 */
import {
  type EventListener,
  errorFromJSON,
  type JobEvent,
  type QueueRepository,
  StorageUnavailableError,
  type SubscribeOptions,
  type TideqErrorJSON,
} from '@tideq/core';
import { decodeWire, encodeWire, REMOTE_METHODS } from '../wire.ts';

async function call(base: string, method: string, args: unknown[]): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${base}/api/pg/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: encodeWire({ method, args }),
    });
  } catch (error) {
    throw new StorageUnavailableError(`the dev server did not answer ${method}: ${String(error)}`);
  }
  const body = decodeWire<{ result?: unknown; error?: TideqErrorJSON }>(await response.text());
  if (body.error) throw errorFromJSON(body.error);
  return body.result;
}

function subscribe(base: string, listener: EventListener, options: SubscribeOptions = {}) {
  const kinds = options.kinds ? new Set(options.kinds) : null;
  const url = new URL(`${base}/api/pg/events`);
  if (options.after !== undefined) url.searchParams.set('after', String(options.after));
  const source = new EventSource(url);
  let ready: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    ready = resolve;
  });
  source.addEventListener('ready', () => ready());
  source.addEventListener('events', (message) => {
    let events = decodeWire<JobEvent[]>((message as MessageEvent<string>).data);
    if (kinds) events = events.filter((e) => kinds.has(e.kind));
    if (events.length === 0) return;
    try {
      listener(events);
    } catch {
      // listener errors never affect the store (port rule)
    }
  });
  return opened.then(() => async () => source.close());
}

/** A QueueRepository whose store is the dev server's Postgres queue. `base` is the page origin. */
export function createRemotePostgresQueue(base: string): QueueRepository {
  const repo: Record<string, unknown> = {
    subscribe: (listener: EventListener, options?: SubscribeOptions) => subscribe(base, listener, options),
    uninstall: () => Promise.reject(new Error('the playground does not drop the Postgres schema')),
    close: async () => {},
  };
  for (const method of REMOTE_METHODS) repo[method] = (...args: unknown[]) => call(base, method, args);
  return repo as unknown as QueueRepository;
}
