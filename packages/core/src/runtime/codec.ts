/** Payload codecs: bytes as stored (the default) and JSON. */
import { InvalidArgumentError } from '../errors.js';
import type { Codec } from './types.js';

/** The payload as stored: bytes or null, unchanged. */
export const bytesCodec: Codec<Uint8Array | null> = {
  encode: (value) => value,
  decode: (bytes) => bytes,
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * JSON as UTF-8 bytes; `null` payloads decode to `null`. The type parameter types the payload
 * for `entrypoint()` handlers and `enqueue()`.
 *
 * @example
 * qm.entrypoint('sendEmail', { codec: jsonCodec<{ to: string }>() }, async ({ payload }) => send(payload.to));
 */
export function jsonCodec<T>(): Codec<T> {
  return {
    encode(value: T): Uint8Array {
      const text = JSON.stringify(value);
      if (text === undefined) throw new InvalidArgumentError(`jsonCodec cannot encode ${typeof value}`);
      return encoder.encode(text);
    },
    decode(bytes: Uint8Array | null): T {
      return (bytes === null ? null : JSON.parse(decoder.decode(bytes))) as T;
    },
  };
}

/** @internal The codec option of an entrypoint, checked; bytes when absent. */
export function codecOrBytes(codec: Codec<unknown> | undefined, name: string): Codec<unknown> {
  if (codec === undefined) return bytesCodec as Codec<unknown>;
  if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function') {
    throw new InvalidArgumentError(
      `entrypoint ${name}: codec needs encode(value) and decode(bytes) functions`,
    );
  }
  return codec;
}
