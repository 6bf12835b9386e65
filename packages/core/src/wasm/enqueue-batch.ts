/**
 * The core's enqueue request (OP.ENQUEUE in wasm-core/ABI.md) as a value that crosses threads.
 * The WASM store writes it into the core's input buffer; a page writes the same bytes into a
 * transferable buffer (`EnqueueBatchWriter`), its entrypoints as indexes into a names table, and
 * the worker hands them to the WASM store as they are (`enqueueEncoded`) or decodes them into
 * jobs for any other store (`decodeEnqueueBatch`). One writer for both: `writeCommonJob` and
 * `writeValidJob`.
 */
import { DuplicateJobError, InvalidArgumentError } from '../errors.js';
import { INT32_MAX, INT32_MIN, MAX_TIME_MS } from '../limits.js';
import type { NewJob, ValidJob } from '../types.js';
import {
  describeValue,
  type Limits,
  resolveLimits,
  validateEntrypoint,
  validateJobAt,
} from '../validation.js';
import { Decoder, Encoder, NULL_LEN } from './codec.js';

/**
 * An enqueue batch encoded once, in the core's own request layout: `u8 skip`, `u32 n`, then n ×
 * (`u32 entrypoint`, `i32 priority`, `f64 executeAfter` (NaN = now), opt payload, opt headers
 * (UTF-8 JSON), str dedupeKey (UTF-16LE)). Here each entrypoint field indexes `names`.
 */
export interface EncodedEnqueue {
  /** The request bytes (transfer `bytes.buffer`: nothing else shares it). */
  bytes: Uint8Array<ArrayBuffer>;
  /** The entrypoint names the jobs use, each once. */
  names: string[];
}

/** What the writer needs of a codec (`Codec` from the runtime fits). */
export interface PayloadEncoder {
  encode(value: unknown): unknown;
}

/** Bytes before the first job record: `u8 skip`, `u32 n`. */
export const ENQUEUE_HEAD = 5;
/** Fixed bytes of a job record before its payload: entrypoint, priority, executeAfter. */
export const JOB_HEAD = 16;

/** Writes the request head. */
export function writeEnqueueHead(e: Encoder, onConflict: 'raise' | 'skip', count: number): void {
  e.u8(onConflict === 'skip' ? 1 : 0);
  e.u32(count);
}

/**
 * Writes one job of the common shape (bytes or null payload within `maxPayloadBytes`, int32
 * priority, numeric or absent executeAfter, no dedupe key, no headers) without building a
 * ValidJob, accepting exactly what validateNewJobs accepts for such a job. Returns false, having
 * written nothing, for anything else: the caller then validates the job with the validators.
 */
export function writeCommonJob(
  e: Encoder,
  job: NewJob,
  ep: number,
  payload: unknown,
  maxPayloadBytes: number,
): boolean {
  if (
    (job.dedupeKey !== undefined && job.dedupeKey !== null) ||
    (job.headers !== undefined && job.headers !== null)
  ) {
    return false;
  }
  const { priority, executeAfter } = job;
  let p = 0;
  if (priority !== undefined) {
    if (
      typeof priority !== 'number' ||
      !Number.isInteger(priority) ||
      priority < INT32_MIN ||
      priority > INT32_MAX
    ) {
      return false;
    }
    p = priority;
  }
  let at = Number.NaN;
  if (executeAfter !== undefined && executeAfter !== null) {
    if (
      typeof executeAfter !== 'number' ||
      !Number.isFinite(executeAfter) ||
      Math.abs(executeAfter) > MAX_TIME_MS
    ) {
      return false;
    }
    at = Math.floor(executeAfter);
  }
  let n = -1;
  if (payload !== undefined && payload !== null) {
    if (!(payload instanceof Uint8Array) || payload.byteLength > maxPayloadBytes) return false;
    n = payload.byteLength;
  }
  // One bounds check per job; ep, priority, executeAfter, payload, headers, dedupe key.
  e.ensure(JOB_HEAD + 12 + Math.max(n, 0));
  const dv = e.dv;
  let pos = e.pos;
  dv.setUint32(pos, ep, true);
  dv.setInt32(pos + 4, p, true);
  dv.setFloat64(pos + 8, at, true);
  pos += JOB_HEAD;
  if (n < 0) {
    dv.setUint32(pos, NULL_LEN, true);
    pos += 4;
  } else {
    dv.setUint32(pos, n, true);
    if (n > 0) e.buf.set(payload as Uint8Array, pos + 4);
    pos += 4 + n;
  }
  dv.setUint32(pos, NULL_LEN, true);
  dv.setUint32(pos + 4, NULL_LEN, true);
  e.pos = pos + 8;
  return true;
}

/** Writes one job the validators accepted. */
export function writeValidJob(e: Encoder, job: ValidJob, ep: number): void {
  e.u32(ep);
  e.i32(job.priority);
  e.f64(job.executeAfter ?? Number.NaN);
  e.bytes(job.payload);
  e.json(job.headers);
  e.str(job.dedupeKey);
}

/**
 * Writes an enqueue batch where the jobs are made (a page), in slices if the caller wants to
 * yield between them; every job is validated as it is written (typed errors name `jobs[i]`),
 * against the store's limits when the caller knows them (default: DEFAULT_LIMITS). The store
 * checks its own limits again when the batch arrives. The batch size is not checked here.
 *
 * @example
 * const w = new EnqueueBatchWriter(jobs.length, 'raise');
 * w.write(jobs, 0, jobs.length);
 * const batch = w.finish(); // postMessage(batch, [batch.bytes.buffer])
 */
export class EnqueueBatchWriter {
  readonly #e: Encoder;
  readonly #limits: Limits;
  readonly #onConflict: 'raise' | 'skip';
  readonly #codec: ((entrypoint: string) => PayloadEncoder) | null;
  readonly #count: number;
  readonly #names: string[] = [];
  readonly #index = new Map<string, number>();
  #written = 0;
  #seen: Set<string> | null = null;
  #dup: Set<string> | null = null;
  #lastName: unknown;
  #lastEp = -1;
  #lastCodec: PayloadEncoder | null = null;

  /**
   * @param count how many jobs the batch holds (written into the head)
   * @param onConflict what the store does with a held dedupe key (written into the head)
   * @param options.codec the codec of an entrypoint, to turn a job's payload (missing = null) into bytes;
   *   default: the payload is bytes already
   * @param options.limits the store's size limits (default: DEFAULT_LIMITS)
   * @param options.capacity bytes to start with (grows as needed)
   * @param options.buffer a buffer to write into instead (reused: no allocation; a batch that
   *   outgrows it moves to a new one)
   */
  constructor(
    count: number,
    onConflict: 'raise' | 'skip',
    options: {
      codec?: (entrypoint: string) => PayloadEncoder;
      limits?: Partial<Limits>;
      capacity?: number;
      buffer?: ArrayBuffer;
    } = {},
  ) {
    this.#count = count;
    this.#onConflict = onConflict;
    this.#codec = options.codec ?? null;
    this.#limits = resolved(options.limits);
    const spare = options.buffer;
    const e = new Encoder();
    // A buffer from an earlier batch (sent back by the worker): no allocation, no zero-fill.
    e.buf =
      spare === undefined ? new Uint8Array(Math.max(64, options.capacity ?? 1 << 16)) : new Uint8Array(spare);
    e.dv = new DataView(e.buf.buffer);
    this.#e = e;
    writeEnqueueHead(e, onConflict, count);
  }

  /** Jobs written so far. */
  get written(): number {
    return this.#written;
  }

  /** Validates and writes `jobs[from..to)`; `from` must be the number written so far. */
  write(jobs: readonly NewJob[], from: number, to: number): void {
    if (from !== this.#written || to > this.#count) throw new RangeError('EnqueueBatchWriter: out of order');
    const e = this.#e;
    const maxPayload = this.#limits.maxPayloadBytes;
    const codecOf = this.#codec;
    // Locals in the loop, fields after it: this runs per job.
    let lastName = this.#lastName;
    let ep = this.#lastEp;
    let codec = this.#lastCodec;
    try {
      for (let i = from; i < to; i++) {
        const job = jobs[i] as NewJob;
        if (job === null || typeof job !== 'object') {
          throw new InvalidArgumentError(`jobs[${i}] must be an object, got ${describeValue(job)}`);
        }
        const name = job.entrypoint;
        if (name !== lastName || ep < 0) {
          ep = this.#ep(validateEntrypoint(name, `jobs[${i}].entrypoint`));
          codec = codecOf === null ? null : codecOf(name as string);
          lastName = name;
        }
        const payload =
          codec === null ? job.payload : codec.encode((job as { payload?: unknown }).payload ?? null);
        if (!writeCommonJob(e, job, ep, payload, maxPayload)) this.#writeOther(job, payload, i, ep);
      }
      this.#written = to;
    } finally {
      this.#lastName = lastName;
      this.#lastEp = ep;
      this.#lastCodec = codec;
    }
  }

  /** A job beyond the common shape: the validators, then the general record. */
  #writeOther(job: NewJob, payload: unknown, i: number, ep: number): void {
    const valid = validateJobAt(job, payload, i, this.#limits);
    if (valid.dedupeKey !== null && this.#onConflict === 'raise') {
      this.#seen ??= new Set();
      if (this.#seen.has(valid.dedupeKey)) (this.#dup ??= new Set()).add(valid.dedupeKey);
      this.#seen.add(valid.dedupeKey);
    }
    writeValidJob(this.#e, valid, ep);
  }

  /** The batch; a 'raise' batch that repeats a dedupe key throws DUPLICATE_JOB (as the stores do). */
  finish(): EncodedEnqueue {
    if (this.#written !== this.#count) throw new RangeError('EnqueueBatchWriter: batch not complete');
    if (this.#dup !== null) throw new DuplicateJobError([...this.#dup]);
    const e = this.#e;
    return { bytes: new Uint8Array(e.buf.buffer as ArrayBuffer, 0, e.pos), names: this.#names };
  }

  #ep(name: string): number {
    let ep = this.#index.get(name);
    if (ep === undefined) {
      ep = this.#names.length;
      this.#names.push(name);
      this.#index.set(name, ep);
    }
    return ep;
  }
}

/** Limits resolved once per object a caller passes (a page passes the same one per batch). */
const resolvedLimits = new WeakMap<object, Limits>();
function resolved(limits: Partial<Limits> | undefined): Limits {
  if (limits === undefined) return resolveLimits();
  let out = resolvedLimits.get(limits);
  if (out === undefined) resolvedLimits.set(limits, (out = resolveLimits(limits)));
  return out;
}

/**
 * Encodes a whole batch in one go (see EnqueueBatchWriter).
 *
 * @example
 * const batch = encodeEnqueueBatch([{ entrypoint: 'email', payload: bytes }]);
 * worker.postMessage(batch, [batch.bytes.buffer]);
 */
export function encodeEnqueueBatch(
  jobs: readonly NewJob[],
  options: {
    onConflict?: 'raise' | 'skip';
    codec?: (entrypoint: string) => PayloadEncoder;
    limits?: Partial<Limits>;
  } = {},
): EncodedEnqueue {
  if (!Array.isArray(jobs)) throw new InvalidArgumentError('enqueue takes an array of jobs');
  const w = new EnqueueBatchWriter(jobs.length, options.onConflict ?? 'raise', options);
  w.write(jobs, 0, jobs.length);
  return w.finish();
}

function malformed(what: string): InvalidArgumentError {
  return new InvalidArgumentError(`malformed enqueue batch: ${what} (encode it with encodeEnqueueBatch)`);
}

/**
 * The jobs of an encoded batch, for stores that take jobs (payloads are views into the batch's
 * buffer; the store copies what it keeps). Throws INVALID_ARGUMENT on a malformed batch; the
 * jobs themselves are validated by the store's enqueue.
 */
export function decodeEnqueueBatch(batch: EncodedEnqueue): { jobs: NewJob[]; onConflict: 'raise' | 'skip' } {
  const bytes = (batch as { bytes?: unknown } | null)?.bytes;
  const names = (batch as { names?: unknown } | null)?.names;
  if (!(bytes instanceof Uint8Array) || !Array.isArray(names)) {
    throw malformed(`expected { bytes: Uint8Array, names: string[] }, got ${describeValue(batch)}`);
  }
  const end = bytes.byteLength;
  if (end < ENQUEUE_HEAD) throw malformed('shorter than its head');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, end);
  const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, end);
  const skip = u8[0];
  if (skip !== 0 && skip !== 1) throw malformed(`onConflict byte ${skip}`);
  const n = dv.getUint32(1, true);
  // Each record takes at least 28 bytes: a count beyond that is a lie, not a big allocation.
  if (n > (end - ENQUEUE_HEAD) / (JOB_HEAD + 12)) throw malformed(`${n} jobs do not fit in ${end} bytes`);
  const d = new Decoder(u8, dv, ENQUEUE_HEAD, end, true);
  const field = (what: string): number => {
    if (d.pos + 4 > end) throw malformed(`truncated ${what}`);
    const len = dv.getUint32(d.pos, true);
    if (len !== NULL_LEN && d.pos + 4 + len > end) throw malformed(`truncated ${what}`);
    return len;
  };
  const jobs = new Array<NewJob>(n);
  for (let i = 0; i < n; i++) {
    if (d.pos + JOB_HEAD > end) throw malformed(`truncated job ${i}`);
    const entrypoint = names[d.u32()];
    if (typeof entrypoint !== 'string') throw malformed(`job ${i} names no entrypoint of the table`);
    const priority = d.i32();
    const at = d.f64();
    field('payload');
    const payload = d.bytes();
    const job: NewJob = { entrypoint, payload, priority };
    if (!Number.isNaN(at)) job.executeAfter = at;
    if (field('headers') !== NULL_LEN) {
      try {
        job.headers = d.json();
      } catch {
        throw malformed(`job ${i}'s headers are not JSON`);
      }
    } else d.pos += 4;
    if (field('dedupeKey') !== NULL_LEN) job.dedupeKey = d.str();
    else d.pos += 4;
    jobs[i] = job;
  }
  if (d.pos !== end) throw malformed(`${end - d.pos} bytes after the last job`);
  return { jobs, onConflict: skip === 1 ? 'skip' : 'raise' };
}
