/**
 * Payload bytes to and from PostgreSQL without per-byte string building. A batch's payloads go
 * as ONE binary bytea parameter (their bytes back to back) plus one integer array of lengths:
 * node-postgres and Neon's WebSocket driver send a Uint8Array/Buffer parameter as binary, Neon's
 * HTTP driver as one native hex conversion. Building hex one byte at a time took 3.3 GB and 17 s
 * for 80 jobs of 1 MiB (issue #11); this costs one copy of the batch's bytes.
 */

interface BufferLike {
  from(value: string, encoding: 'hex'): Uint8Array;
}
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;
const fromHexNative = (Uint8Array as unknown as { fromHex?: (hex: string) => Uint8Array }).fromHex;

/** The payloads of a batch as (lengths, one blob): a null payload has length null. */
export function packPayloads(payloads: readonly (Uint8Array | null)[]): {
  lengths: (number | null)[];
  blob: Uint8Array;
} {
  let total = 0;
  const lengths = payloads.map((p) => {
    if (p === null) return null;
    total += p.byteLength;
    return p.byteLength;
  });
  const blob = new Uint8Array(total);
  let at = 0;
  for (const p of payloads) {
    if (p === null) continue;
    blob.set(p, at);
    at += p.byteLength;
  }
  return { lengths, blob };
}

const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[97 + i] = 10 + i;
  NIBBLE[65 + i] = 10 + i;
}

/** Hex text (no '\x') to bytes: natively where the runtime can (Buffer, Uint8Array.fromHex). */
function fromHex(hex: string): Uint8Array {
  if (NodeBuffer !== undefined) return NodeBuffer.from(hex, 'hex');
  if (fromHexNative !== undefined) return fromHexNative(hex);
  const out = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < out.length; i++) {
    const hi = NIBBLE[hex.charCodeAt(2 * i)] ?? -1;
    const lo = NIBBLE[hex.charCodeAt(2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0) throw new TypeError(`invalid hex in a bytea value from the driver at ${2 * i}`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/**
 * bytea as a driver returns it (Buffer, Uint8Array or '\x..' text) as a plain Uint8Array that owns
 * its ArrayBuffer (a driver's Buffer may be a view into a shared pool, which must not be
 * transferred or leaked to the caller).
 */
export function toBytes(value: unknown): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (typeof value === 'string' && value.startsWith('\\x')) return new Uint8Array(fromHex(value.slice(2)));
  throw new TypeError(`unexpected bytea value from the driver: ${typeof value}`);
}
