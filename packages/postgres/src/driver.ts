/**
 * The small interface the adapter talks to, and one-line factories over node-postgres and
 * Neon's serverless driver. The factories take structural "Like" types, so this module imports
 * neither library: bring the one you use.
 */
import { DriverMisconfiguredError } from '@tideq/core';
import { sessionUsable } from './errors.js';
import { quoteIdent } from './render.js';

export { quoteIdent };

/** The rows of one statement and how many it affected. */
export interface SqlResult {
  /** Result rows, column name -> value. */
  rows: Record<string, unknown>[];
  /** Rows returned or affected (0 when the driver reports none). */
  rowCount: number;
}

/** Stops a LISTEN; resolves once no further notification will be delivered. */
export type Unlisten = () => Promise<void>;

/**
 * The one interface the Postgres adapter talks to: a statement in, rows out, plus LISTEN where the
 * driver holds a session. Get one from a factory (`pgPoolDriver`, `neonHttpDriver`, ...) or write
 * your own over another client library.
 */
export interface SqlDriver {
  /** For error messages: 'node-postgres Pool', 'neon http', ... */
  readonly name: string;
  /**
   * One statement, parameterised ($1, $2, ...). Autocommit: each call is its own transaction.
   * `name` asks session drivers to prepare the statement once per connection and reuse its plan.
   */
  query(text: string, params?: readonly unknown[], options?: { name?: string }): Promise<SqlResult>;
  /**
   * LISTEN on `channel` over a held session; `onNotify` runs for each NOTIFY; `onReconnect`
   * after the session was lost and re-established (notifications may have been missed).
   * Absent on drivers without a session (HTTP).
   */
  listen?(channel: string, onNotify: (payload: string) => void, onReconnect?: () => void): Promise<Unlisten>;
  /** Checks the driver can be used as configured (throws DriverMisconfiguredError). */
  check?(): Promise<void>;
  /** Ends what the factory created (never the caller's pool or client). */
  close?(): Promise<void>;
}

// ---- structural types of the libraries ------------------------------------------------------

interface QueryResultLike {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

interface NotificationLike {
  channel: string;
  payload?: string | undefined;
}

/** A query with a statement name (prepared once per connection). */
export interface QueryConfigLike {
  name?: string;
  text: string;
  values?: unknown[];
}

/** A node-postgres or Neon WebSocket `Client` (connected by the caller). */
export interface PgClientLike {
  /** Runs one statement (a named config is prepared once per connection). */
  query(text: string | QueryConfigLike, params?: unknown[]): Promise<QueryResultLike>;
  /** NOTIFY messages of the channels this client LISTENs on. */
  on(event: 'notification', listener: (msg: NotificationLike) => void): unknown;
  /** Connection errors (the driver keeps a listener so they never crash the process). */
  on(event: 'error', listener: (err: Error) => void): unknown;
  /** Removes a notification listener. */
  removeListener(event: 'notification', listener: (msg: NotificationLike) => void): unknown;
  /** Removes an error listener. */
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
  /** 'I' when idle outside a transaction (node-postgres); used to refuse a client inside one. */
  getTransactionStatus?(): string | null;
  /** Listeners of an event (to tell whether the caller handles errors itself). */
  listenerCount?(event: string): number;
}

/** A client checked out of a pool. */
export interface PgPoolClientLike extends PgClientLike {
  /** Returns the client to the pool (an error or true destroys it). */
  release(err?: Error | boolean): void;
}

/** A node-postgres or Neon WebSocket `Pool`. */
export interface PgPoolLike {
  /** Runs one statement on any pooled connection. */
  query(text: string | QueryConfigLike, params?: unknown[]): Promise<QueryResultLike>;
  /** Checks out a client (LISTEN holds one). */
  connect(): Promise<PgPoolClientLike>;
  /** Errors of idle pooled connections. */
  on(event: 'error', listener: (err: Error) => void): unknown;
  /** Emitted for each new connection, before anyone else sees it. */
  on(event: 'connect', listener: (client: PgPoolClientLike) => void): unknown;
  /** Listeners of an event (to tell whether the caller handles errors itself). */
  listenerCount(event: string): number;
  readonly options?: { max?: number };
}

/** What `neon(url)` (or `neon(url, { fullResults: true })`) from @neondatabase/serverless returns. */
export interface NeonHttpLike {
  /** One statement over one HTTP request. */
  query(text: string, params?: unknown[]): Promise<unknown>;
}

// ---- helpers --------------------------------------------------------------------------------

function config(
  text: string,
  params: readonly unknown[] | undefined,
  options: { name?: string } | undefined,
): QueryConfigLike {
  const out: QueryConfigLike = { text, values: params as unknown[] | undefined };
  if (options?.name !== undefined) out.name = options.name;
  return out;
}

function toResult(res: QueryResultLike): SqlResult {
  return { rows: res.rows, rowCount: res.rowCount ?? res.rows.length };
}

const TX_CHECK = 'SELECT transaction_timestamp() = statement_timestamp() AS autocommit';

async function checkAutocommit(name: string, client: PgClientLike): Promise<void> {
  const status = client.getTransactionStatus?.();
  let inTransaction = status === 'T' || status === 'E';
  if (!inTransaction) {
    // Inside an open transaction the transaction started before this statement.
    const res = await client.query(TX_CHECK);
    inTransaction = res.rows[0]?.autocommit !== true;
  }
  if (inTransaction) {
    throw new DriverMisconfiguredError(
      `the ${name} is inside an open transaction: tideq runs each operation as its own autocommit ` +
        'statement and its locks and NOTIFYs only take effect at commit. COMMIT or ROLLBACK first, or give tideq its own client or a Pool',
    );
  }
}

async function listenOn(
  client: PgClientLike,
  channel: string,
  onNotify: (payload: string) => void,
): Promise<() => Promise<void>> {
  const handler = (msg: NotificationLike) => {
    if (msg.channel === channel) onNotify(msg.payload ?? '');
  };
  client.on('notification', handler);
  await client.query(`LISTEN ${quoteIdent(channel)}`);
  return async () => {
    client.removeListener('notification', handler);
    await client.query(`UNLISTEN ${quoteIdent(channel)}`);
  };
}

// ---- factories ------------------------------------------------------------------------------

/**
 * A connected node-postgres `Client` or Neon WebSocket `Client`. Queries and LISTEN share its
 * one session. The client must not be inside a transaction.
 */
export function clientDriver(client: PgClientLike, name = 'Client'): SqlDriver {
  let checked = false;
  // A client whose connection the server ends emits 'error'; unhandled, that kills the process.
  // Later queries reject (StorageUnavailableError) instead.
  if (client.listenerCount?.('error') === 0) client.on('error', () => {});
  return {
    name,
    async query(text, params, options) {
      return toResult(await client.query(config(text, params, options)));
    },
    async listen(channel, onNotify) {
      return listenOn(client, channel, onNotify);
    },
    async check() {
      if (checked) return;
      await checkAutocommit(name, client);
      checked = true;
    },
  };
}

/** Options of the pool drivers (`pgPoolDriver`, `neonPoolDriver`). */
export interface PoolDriverOptions {
  /** Name used in error messages. */
  name?: string;
  /** Delay before re-acquiring a lost LISTEN connection, ms (default 250). */
  reconnectDelay?: number;
}

/**
 * A node-postgres or Neon WebSocket `Pool`. LISTEN holds one pooled connection for as long as a
 * subscription lives (re-acquired if the connection is lost), so the pool needs max >= 2.
 */
export function poolDriver(pool: PgPoolLike, options: PoolDriverOptions = {}): SqlDriver {
  const name = options.name ?? 'Pool';
  const reconnectDelay = options.reconnectDelay ?? 250;
  // A pooled connection killed by the server makes the pool emit 'error'; without a handler
  // that is an uncaught exception. The pool recovers on its own; the query in flight rejects.
  if (pool.listenerCount('error') === 0) pool.on('error', () => {});
  // Every connection keeps an 'error' listener for as long as it lives. pg-pool removes its own
  // when it hands a client out, and a fresh client can emit 'error' in that very turn (the server's
  // FATAL 57P01 arriving in the same read as the ReadyForQuery), before the caller could attach
  // one: uncaught, that kills the process. So attach at birth ('connect' is emitted before the
  // pool lets go), and again on checkout for clients the pool made before this driver existed.
  // A session that breaks later fails the query in flight, which becomes STORAGE_UNAVAILABLE.
  const guarded = new WeakSet<object>();
  const guard = (client: PgPoolClientLike): void => {
    if (guarded.has(client)) return;
    client.on('error', () => {});
    guarded.add(client);
  };
  pool.on('connect', guard);
  return {
    name,
    async query(text, params, options) {
      const client = await pool.connect();
      guard(client);
      try {
        const res = await client.query(config(text, params, options));
        client.release();
        return toResult(res);
      } catch (error) {
        // A server-side SQL error leaves the session usable; anything else discards it.
        client.release(sessionUsable(error) ? undefined : (error as Error));
        throw error;
      }
    },
    async listen(channel, onNotify, onReconnect) {
      const max = pool.options?.max;
      if (max !== undefined && max < 2) {
        throw new DriverMisconfiguredError(
          `the ${name} has max ${max} connection${max === 1 ? '' : 's'}: LISTEN holds one while queries need another. ` +
            'Create it with max >= 2, or pass listen: false to poll instead',
        );
      }
      // One LISTEN connection at a time: `current` while it listens, `attaching` while one is
      // being set up, `timer` while waiting to retry. Never two, so none is leaked (a leaked
      // checked-out client would make pool.end() wait forever).
      let stopped = false;
      let current: { c: PgPoolClientLike; onError: () => void; unlisten: () => Promise<void> } | undefined;
      let attaching: Promise<void> | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const retryLater = () => {
        if (!stopped && timer === undefined && attaching === undefined)
          timer = setTimeout(reconnect, reconnectDelay);
      };
      const attach = async (): Promise<void> => {
        const c = await pool.connect();
        guard(c);
        let lost = false;
        const onError = () => {
          // The session is gone (server restart, pg_terminate_backend): drop it, get another.
          // While attaching, the LISTEN below fails instead and attach's caller retries.
          c.removeListener('error', onError);
          lost = true;
          if (current?.c === c) {
            current = undefined;
            c.release(true);
            retryLater();
          }
        };
        c.on('error', onError);
        let unlisten: () => Promise<void>;
        try {
          unlisten = await listenOn(c, channel, onNotify);
          if (lost) throw new Error('Connection terminated while starting LISTEN');
        } catch (error) {
          c.removeListener('error', onError);
          c.release(true);
          throw error;
        }
        if (stopped) {
          // Unlistened while we were attaching: hand the connection back.
          c.removeListener('error', onError);
          c.release(true);
          return;
        }
        current = { c, onError, unlisten };
      };
      const reconnect = () => {
        timer = undefined;
        if (stopped) return;
        attaching = attach().then(
          () => {
            attaching = undefined;
            if (!stopped) onReconnect?.();
          },
          () => {
            attaching = undefined;
            retryLater();
          },
        );
      };
      await attach();
      return async () => {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        await attaching;
        const cur = current;
        current = undefined;
        if (cur !== undefined) {
          cur.c.removeListener('error', cur.onError);
          try {
            await cur.unlisten();
            cur.c.release();
          } catch (error) {
            cur.c.release(error instanceof Error ? error : true);
          }
        }
      };
    },
  };
}

interface HexBuffer {
  from(buffer: ArrayBufferLike, offset: number, length: number): { toString(encoding: 'hex'): string };
}
const NodeBuffer = (globalThis as { Buffer?: HexBuffer }).Buffer;

/**
 * bytea in Postgres' text form for the HTTP driver (which sends every parameter as text): one
 * native hex conversion where the runtime has one, else the driver's own conversion.
 */
function byteaText(bytes: Uint8Array): string | Uint8Array {
  const toHex = (bytes as { toHex?: () => string }).toHex;
  if (typeof toHex === 'function') return `\\x${toHex.call(bytes)}`;
  if (NodeBuffer !== undefined)
    return `\\x${NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
  return bytes;
}

/**
 * Neon's HTTP driver: `neonHttpDriver(neon(url))`. Each query is one HTTP request (one
 * transaction). There is no session, so no LISTEN: subscribers poll.
 */
export function neonHttpDriver(sql: NeonHttpLike, name = 'Neon HTTP driver'): SqlDriver {
  return {
    name,
    async query(text, params) {
      const values = params?.map((p) => (p instanceof Uint8Array ? byteaText(p) : p));
      const res = (await sql.query(text, values)) as unknown;
      // neon() returns the rows unless created with { fullResults: true }.
      if (Array.isArray(res)) return { rows: res as Record<string, unknown>[], rowCount: res.length };
      return toResult(res as QueryResultLike);
    },
  };
}
