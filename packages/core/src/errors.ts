/**
 * The one error hierarchy of tideq. Every error a port method, the runtime or a host throws on
 * purpose is a `TideqError` with a stable `code`; the message says what was wrong and what to do.
 * Errors cross the Comlink and HTTP boundaries as {@link TideqErrorJSON} and are revived with
 * {@link errorFromJSON}, so `code` survives.
 */

/** The stable code of every {@link TideqError}; each maps to one HTTP status. */
export type TideqErrorCode =
  | 'DUPLICATE_JOB'
  | 'INVALID_ARGUMENT'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_INSTALLED'
  | 'SCHEMA_OUTDATED'
  | 'DRIVER_MISCONFIGURED'
  | 'STORAGE_UNAVAILABLE'
  | 'CORE_TRAPPED'
  | 'QUEUE_FULL'
  | 'TIMEOUT'
  | 'UNAUTHORIZED';

/** The wire form of a {@link TideqError}. */
export interface TideqErrorJSON {
  /** The error class's name, e.g. `DuplicateJobError`. */
  name: string;
  /** Its stable code. */
  code: TideqErrorCode;
  /** What was wrong and what to do. */
  message: string;
  /** Machine-readable context, when the error has any. */
  details?: Record<string, unknown>;
}

const HTTP_STATUS: Record<TideqErrorCode, number> = {
  DUPLICATE_JOB: 409,
  INVALID_ARGUMENT: 400,
  PAYLOAD_TOO_LARGE: 413,
  NOT_INSTALLED: 503,
  SCHEMA_OUTDATED: 503,
  DRIVER_MISCONFIGURED: 500,
  STORAGE_UNAVAILABLE: 503,
  CORE_TRAPPED: 500,
  // 507 Insufficient Storage: the store refused to grow past its budget; retry after draining.
  QUEUE_FULL: 507,
  TIMEOUT: 504,
  UNAUTHORIZED: 401,
};

/**
 * The base of every error tideq throws on purpose: `code` is stable (switch on it, not on the
 * message), {@link TideqError.httpStatus} is what an HTTP boundary answers, `toJSON()` is the wire form.
 *
 * @example
 * try {
 *   await queue.enqueue(jobs);
 * } catch (error) {
 *   if (isTideqError(error) && error.code === 'DUPLICATE_JOB') console.log(error.details);
 * }
 */
export class TideqError extends Error {
  /** The class name (kept across Comlink and HTTP by `toJSON()` / `errorFromJSON()`). */
  override name = 'TideqError';
  /** The stable code: switch on it, not on the message. */
  readonly code: TideqErrorCode;
  /** Machine-readable context (the duplicate keys, the offending field, ...). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: TideqErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }

  /** The HTTP status an edge handler answers with for this error. */
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  /** The wire form (name, code, message, details); {@link errorFromJSON} revives it. */
  toJSON(): TideqErrorJSON {
    const json: TideqErrorJSON = { name: this.name, code: this.code, message: this.message };
    if (this.details !== undefined) json.details = this.details;
    return json;
  }
}

/** A dedupe key is already held by a queued or picked job (or twice inside one batch). */
export class DuplicateJobError extends TideqError {
  override name = 'DuplicateJobError';
  /** The dedupe keys that conflicted, each once. */
  readonly keys: readonly string[];
  constructor(keys: readonly string[], message?: string) {
    super(
      'DUPLICATE_JOB',
      message ??
        `dedupe key${keys.length === 1 ? '' : 's'} already queued or picked: ${keys.map((k) => JSON.stringify(k)).join(', ')}; ` +
          `nothing was stored (pass onConflict: 'skip' to store the other jobs)`,
      { details: { keys: [...keys] } },
    );
    this.keys = keys;
  }
}

/** An argument breaks a documented rule (the message names the field and the rule); nothing was stored. */
export class InvalidArgumentError extends TideqError {
  override name = 'InvalidArgumentError';
  constructor(message: string, details?: Record<string, unknown>) {
    super('INVALID_ARGUMENT', message, details === undefined ? undefined : { details });
  }
}

/** A payload or the headers exceed the store's limits (`maxPayloadBytes`, `maxHeadersBytes`); nothing was stored. */
export class PayloadTooLargeError extends TideqError {
  override name = 'PayloadTooLargeError';
  constructor(message: string, details?: Record<string, unknown>) {
    super('PAYLOAD_TOO_LARGE', message, details === undefined ? undefined : { details });
  }
}

/** The store's schema is not installed (PostgreSQL: run `npx tideq install`), or it was uninstalled. */
export class NotInstalledError extends TideqError {
  override name = 'NotInstalledError';
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('NOT_INSTALLED', message, options);
  }
}

/** The installed schema is older (run `npx tideq upgrade`) or newer than this version of tideq expects. */
export class SchemaOutdatedError extends TideqError {
  override name = 'SchemaOutdatedError';
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('SCHEMA_OUTDATED', message, options);
  }
}

/** A driver cannot work as given (LISTEN over HTTP, a pool too small to LISTEN, a client inside a transaction); the message says the fix. */
export class DriverMisconfiguredError extends TideqError {
  override name = 'DriverMisconfiguredError';
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('DRIVER_MISCONFIGURED', message, options);
  }
}

/**
 * The store cannot be reached or used now (connection lost, server shutting down, IndexedDB quota,
 * a closed store): an outage, which a `QueueManager` waits out with backoff, not a bug.
 */
export class StorageUnavailableError extends TideqError {
  override name = 'StorageUnavailableError';
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('STORAGE_UNAVAILABLE', message, options);
  }
}

/** The WASM core trapped once; every later call on that instance reports this (its memory can no longer be trusted). */
export class CoreTrappedError extends TideqError {
  override name = 'CoreTrappedError';
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('CORE_TRAPPED', message, options);
  }
}

/**
 * The store reached its memory budget (the WASM core's `memoryBudget`): the batch was rejected
 * and nothing was stored; everything already stored stays readable (`snapshot()` works). Drain
 * or compact the queue, or raise the budget.
 */
export class QueueFullError extends TideqError {
  override name = 'QueueFullError';
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('QUEUE_FULL', message, options);
  }
}

/** A wait (`waitFor`, a call across a Worker) ran past its timeout. */
export class TimeoutError extends TideqError {
  override name = 'TimeoutError';
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('TIMEOUT', message, options);
  }
}

/** A request to an edge endpoint had no valid bearer token or signature (HTTP 401). */
export class UnauthorizedError extends TideqError {
  override name = 'UnauthorizedError';
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('UNAUTHORIZED', message, options);
  }
}

/** True for any {@link TideqError} (also one revived by {@link errorFromJSON}). */
export function isTideqError(value: unknown): value is TideqError {
  return value instanceof TideqError;
}

/** Rebuild the right subclass from the wire form (Comlink, HTTP). */
export function errorFromJSON(json: TideqErrorJSON): TideqError {
  const details = json.details;
  switch (json.code) {
    case 'DUPLICATE_JOB':
      return new DuplicateJobError((details?.keys as string[] | undefined) ?? [], json.message);
    case 'INVALID_ARGUMENT':
      return new InvalidArgumentError(json.message, details);
    case 'PAYLOAD_TOO_LARGE':
      return new PayloadTooLargeError(json.message, details);
    case 'NOT_INSTALLED':
      return new NotInstalledError(json.message, { details });
    case 'SCHEMA_OUTDATED':
      return new SchemaOutdatedError(json.message, { details });
    case 'DRIVER_MISCONFIGURED':
      return new DriverMisconfiguredError(json.message, { details });
    case 'STORAGE_UNAVAILABLE':
      return new StorageUnavailableError(json.message, { details });
    case 'CORE_TRAPPED':
      return new CoreTrappedError(json.message, { details });
    case 'QUEUE_FULL':
      return new QueueFullError(json.message, { details });
    case 'TIMEOUT':
      return new TimeoutError(json.message, { details });
    case 'UNAUTHORIZED':
      return new UnauthorizedError(json.message, { details });
    default:
      return new TideqError(json.code, json.message, { details });
  }
}

/** Turn any thrown value into an Error, keeping the original as `cause` (handlers may throw anything). */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : `non-error thrown: ${safeString(value)}`, {
    cause: value,
  });
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
