/**
 * The enqueue batch on the wire: every job's entrypoint, priority, executeAfter and payload bytes
 * packed into ONE ArrayBuffer that is transferred (not copied) to the worker, which hands views
 * into it to the store's batch enqueue. Dedupe keys and headers (rare) travel beside it.
 *
 * Record layout (little endian): u16 entrypoint index into `names` | i32 priority |
 * f64 executeAfter (NaN = now) | u32 payload length (0xFFFFFFFF = null) | payload bytes.
 */
import type { Codec, JsonObject, NewJob } from '@tideq/core';

const HEADER = 18;
const NULL_LEN = 0xffffffff;

/** One enqueue batch as it crosses the boundary. */
export interface PackedBatch {
  buf: ArrayBuffer;
  count: number;
  names: string[];
  /** [job index, dedupeKey, headers] for the jobs that have either. */
  extras: [number, string | null | undefined, JsonObject | null | undefined][] | null;
  onConflict: 'raise' | 'skip';
}

/** A job as the page passes it. */
export interface PageJob {
  entrypoint: string;
  payload?: unknown;
  priority?: number;
  executeAfter?: number | Date;
  dedupeKey?: string | null;
  headers?: JsonObject | null;
}

const isInt32 = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;

/**
 * Packs a batch whose every payload the page can encode (its entrypoint has a page codec).
 * Returns null when any job needs the worker's codec or is unusual (non-integer priority, odd
 * executeAfter): such batches go as values and the worker validates them.
 */
export function packBatch(
  jobs: readonly PageJob[],
  codecs: Readonly<Record<string, Codec<unknown> | undefined>>,
  onConflict: 'raise' | 'skip',
): PackedBatch | null {
  const n = jobs.length;
  const payloads = new Array<Uint8Array | null>(n);
  const nameIndex = new Map<string, number>();
  const names: string[] = [];
  const indexes = new Uint16Array(n);
  let extras: PackedBatch['extras'] = null;
  let size = 0;
  let lastName: unknown;
  let lastIndex = 0;
  let codec: Codec<unknown> | undefined;
  for (let i = 0; i < n; i++) {
    const job = jobs[i];
    if (job === null || typeof job !== 'object') return null;
    const name = job.entrypoint;
    if (name !== lastName || i === 0) {
      if (typeof name !== 'string') return null;
      codec = Object.hasOwn(codecs, name) ? codecs[name] : undefined;
      if (codec === undefined) return null;
      let index = nameIndex.get(name);
      if (index === undefined) {
        if (names.length === 0xffff) return null;
        index = names.length;
        names.push(name);
        nameIndex.set(name, index);
      }
      lastName = name;
      lastIndex = index;
    }
    indexes[i] = lastIndex;
    if (job.priority !== undefined && !isInt32(job.priority)) return null;
    const at = job.executeAfter;
    if (at !== undefined && !(at instanceof Date) && !(typeof at === 'number' && Number.isFinite(at))) {
      return null;
    }
    const bytes = (codec as Codec<unknown>).encode(job.payload ?? null);
    if (bytes !== null && !(bytes instanceof Uint8Array)) return null;
    payloads[i] = bytes;
    size += HEADER + (bytes === null ? 0 : bytes.byteLength);
    if ((job.dedupeKey ?? null) !== null || (job.headers ?? null) !== null) {
      (extras ??= []).push([i, job.dedupeKey, job.headers]);
    }
  }
  const buf = new ArrayBuffer(size);
  const dv = new DataView(buf);
  const u8 = new Uint8Array(buf);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const job = jobs[i]!;
    const at = job.executeAfter;
    dv.setUint16(pos, indexes[i]!, true);
    dv.setInt32(pos + 2, job.priority ?? 0, true);
    dv.setFloat64(pos + 6, at === undefined ? Number.NaN : at instanceof Date ? at.getTime() : at, true);
    const bytes = payloads[i]!;
    if (bytes === null) {
      dv.setUint32(pos + 14, NULL_LEN, true);
      pos += HEADER;
    } else {
      dv.setUint32(pos + 14, bytes.byteLength, true);
      u8.set(bytes, pos + HEADER);
      pos += HEADER + bytes.byteLength;
    }
  }
  return { buf, count: n, names, extras, onConflict };
}

/**
 * The worker side: the jobs of a packed batch, their payloads views into the one buffer (the
 * store copies them in; nothing else holds the buffer). Throws on a malformed buffer.
 */
export function unpackBatch(batch: PackedBatch): NewJob[] {
  const { buf, count, names } = batch;
  if (!(buf instanceof ArrayBuffer) || !Number.isInteger(count) || count < 0 || !Array.isArray(names)) {
    throw new RangeError('malformed batch');
  }
  const dv = new DataView(buf);
  const jobs = new Array<NewJob>(count);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    if (pos + HEADER > buf.byteLength) throw new RangeError('truncated batch');
    const name = names[dv.getUint16(pos, true)];
    if (name === undefined) throw new RangeError('batch names an unknown entrypoint index');
    const priority = dv.getInt32(pos + 2, true);
    const at = dv.getFloat64(pos + 6, true);
    const len = dv.getUint32(pos + 14, true);
    pos += HEADER;
    let payload: Uint8Array | null = null;
    if (len !== NULL_LEN) {
      if (pos + len > buf.byteLength) throw new RangeError('truncated batch payload');
      payload = new Uint8Array(buf, pos, len);
      pos += len;
    }
    const job: NewJob = { entrypoint: name, payload, priority };
    if (!Number.isNaN(at)) job.executeAfter = at;
    jobs[i] = job;
  }
  if (batch.extras !== null) {
    for (const [index, dedupeKey, headers] of batch.extras) {
      const job = jobs[index];
      if (job === undefined) throw new RangeError('batch extras name a job that is not there');
      if (dedupeKey !== undefined) job.dedupeKey = dedupeKey;
      if (headers !== undefined) job.headers = headers;
    }
  }
  return jobs;
}

/**
 * Ids as they cross back: a run of consecutive ids (the usual answer) as its first id and count,
 * anything else as the array. Cloning a 1,000-number array cost ~0.3 ms of CPU per batch here.
 */
export type WireIds = (number | null)[] | { first: number; count: number };

/** @internal */
export function idsToWire(ids: (number | null)[]): WireIds {
  const first = ids[0];
  if (ids.length < 2 || typeof first !== 'number') return ids;
  for (let i = 1; i < ids.length; i++) if (ids[i] !== first + i) return ids;
  return { first, count: ids.length };
}

/** @internal */
export function idsFromWire(wire: WireIds): (number | null)[] {
  if (Array.isArray(wire)) return wire;
  const out = new Array<number>(wire.count);
  for (let i = 0; i < wire.count; i++) out[i] = wire.first + i;
  return out;
}
