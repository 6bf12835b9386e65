/**
 * The byte codec of the core ABI (wasm-core/ABI.md): little-endian numbers, ids and times as
 * f64, strings other than entrypoint names as UTF-16LE code units (so lone surrogates survive
 * and ordering matches JS `<`), headers as UTF-8 JSON. @internal
 */
import type { Job, JobEvent, JsonObject } from '../types.js';

import { JOB, KIND, LOG_ROW, NULL_LEN, STATUS } from './abi.generated.js';

// The numbers come from wasm-core/abi.json (generated; see wasm-core/scripts/gen-abi.mjs).
export { ABI_VERSION, JOB, KIND, LOG_ROW, NO_STATUS, NULL_LEN, OP, RC, STATUS } from './abi.generated.js';
/** A Map, not an object: status strings come from callers (`'constructor'` must not resolve). */
export const STATUS_CODE: ReadonlyMap<string, number> = new Map(STATUS.map((s, i) => [s, i]));

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/**
 * A growable request buffer. Attached to a core (`target`), it is a view of the core's input
 * buffer in WASM memory, so a request is written in place and the call copies nothing; a view
 * left empty by a memory growth (detached buffer) is renewed by the next `ensure`.
 */
export class Encoder {
  // Initialised here (not in a constructor) as before the encoded batch: the store's hot path
  // keeps the field types V8 first saw. Users that want a size set `buf`/`dv` themselves.
  buf: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  dv: DataView<ArrayBufferLike> = new DataView(this.buf.buffer);
  pos = 0;
  /**
   * Returns a view of the core's input buffer of `size` bytes (at least `min` if `size` cannot
   * be had), its first `pos` bytes kept.
   */
  target: ((size: number, min: number) => Uint8Array) | null = null;

  reset(): this {
    this.pos = 0;
    return this;
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 1 << 16);
    while (size < this.pos + n) size *= 2;
    if (this.target !== null) {
      const view = this.target(size, this.pos + n);
      this.buf = view;
      this.dv = new DataView(view.buffer, view.byteOffset, view.length);
      return;
    }
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u8(x: number): void {
    this.ensure(1);
    this.buf[this.pos++] = x;
  }
  u32(x: number): void {
    this.ensure(4);
    this.dv.setUint32(this.pos, x, true);
    this.pos += 4;
  }
  i32(x: number): void {
    this.ensure(4);
    this.dv.setInt32(this.pos, x, true);
    this.pos += 4;
  }
  f64(x: number): void {
    this.ensure(8);
    this.dv.setFloat64(this.pos, x, true);
    this.pos += 8;
  }
  bytes(b: Uint8Array | null): void {
    if (b === null) {
      this.u32(NULL_LEN);
      return;
    }
    this.ensure(4 + b.length);
    this.dv.setUint32(this.pos, b.length, true);
    this.buf.set(b, this.pos + 4);
    this.pos += 4 + b.length;
  }
  ascii(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }
  /** A UTF-16LE string, length-prefixed; null as the null length. */
  str(s: string | null): void {
    if (s === null) {
      this.u32(NULL_LEN);
      return;
    }
    const n = s.length;
    this.ensure(4 + 2 * n);
    this.dv.setUint32(this.pos, 2 * n, true);
    let p = this.pos + 4;
    const buf = this.buf;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      buf[p++] = c & 255;
      buf[p++] = c >>> 8;
    }
    this.pos = p;
  }
  /** Raw UTF-16LE (no length), for interning manager ids. */
  raw16(s: string): void {
    this.ensure(2 * s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.buf[this.pos++] = c & 255;
      this.buf[this.pos++] = c >>> 8;
    }
  }
  json(value: JsonObject | null): void {
    if (value === null) {
      this.u32(NULL_LEN);
      return;
    }
    const text = JSON.stringify(value);
    this.ensure(4 + 3 * text.length);
    const { written } = utf8.encodeInto(text, this.buf.subarray(this.pos + 4));
    this.dv.setUint32(this.pos, written, true);
    this.pos += 4 + written;
  }
}

/** Reads a result buffer in place (a view of WASM memory, valid until the next core call). */
export class Decoder {
  pos: number;
  /**
   * Reads `u8[start..end)`. Without `copied` the views cover WASM memory (cached by the
   * adapter: creating views per call was 8% of a B=1 round trip) and are valid until the next
   * core call; with `copied` they cover a private copy, so byte strings can be views of it.
   */
  constructor(
    readonly u8: Uint8Array,
    readonly dv: DataView,
    start: number,
    readonly end: number,
    readonly copied = false,
  ) {
    this.pos = start;
  }
  /** The unread bytes (a view). */
  rest(): Uint8Array {
    return this.u8.subarray(this.pos, this.end);
  }
  u8v(): number {
    return this.u8[this.pos++]!;
  }
  u32(): number {
    const x = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return x;
  }
  i32(): number {
    const x = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return x;
  }
  f64(): number {
    const x = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return x;
  }
  /** f64 with NaN meaning null. */
  optF64(): number | null {
    const x = this.f64();
    return Number.isNaN(x) ? null : x;
  }
  /** A copy of a length-prefixed byte string (the caller keeps it). */
  bytes(): Uint8Array | null {
    const n = this.u32();
    if (n === NULL_LEN) return null;
    // A view by constructor: cheaper than subarray (no species lookup).
    const u8 = this.u8;
    const b = this.copied
      ? new Uint8Array(u8.buffer, u8.byteOffset + this.pos, n)
      : u8.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  str(): string | null {
    const n = this.u32();
    if (n === NULL_LEN) return null;
    const s = decode16(this.u8, this.pos, n);
    this.pos += n;
    return s;
  }
  ascii(): string {
    const n = this.u32();
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.u8[this.pos + i]!);
    this.pos += n;
    return s;
  }
  json(): JsonObject | null {
    const n = this.u32();
    if (n === NULL_LEN) return null;
    const text = utf8d.decode(this.u8.subarray(this.pos, this.pos + n));
    this.pos += n;
    return JSON.parse(text) as JsonObject;
  }
}

export function decode16(u8: Uint8Array, start: number, byteLength: number): string {
  const units = byteLength >>> 1;
  if (units <= 64) {
    let s = '';
    for (let i = 0, p = start; i < units; i++, p += 2) s += String.fromCharCode(u8[p]! | (u8[p + 1]! << 8));
    return s;
  }
  const codes = new Array<number>(units);
  for (let i = 0, p = start; i < units; i++, p += 2) codes[i] = u8[p]! | (u8[p + 1]! << 8);
  let s = '';
  for (let i = 0; i < units; i += 4096) s += String.fromCharCode(...codes.slice(i, i + 4096));
  return s;
}

/** Decode one job record (layout: JOB, from wasm-core/abi.json). */
export function readJob(d: Decoder, epNames: readonly string[], mgrNames: readonly string[]): Job {
  const { dv } = d;
  const at = d.pos;
  const id = dv.getFloat64(at + JOB.ID, true);
  const ep = dv.getUint32(at + JOB.ENTRYPOINT, true);
  const priority = dv.getInt32(at + JOB.PRIORITY, true);
  const executeAfter = dv.getFloat64(at + JOB.EXECUTE_AFTER, true);
  const attempts = dv.getUint32(at + JOB.ATTEMPTS, true);
  const heartbeat = dv.getFloat64(at + JOB.HEARTBEAT, true);
  const created = dv.getFloat64(at + JOB.CREATED, true);
  const updated = dv.getFloat64(at + JOB.UPDATED, true);
  const status = STATUS[d.u8[at + JOB.STATUS]!]!;
  const mgr = dv.getUint32(at + JOB.MANAGER, true);
  d.pos = at + JOB.SIZE;
  const payload = d.bytes();
  const headers = d.json();
  const dedupeKey = d.str();
  const lastError = d.str();
  return {
    id,
    entrypoint: epNames[ep]!,
    payload,
    priority,
    executeAfter,
    dedupeKey,
    headers,
    status,
    attempts,
    heartbeat,
    created,
    updated,
    queueManagerId: mgr === 0 ? null : mgrNames[mgr - 1]!,
    lastError,
  };
}

/**
 * Decode `n` job records of a result the adapter copied (`d.copied`): readJob with the
 * position in a local and the common nulls tested inline (the dequeue hot path); payloads are
 * views of the copy.
 */
export function readJobs(
  d: Decoder,
  n: number,
  epNames: readonly string[],
  mgrNames: readonly string[],
): Job[] {
  const out = new Array<Job>(n);
  if (!d.copied) {
    for (let i = 0; i < n; i++) out[i] = readJob(d, epNames, mgrNames);
    return out;
  }
  const { u8, dv } = d;
  const buffer = u8.buffer;
  const base = u8.byteOffset;
  let pos = d.pos;
  for (let i = 0; i < n; i++) {
    const id = dv.getFloat64(pos + JOB.ID, true);
    const ep = dv.getUint32(pos + JOB.ENTRYPOINT, true);
    const priority = dv.getInt32(pos + JOB.PRIORITY, true);
    const executeAfter = dv.getFloat64(pos + JOB.EXECUTE_AFTER, true);
    const attempts = dv.getUint32(pos + JOB.ATTEMPTS, true);
    const heartbeat = dv.getFloat64(pos + JOB.HEARTBEAT, true);
    const created = dv.getFloat64(pos + JOB.CREATED, true);
    const updated = dv.getFloat64(pos + JOB.UPDATED, true);
    const status = STATUS[u8[pos + JOB.STATUS]!]!;
    const mgr = dv.getUint32(pos + JOB.MANAGER, true);
    pos += JOB.SIZE;
    let len = dv.getUint32(pos, true);
    pos += 4;
    let payload: Uint8Array | null = null;
    if (len !== NULL_LEN) {
      payload = new Uint8Array(buffer, base + pos, len);
      pos += len;
    }
    let headers: JsonObject | null = null;
    len = dv.getUint32(pos, true);
    if (len === NULL_LEN) pos += 4;
    else {
      d.pos = pos;
      headers = d.json();
      pos = d.pos;
    }
    let dedupeKey: string | null = null;
    len = dv.getUint32(pos, true);
    if (len === NULL_LEN) pos += 4;
    else {
      d.pos = pos;
      dedupeKey = d.str();
      pos = d.pos;
    }
    let lastError: string | null = null;
    len = dv.getUint32(pos, true);
    if (len === NULL_LEN) pos += 4;
    else {
      d.pos = pos;
      lastError = d.str();
      pos = d.pos;
    }
    out[i] = {
      id,
      entrypoint: epNames[ep]!,
      payload,
      priority,
      executeAfter,
      dedupeKey,
      headers,
      status,
      attempts,
      heartbeat,
      created,
      updated,
      queueManagerId: mgr === 0 ? null : mgrNames[mgr - 1]!,
      lastError,
    };
  }
  d.pos = pos;
  return out;
}

/** Decode one log row (layout: LOG_ROW, from wasm-core/abi.json). */
export function readEvent(d: Decoder, epNames: readonly string[], mgrNames: readonly string[]): JobEvent {
  const { dv, u8 } = d;
  const p = d.pos;
  const seq = dv.getFloat64(p + LOG_ROW.SEQ, true);
  const kind = KIND[u8[p + LOG_ROW.KIND]!]!;
  const status = STATUS[u8[p + LOG_ROW.STATUS]!]!;
  const jobId = dv.getFloat64(p + LOG_ROW.JOB_ID, true);
  const ep = dv.getUint32(p + LOG_ROW.ENTRYPOINT, true);
  const priority = dv.getInt32(p + LOG_ROW.PRIORITY, true);
  const at = dv.getFloat64(p + LOG_ROW.AT, true);
  const mgr = dv.getUint32(p + LOG_ROW.MANAGER, true);
  d.pos = p + LOG_ROW.SIZE;
  const error = d.str();
  return Object.freeze({
    seq,
    kind,
    jobId,
    entrypoint: epNames[ep]!,
    priority,
    status,
    at,
    queueManagerId: mgr === 0 ? null : mgrNames[mgr - 1]!,
    error,
  });
}
