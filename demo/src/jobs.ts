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

/** Padding strings by length: 100,000 payloads of one size share a handful (no garbage per job). */
const notes = new Map<number, string>();

/** A payload of about `size` bytes of JSON. */
export function makePayload(entrypoint: string, n: number, size: number): DemoPayload {
  // The length of JSON.stringify({ n, entrypoint, note: '' }), without building it.
  const base = 30 + JSON.stringify(entrypoint).length + String(n).length;
  const length = Math.max(0, size - base);
  let note = notes.get(length);
  if (note === undefined) {
    note = 'x'.repeat(length);
    if (notes.size < 1_000) notes.set(length, note);
  }
  return { n, entrypoint, note };
}
