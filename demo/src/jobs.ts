/**
 * The playground's job payload and its codec, shared by the Worker's handlers and the page's
 * `connectQueue({ codecs })`: the page packs a batch's payloads into one transferred buffer.
 */
import { type Codec, jsonCodec } from '@tideq/core';

export interface DemoPayload {
  /** Position in its enqueue batch. */
  n: number;
  entrypoint: string;
  /** Padding up to the requested payload size. */
  note: string;
}

export type DemoPayloads = Record<string, DemoPayload>;

export const payloadCodec: Codec<DemoPayload> = jsonCodec<DemoPayload>();

export function codecsFor(names: readonly string[]): Record<string, Codec<DemoPayload>> {
  return Object.fromEntries(names.map((name) => [name, payloadCodec]));
}

/** A payload of about `size` bytes of JSON. */
export function makePayload(entrypoint: string, n: number, size: number): DemoPayload {
  const base = JSON.stringify({ n, entrypoint, note: '' }).length;
  return { n, entrypoint, note: 'x'.repeat(Math.max(0, size - base)) };
}
