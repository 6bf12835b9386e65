/**
 * TideqError across a Comlink boundary, thrown or returned, with its class and `code`.
 *
 * Comlink's built-in `'throw'` handler keeps only name/message/stack, and thrown values meet it
 * before any handler added later, so the entry itself is replaced (same key, on both sides: the
 * host and the page each run this module). A returned TideqError goes through `'tideq-error'`.
 */
import { errorFromJSON, StorageUnavailableError, type TideqError, type TideqErrorJSON } from '@tideq/core';
import * as Comlink from 'comlink';

/** What a thrown value becomes on the wire. */
type ThrownWire =
  | { kind: 'tideq'; json: TideqErrorJSON; stack?: string }
  | { kind: 'error'; name: string; message: string; stack?: string }
  | { kind: 'value'; value: unknown };

/** Comlink's marker for thrown values is private; the handler recognises the shape it builds. */
const throwMarkerOf = (value: object): symbol | undefined =>
  Object.getOwnPropertySymbols(value).find((s) => s.description === 'Comlink.thrown');

function isTideq(value: unknown): value is TideqError {
  // By shape as well as class: the page and the host may load separate copies of @tideq/core.
  return (
    value instanceof Error &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  );
}

/** @internal The wire form of any thrown value. */
export function errorToWire(value: unknown): ThrownWire {
  if (isTideq(value)) return { kind: 'tideq', json: value.toJSON(), stack: value.stack };
  if (value instanceof Error) {
    return { kind: 'error', name: value.name, message: value.message, stack: value.stack };
  }
  return { kind: 'value', value };
}

/** @internal Rebuilds the thrown value: TideqError subclasses by `code`, other errors by name. */
export function errorFromWire(wire: ThrownWire): unknown {
  if (wire.kind === 'tideq') {
    const error = errorFromJSON(wire.json);
    if (wire.stack !== undefined) error.stack = wire.stack;
    return error;
  }
  if (wire.kind === 'error') {
    const error = new Error(wire.message);
    error.name = wire.name;
    if (wire.stack !== undefined) error.stack = wire.stack;
    return error;
  }
  return wire.value;
}

let installed = false;

/**
 * Installs the error transfer handlers in this realm's Comlink (idempotent). `hostQueue` and
 * `connectQueue` call it; call it yourself only when exposing other objects with Comlink.
 */
export function installErrorHandlers(): void {
  if (installed) return;
  installed = true;
  Comlink.transferHandlers.set('throw', {
    canHandle: (value): value is { value: unknown } =>
      typeof value === 'object' && value !== null && throwMarkerOf(value) !== undefined,
    serialize: (thrown: { value: unknown }) => [errorToWire(thrown.value), []],
    deserialize: (wire: ThrownWire) => {
      throw errorFromWire(wire);
    },
  } as Comlink.TransferHandler<{ value: unknown }, ThrownWire>);
  Comlink.transferHandlers.set('tideq-error', {
    canHandle: (value): value is TideqError => isTideq(value),
    serialize: (error: TideqError) => [{ json: error.toJSON(), stack: error.stack }, []],
    deserialize: (wire: { json: TideqErrorJSON; stack?: string }) =>
      errorFromWire({ kind: 'tideq', ...wire }) as TideqError,
  } as Comlink.TransferHandler<TideqError, { json: TideqErrorJSON; stack?: string }>);
}

/** @internal The wire value of a Comlink reply that rejects with `error`. */
export function thrownReply(id: string, error: unknown): Record<string, unknown> {
  return { id, type: 'HANDLER', name: 'throw', value: errorToWire(error) };
}

/** The error every pending and later call gets once the worker is gone. */
export function hostGoneError(reason: string): StorageUnavailableError {
  return new StorageUnavailableError(
    `the queue worker is gone (${reason}); calls to it cannot complete: start a new worker and connectQueue() again`,
    { details: { reason } },
  );
}
