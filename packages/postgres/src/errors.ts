/**
 * The one answer to "is the database out of reach, or is this a bug?". Only an outage becomes
 * STORAGE_UNAVAILABLE (which the QueueManager waits out and retries); a programming error (a
 * TypeError, a JSON.parse failure on a corrupt row, an SQL error from a live server) surfaces as
 * what it is, so it is not retried ten times as if the server were down. Used by the adapter's
 * error mapping and by the pool driver's decision to discard a connection.
 */

/**
 * SQLSTATEs that mean the server cannot serve us right now (not that our statement is wrong):
 * 08 connection exception; 53 insufficient resources (too many connections, out of memory,
 * disk full); 57P operator intervention (terminated, shutdown, cannot connect now, database
 * dropped); 58 system error (I/O); 25006 read-only transaction (a standby after a failover).
 */
const UNAVAILABLE_CLASSES = ['08', '53', '57P', '58'];
const UNAVAILABLE_CODES = new Set(['25006']);

/** Socket and name-resolution errors of Node's net/dns/fetch. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ENOTCONN',
  'ESHUTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * What node-postgres and Neon's WebSocket driver (a fork of it) throw, with no code, when the
 * session is gone or cannot be had.
 */
const CONNECTION_LOST =
  /^(?:Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect|Connection ended unexpectedly)/;

/** Neon's HTTP driver: a status other than 400 comes as "Server error (HTTP status N): ...". */
const HTTP_STATUS = /^Server error \(HTTP status (\d{3})\)/;

interface ErrorFields {
  code?: unknown;
  syscall?: unknown;
  severity?: unknown;
  message?: unknown;
  name?: unknown;
  sourceError?: unknown;
  cause?: unknown;
}

function fields(error: unknown): ErrorFields | null {
  return error !== null && typeof error === 'object' ? (error as ErrorFields) : null;
}

/** The SQLSTATE of a server error (five characters), if the error carries one. */
export function sqlState(error: unknown): string | undefined {
  const code = fields(error)?.code;
  // Node's EPIPE is five capital letters too: a socket code is never a SQLSTATE.
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !NETWORK_CODES.has(code)
    ? code
    : undefined;
}

/**
 * True when `error` means the database cannot be reached or cannot serve (network failure,
 * connection lost or refused, server shutting down or out of resources); false for everything
 * else, which is a bug or a bad statement and must surface as it is.
 */
export function isStorageUnavailable(error: unknown, depth = 0): boolean {
  const e = fields(error);
  if (e === null || depth > 4) return false;
  const state = sqlState(error);
  if (state !== undefined) {
    return UNAVAILABLE_CODES.has(state) || UNAVAILABLE_CLASSES.some((c) => state.startsWith(c));
  }
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (typeof e.syscall === 'string') return true; // any failed socket/dns call of Node
  const message = typeof e.message === 'string' ? e.message : '';
  if (CONNECTION_LOST.test(message)) return true;
  // Neon HTTP: the fetch itself failed (the driver keeps it as sourceError), or a gateway error.
  if (e.name === 'NeonDbError') {
    if (e.sourceError !== undefined) return true;
    const status = HTTP_STATUS.exec(message);
    if (status !== null) {
      const n = Number(status[1]);
      return n >= 500 || n === 408 || n === 429;
    }
  }
  // fetch() and WebSocket failures wrap the socket error as `cause`.
  return e.cause !== undefined && isStorageUnavailable(e.cause, depth + 1);
}

/**
 * True when the session that ran the statement may be reused: the server answered with an SQL
 * error and is still there. Anything else (lost connection, a driver-side failure mid-protocol)
 * discards the connection.
 */
export function sessionUsable(error: unknown): boolean {
  return typeof fields(error)?.severity === 'string' && !isStorageUnavailable(error);
}
