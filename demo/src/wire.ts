/**
 * JSON with bytes: the Postgres API between the engine Worker and the dev server carries job
 * payloads (Uint8Array) as `{ "$bytes": "<base64>" }`. Used on both sides.
 */

import { PORT_METHODS } from '@tideq/core';

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encodeWire(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? { $bytes: toBase64(v) } : v));
}

export function decodeWire<T = unknown>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && typeof (v as { $bytes?: unknown }).$bytes === 'string'
      ? fromBase64((v as { $bytes: string }).$bytes)
      : v,
  ) as T;
}

/** Port methods the browser never calls remotely: subscribe has its own stream, and a page must not uninstall or close the server's store. */
const LOCAL_ONLY = ['subscribe', 'uninstall', 'close'] as const;

type RemoteMethod = Exclude<(typeof PORT_METHODS)[number], (typeof LOCAL_ONLY)[number]>;

/** Port methods the dev server answers over POST /api/pg/call: the port's own list, so a new method arrives by construction. */
export const REMOTE_METHODS = PORT_METHODS.filter(
  (method): method is RemoteMethod => !(LOCAL_ONLY as readonly string[]).includes(method),
);
