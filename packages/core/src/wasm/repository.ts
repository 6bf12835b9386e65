/**
 * The WASM adapter: a QueueRepository whose whole state lives in the Rust core (wasm-core/).
 * Each port call validates in TypeScript with the shared validators (same order as the reference
 * adapter, so errors match), encodes the batch once, makes ONE core call and decodes the result
 * buffer. No per-job JS object is kept: entrypoint names and manager ids are interned to small
 * integers on both sides.
 */
import { CallEnvelope, type Gate, type PortMethod } from '../adapter/envelope.js';
import type { Clock } from '../clock.js';
import {
  CoreTrappedError,
  DuplicateJobError,
  InvalidArgumentError,
  NotInstalledError,
  PayloadTooLargeError,
  QueueFullError,
} from '../errors.js';
import { MAX_ERROR_TEXT_LENGTH, MAX_TIME_MS } from '../limits.js';
import type {
  ClaimOptions,
  CompletionResult,
  DequeueOptions,
  EnqueueOptions,
  EventListener,
  FenceOptions,
  QueueRepository,
  Retention,
  RetryRequest,
  ScheduleRun,
  SubscribeOptions,
  Unsubscribe,
} from '../port.js';
import type {
  Job,
  JobEvent,
  JobStatus,
  NewJob,
  QueueSizeRow,
  RepositoryMetrics,
  ScanReport,
  Schedule,
  ScheduleInput,
  StatisticsRow,
  VerifyReport,
} from '../types.js';
import {
  describeValue,
  filterEventKinds,
  type Limits,
  resolveLimits,
  validateClaimOptions,
  validateCompactOptions,
  validateCompletionResults,
  validateCount,
  validateDequeueOptions,
  validateEnqueueOptions,
  validateEntrypoint,
  validateEntrypoints,
  validateFenceOptions,
  validateIds,
  validateListener,
  validateNewJobs,
  validatePage,
  validateRecoverOptions,
  validateRetryRequests,
  validateScanOptions,
  validateScheduleInputs,
  validateScheduleNames,
  validateScheduleRuns,
  validateStatisticsOptions,
  validateSubscribeOptions,
} from '../validation.js';
import {
  Decoder,
  decode16,
  Encoder,
  NULL_LEN,
  OP,
  RC,
  readEvent,
  readJob,
  readJobs,
  STATUS,
  STATUS_CODE,
} from './codec.js';
import {
  decodeEnqueueBatch,
  ENQUEUE_HEAD,
  type EncodedEnqueue,
  JOB_HEAD,
  writeCommonJob,
  writeEnqueueHead,
  writeValidJob,
} from './enqueue-batch.js';
import { type CoreExports, instantiateCore, type WasmSource } from './loader.js';

/** The schema version memory stores report. */
export const WASM_SCHEMA_VERSION = 1;

/** Options of `createMemoryQueue`: clock, limits, the WASM module, the memory budget. */
export interface MemoryQueueOptions {
  /** Where time comes from (default: the wall clock). Must not run backwards. */
  clock?: Clock;
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<Limits>;
  /** The core module (default: the bundled tideq_core.wasm). */
  wasm?: WasmSource;
  /**
   * Most heap bytes the core may hold (default {@link defaultMemoryBudget}: 1 GiB in Node, Deno
   * and Bun, 64 MiB in an edge isolate, 256 MiB elsewhere, e.g. a browser tab; 0 = none, up to
   * the 4 GiB wasm32 address space).
   * An enqueue that would pass it rejects with QUEUE_FULL and stores nothing; what is stored stays
   * readable (drain it, or `snapshot()` it). Checked before the core grows, so it never traps.
   */
  memoryBudget?: number;
}

const MIB = 1024 * 1024;

/**
 * The default memory budget: 64 MiB in an edge isolate (Cloudflare Workers and Vercel Edge allow
 * 128 MB per isolate, everything included), 1 GiB where a server runtime runs (Node, Deno, Bun),
 * 256 MiB anywhere else (a browser tab or worker). All far below the 4 GiB a wasm32 core can
 * address, so the core refuses a batch long before it could trap.
 *
 * @param env the global object to look at (default `globalThis`)
 */
export function defaultMemoryBudget(env: object = globalThis): number {
  const g = env as {
    process?: { versions?: { node?: string } };
    Deno?: unknown;
    EdgeRuntime?: unknown;
    navigator?: { userAgent?: string };
  };
  // Before the server check: workerd with nodejs_compat has a `process` too.
  if (g.navigator?.userAgent === 'Cloudflare-Workers' || typeof g.EdgeRuntime === 'string') return 64 * MIB;
  return g.process?.versions?.node !== undefined || g.Deno !== undefined ? 1024 * MIB : 256 * MIB;
}

/** The WASM repository: the port plus whole-state snapshot/restore. */
export interface WasmQueueRepository extends QueueRepository {
  /** The whole state as bytes (versioned, checksummed); restore() takes them back. */
  snapshot(): Promise<Uint8Array>;
  /** Replace the whole state; corrupt, truncated or foreign bytes reject with INVALID_ARGUMENT. */
  restore(bytes: Uint8Array): Promise<void>;
  /** Bytes of WASM linear memory in use (grows, never shrinks). */
  memoryBytes(): number;
  /** Heap bytes the core holds now: what `memoryBudget` bounds (shrinks as jobs leave). */
  heapBytes(): number;
  /**
   * `enqueue` for a batch already encoded in the core's request layout (`encodeEnqueueBatch` from
   * `@tideq/core/adapter`, e.g. on a page, its buffer transferred to this store's worker): the
   * bytes go into the core as they are, no job object made. Same result, errors, events and
   * metrics as `enqueue` of the same jobs.
   */
  enqueueEncoded(batch: EncodedEnqueue): Promise<(number | null)[]>;
  /** The limits this store enforces (so a batch can be checked where it is encoded). */
  readonly limits: Readonly<Limits>;
}

const HELD_STATUS_ORDER: Record<string, number> = { queued: 0, picked: 1, failed: 2 };
const U32_MAX = 0xffffffff;

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class WasmRepository implements WasmQueueRepository {
  readonly #limits: Limits;
  #core: CoreExports;
  readonly #enc = new Encoder();
  /** Bytes of the core's input buffer reserved so far. */
  #inCap = 0;
  #memBuffer: ArrayBufferLike | undefined;
  #memU8 = new Uint8Array(0);
  #memDv = new DataView(new ArrayBuffer(0));
  #installed = true;
  #trapped: unknown = undefined;
  readonly #env: CallEnvelope;
  /** Entrypoint handle -> name, and back. */
  #epNames: string[] = [];
  #epIds = new Map<string, number>();
  /** Manager handle - 1 -> id, and back (handle). */
  #mgrNames: string[] = [];
  #mgrIds = new Map<string, number>();
  /** Highest log seq handed to subscribers. */
  #seenSeq = 0;

  constructor(core: CoreExports, options: MemoryQueueOptions = {}) {
    this.#core = core;
    // Requests are encoded straight into the core's input buffer (no copy per call).
    this.#enc.target = (size, min) => this.#input(size, min);
    this.#limits = resolveLimits(options.limits);
    const budget = validateCount(options.memoryBudget ?? defaultMemoryBudget(), 'memoryBudget');
    if (budget > 4096 * MIB) {
      throw new InvalidArgumentError(
        `memoryBudget must be at most 4 GiB (the wasm32 address space), got ${budget}`,
      );
    }
    core.tq_set_budget(budget);
    this.#env = new CallEnvelope({
      store: 'the WASM queue',
      clock: options.clock,
      installed: () => this.#installed,
      // After a trap every call fails loudly; close() still releases the repository.
      guard: (method) => {
        if (this.#trapped !== undefined && method !== 'close') throw this.#trappedError();
      },
    });
  }

  get limits(): Readonly<Limits> {
    return this.#limits;
  }

  // ---- the core call --------------------------------------------------------------------------

  #trappedError(): CoreTrappedError {
    return new CoreTrappedError(
      'the WASM core trapped earlier; its state is lost. Create a new queue (restore a snapshot if you have one)',
      { cause: this.#trapped },
    );
  }

  /** Views over WASM memory, renewed only when memory has grown (a new buffer). */
  #memory(): Uint8Array {
    const buffer = this.#core.memory.buffer;
    if (this.#memBuffer !== buffer) {
      this.#memBuffer = buffer;
      this.#memU8 = new Uint8Array(buffer);
      this.#memDv = new DataView(buffer);
    }
    return this.#memU8;
  }

  /**
   * The encoder's target: a view of the core's input buffer of at least `size` bytes (its
   * content kept), over the current memory buffer.
   */
  #input(size: number, min: number): Uint8Array {
    if (this.#trapped !== undefined) throw this.#trappedError();
    let want = Math.max(size, this.#inCap);
    let ptr: number;
    try {
      ptr = this.#core.tq_in_reserve(want);
      if (ptr === 0 && want > size) ptr = this.#core.tq_in_reserve((want = size));
      if (ptr === 0 && size > min) ptr = this.#core.tq_in_reserve((want = min));
    } catch (error) {
      this.#trapped = error ?? new Error('trap');
      throw this.#trappedError();
    }
    if (ptr === 0) {
      throw new InvalidArgumentError(`a request of ${min} bytes does not fit in the WASM core's memory`);
    }
    this.#inCap = want;
    return new Uint8Array(this.#core.memory.buffer, ptr, want);
  }

  /** Send the encoder's bytes, run `op`, return a decoder over the result (or throw its error). */
  #call(op: number, now: number, copy = false): Decoder {
    if (this.#trapped !== undefined) throw this.#trappedError();
    const core = this.#core;
    const enc = this.#enc;
    const len = enc.pos;
    let rc: number;
    try {
      // The request is already in the input buffer unless the encoder's view went stale.
      if (len > 0 && enc.buf.buffer !== core.memory.buffer) {
        if (enc.buf.length < len) throw new Error('internal: the request buffer went stale');
        const ptr = core.tq_in_reserve(len);
        if (ptr === 0) {
          throw new InvalidArgumentError(`a request of ${len} bytes does not fit in the WASM core's memory`);
        }
        this.#memory().set(enc.buf.subarray(0, len), ptr);
      }
      rc = core.tq_call(op, len, now);
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw error;
      // A trap (or OOM abort) leaves the instance unusable: fail every later call loudly.
      this.#trapped = error ?? new Error('trap');
      throw this.#trappedError();
    }
    const ptr = core.tq_out_ptr();
    const outLen = core.tq_out_len();
    const mem = this.#memory();
    if (rc === RC.OK && copy) {
      // One allocation per batch instead of one per payload (small ArrayBuffers are costly).
      const c = mem.slice(ptr, ptr + outLen);
      return new Decoder(c, new DataView(c.buffer), 0, outLen, true);
    }
    const d = new Decoder(mem, this.#memDv, ptr, ptr + outLen);
    if (rc === RC.OK) return d;
    const text = () => new TextDecoder().decode(d.rest());
    switch (rc) {
      case RC.DUPLICATE: {
        const n = d.u32();
        const keys: string[] = [];
        for (let i = 0; i < n; i++) keys.push(d.str()!);
        throw new DuplicateJobError(keys);
      }
      case RC.NOT_INSTALLED:
        throw new NotInstalledError('the WASM queue is not installed; call install() first');
      case RC.BAD_SNAPSHOT:
        throw new InvalidArgumentError(`restore: ${text()}`);
      case RC.TOO_LARGE: {
        // The same codes enqueue gives for such values: bytes too large, a key too long.
        const limit = ['maxPayloadBytes', 'maxHeadersBytes', 'maxDedupeKeyLength'][d.u8v()] ?? 'limits';
        const message = `${text()}; nothing was replaced (create this queue with a larger ${limit} to restore it)`;
        if (limit === 'maxDedupeKeyLength') throw new InvalidArgumentError(message, { limit });
        throw new PayloadTooLargeError(message, { limit });
      }
      case RC.FULL: {
        const used = d.f64();
        const needed = d.f64();
        const budget = d.f64();
        throw new QueueFullError(
          `the WASM queue is full: it holds ${mib(used)} of its ${mib(budget)} memoryBudget and the batch needs about ${mib(needed)} more; ` +
            'nothing was stored. Let workers drain it, compact the log, or create the queue with a larger memoryBudget',
          { details: { usedBytes: used, neededBytes: needed, budgetBytes: budget } },
        );
      }
      default:
        throw new InvalidArgumentError(`the WASM core rejected the request: ${text()}`);
    }
  }

  #ep(name: string): number {
    let id = this.#epIds.get(name);
    if (id === undefined) {
      this.#enc.reset().ascii(name);
      id = this.#call(OP.INTERN_EP, 0).u32();
      this.#epIds.set(name, id);
      this.#epNames[id] = name;
    }
    return id;
  }

  #mgr(name: string): number {
    let id = this.#mgrIds.get(name);
    if (id === undefined) {
      this.#enc.reset().raw16(name);
      id = this.#call(OP.INTERN_MGR, 0).u32();
      this.#mgrIds.set(name, id);
      this.#mgrNames[id - 1] = name;
    }
    return id;
  }

  /**
   * The fence prefix of complete/retry/heartbeat: 0 unfenced, else the manager's handle; -1 for
   * a manager the core has never seen (it holds nothing, so every position is false).
   */
  #fence(options: FenceOptions | undefined): number {
    const id = validateFenceOptions(options);
    if (id === null) return 0;
    return this.#mgrIds.get(id) ?? -1;
  }

  /** Re-read the intern tables and the log position after restore/uninstall/install. */
  #resync(): void {
    this.#epNames = [];
    this.#epIds.clear();
    this.#mgrNames = [];
    this.#mgrIds.clear();
    this.#enc.reset();
    const info = this.#call(OP.INFO, 0);
    this.#installed = info.u8v() === 1;
    info.u32();
    this.#seenSeq = info.f64();
    if (!this.#installed) return;
    this.#enc.reset();
    const d = this.#call(OP.LIST_INTERNS, 0);
    const ne = d.u32();
    for (let i = 0; i < ne; i++) {
      const name = d.ascii();
      this.#epNames.push(name);
      this.#epIds.set(name, i);
    }
    const nm = d.u32();
    for (let i = 0; i < nm; i++) {
      const n = d.u32();
      const name = decode16(d.u8, d.pos, n);
      d.pos += n;
      this.#mgrNames.push(name);
      this.#mgrIds.set(name, i + 1);
    }
  }

  // ---- the one wrapper (@tideq/core/adapter): gate, clock, timing, metrics, event commit ------

  /** `emits`: the call may commit log rows; they are read back from the core only when someone listens. */
  #op<T>(name: PortMethod, body: (now: number) => T, gate: Gate = 'installed', emits = false): Promise<T> {
    return this.#env.call(
      name,
      (tx) => {
        const result = body(tx.now);
        if (emits && this.#env.events.size > 0) tx.events = this.#newEvents();
        return result;
      },
      gate,
    );
  }

  // ---- producing ------------------------------------------------------------------------------

  enqueue(jobs: readonly NewJob[], options?: EnqueueOptions): Promise<(number | null)[]> {
    return this.#op(
      'enqueue',
      (now) => this.#enqueueJobs(jobs, validateEnqueueOptions(options).onConflict, now),
      'installed',
      true,
    );
  }

  /**
   * Enqueue a batch encoded elsewhere (a page: `encodeEnqueueBatch`) as the core's own request:
   * the bytes are copied into the core's input buffer once and checked there record by record
   * (this store's limits; entrypoint indexes turned into the core's handles), with no job object
   * made. The same call as `enqueue` for metrics and events; anything but the common shape
   * (dedupe keys, headers, a value beyond a limit) is decoded and takes `enqueue`'s validating
   * path, so errors are the same too.
   */
  enqueueEncoded(batch: EncodedEnqueue): Promise<(number | null)[]> {
    return this.#op(
      'enqueue',
      (now) => {
        const n = this.#adoptEncoded(batch);
        if (n >= 0) return this.#enqueueResult(this.#call(OP.ENQUEUE, now), n);
        const { jobs, onConflict } = decodeEnqueueBatch(batch);
        return this.#enqueueJobs(jobs, onConflict, now);
      },
      'installed',
      true,
    );
  }

  #enqueueJobs(jobs: readonly NewJob[], onConflict: 'raise' | 'skip', now: number): (number | null)[] {
    const fast = this.#encodeCommonJobs(jobs, onConflict);
    if (fast >= 0) return this.#enqueueResult(this.#call(OP.ENQUEUE, now), fast);
    const valid = validateNewJobs(jobs, this.#limits, onConflict);
    if (valid.length === 0) return [];
    const eps = valid.map((j) => this.#ep(j.entrypoint));
    const e = this.#enc.reset();
    writeEnqueueHead(e, onConflict, valid.length);
    for (let i = 0; i < valid.length; i++) writeValidJob(e, valid[i]!, eps[i]!);
    return this.#enqueueResult(this.#call(OP.ENQUEUE, now), valid.length);
  }

  #enqueueResult(d: Decoder, n: number): (number | null)[] {
    let id = d.f64();
    const out = new Array<number | null>(n);
    for (let i = 0; i < n; i++) out[i] = d.u8v() === 1 ? id++ : null;
    return out;
  }

  /**
   * The hot path: encode a batch whose jobs all have the common shape (known entrypoint; see
   * writeCommonJob) without building ValidJob objects. Returns -1 (nothing decided) for anything
   * else, which then takes the validating path.
   */
  #encodeCommonJobs(jobs: unknown, onConflict: 'raise' | 'skip'): number {
    if (!Array.isArray(jobs) || jobs.length === 0 || jobs.length > this.#limits.maxBatch) return -1;
    const maxPayload = this.#limits.maxPayloadBytes;
    const epIds = this.#epIds;
    const e = this.#enc.reset();
    writeEnqueueHead(e, onConflict, jobs.length);
    // Batches mostly share one entrypoint: skip the map lookup when the name repeats.
    let lastName: unknown;
    let ep: number | undefined;
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as NewJob | null;
      if (job === null || typeof job !== 'object') return -1;
      const name = job.entrypoint;
      if (name !== lastName || i === 0) {
        ep = epIds.get(name);
        if (ep === undefined) return -1;
        lastName = name;
      }
      if (!writeCommonJob(e, job, ep as number, job.payload, maxPayload)) return -1;
    }
    return jobs.length;
  }

  /**
   * Puts an encoded batch into the core's input buffer and checks it where it lies: every record
   * in bounds, of the common shape and within this store's limits, its entrypoint index turned
   * into the core's handle. Returns the job count, or -1 for anything else (nothing decided).
   */
  #adoptEncoded(batch: EncodedEnqueue): number {
    const bytes = (batch as { bytes?: unknown } | null)?.bytes;
    const names = (batch as { names?: unknown } | null)?.names;
    if (!(bytes instanceof Uint8Array) || !Array.isArray(names) || bytes.byteLength < ENQUEUE_HEAD) return -1;
    const len = bytes.byteLength;
    const n = (bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16) | (bytes[4]! << 24)) >>> 0;
    if (bytes[0]! > 1 || n === 0 || n > this.#limits.maxBatch) return -1;
    // Handles first: interning writes its own request into the input buffer.
    const eps = new Uint32Array(names.length);
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (typeof name !== 'string') return -1;
      let ep = this.#epIds.get(name);
      if (ep === undefined) {
        try {
          ep = this.#ep(validateEntrypoint(name));
        } catch {
          return -1; // the validating path names the job
        }
      }
      eps[i] = ep;
    }
    const e = this.#enc.reset();
    e.ensure(len);
    e.buf.set(bytes, 0);
    e.pos = len;
    const dv = e.dv;
    const maxPayload = this.#limits.maxPayloadBytes;
    let pos = ENQUEUE_HEAD;
    for (let i = 0; i < n; i++) {
      if (pos + JOB_HEAD + 12 > len) return -1;
      const index = dv.getUint32(pos, true);
      if (index >= eps.length) return -1;
      dv.setUint32(pos, eps[index]!, true);
      const at = dv.getFloat64(pos + 8, true);
      if (!Number.isNaN(at) && (!Number.isInteger(at) || Math.abs(at) > MAX_TIME_MS)) return -1;
      pos += JOB_HEAD;
      const size = dv.getUint32(pos, true);
      pos += 4;
      if (size !== NULL_LEN) {
        if (size > maxPayload) return -1;
        pos += size;
        if (pos + 8 > len) return -1;
      }
      // Headers and dedupe keys (rare) take the validating path.
      if (dv.getUint32(pos, true) !== NULL_LEN || dv.getUint32(pos + 4, true) !== NULL_LEN) return -1;
      pos += 8;
    }
    return pos === len ? n : -1;
  }

  // ---- consuming ------------------------------------------------------------------------------

  dequeue(options: DequeueOptions): Promise<Job[]> {
    return this.#op(
      'dequeue',
      (now) => {
        const o = validateDequeueOptions(options, this.#limits);
        const mgr = this.#mgr(o.queueManagerId);
        const eps = [...o.entrypoints].map(([name, lim]) => [this.#ep(name), lim] as const);
        const e = this.#enc.reset();
        e.u32(o.batchSize);
        e.f64(o.maxOwned);
        e.u32(mgr);
        e.u32(eps.length);
        for (const [ep, lim] of eps) {
          e.u32(ep);
          e.f64(lim.concurrencyLimit);
          e.f64(lim.requestsPerSecond);
          e.f64(lim.retryTimer);
          e.f64(lim.maxAttempts);
        }
        const d = this.#call(OP.DEQUEUE, now, true);
        return readJobs(d, d.u32(), this.#epNames, this.#mgrNames);
      },
      'installed',
      true,
    );
  }

  complete(results: readonly CompletionResult[], options?: FenceOptions): Promise<boolean[]> {
    return this.#op(
      'complete',
      (now) => {
        const fence = this.#fence(options);
        if (fence < 0) return validateCompletionResults(results, this.#limits).map(() => false);
        const fast = this.#encodeCommonResults(results, fence);
        if (fast >= 0) return this.#bools(this.#call(OP.COMPLETE, now), fast);
        const valid = validateCompletionResults(results, this.#limits);
        const e = this.#enc.reset();
        e.u32(fence);
        e.u32(valid.length);
        for (const r of valid) {
          e.f64(r.id);
          e.u8(STATUS_CODE.get(r.status)!);
          e.str(r.error);
        }
        return this.#bools(this.#call(OP.COMPLETE, now), valid.length);
      },
      'installed',
      true,
    );
  }

  /** Like #encodeCommonJobs for complete(): plain results with short or no error texts. */
  #encodeCommonResults(results: unknown, fence: number): number {
    if (!Array.isArray(results) || results.length > this.#limits.maxBatch) return -1;
    const e = this.#enc.reset();
    e.u32(fence);
    e.u32(results.length);
    for (let i = 0; i < results.length; i++) {
      const r = results[i] as CompletionResult | null;
      if (r === null || typeof r !== 'object' || Array.isArray(r)) return -1;
      const { id, error } = r;
      const st = r.status;
      const status = st === 'successful' ? 2 : typeof st === 'string' ? STATUS_CODE.get(st) : undefined;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return -1;
      if (status === undefined || status < 2) return -1;
      if (error === undefined || error === null) {
        // ids-only: f64 id, u8 status, null error (NULL_LEN) in one bounds check
        e.ensure(13);
        const pos = e.pos;
        e.dv.setFloat64(pos, id, true);
        e.buf[pos + 8] = status;
        e.dv.setUint32(pos + 9, NULL_LEN, true);
        e.pos = pos + 13;
        continue;
      }
      if (typeof error !== 'string' || error.length > MAX_ERROR_TEXT_LENGTH) return -1;
      e.f64(id);
      e.u8(status);
      e.str(error);
    }
    return results.length;
  }

  #bools(d: Decoder, n: number): boolean[] {
    const out = new Array<boolean>(n);
    const u8 = d.u8;
    const base = d.pos;
    for (let i = 0; i < n; i++) out[i] = u8[base + i] === 1;
    return out;
  }

  retry(requests: readonly RetryRequest[], options?: FenceOptions): Promise<boolean[]> {
    return this.#op(
      'retry',
      (now) => {
        const fence = this.#fence(options);
        const valid = validateRetryRequests(requests, this.#limits);
        if (fence < 0) return valid.map(() => false);
        const e = this.#enc.reset();
        e.u32(fence);
        e.u32(valid.length);
        for (const r of valid) {
          e.f64(r.id);
          e.f64(r.executeAfter);
          e.str(r.error);
        }
        return this.#bools(this.#call(OP.RETRY, now), valid.length);
      },
      'installed',
      true,
    );
  }

  #idsCall(op: number, ids: unknown, now: number): boolean[] {
    const valid = validateIds(ids, this.#limits);
    const e = this.#enc.reset();
    e.u32(valid.length);
    for (const id of valid) e.f64(id);
    return this.#bools(this.#call(op, now), valid.length);
  }

  requeue(ids: readonly number[]): Promise<boolean[]> {
    return this.#op('requeue', (now) => this.#idsCall(OP.REQUEUE, ids, now), 'installed', true);
  }

  heartbeat(ids: readonly number[], options?: FenceOptions): Promise<boolean[]> {
    return this.#op('heartbeat', (now) => {
      const fence = this.#fence(options);
      const valid = validateIds(ids, this.#limits);
      if (fence < 0) return valid.map(() => false);
      const e = this.#enc.reset();
      e.u32(fence);
      e.u32(valid.length);
      for (const id of valid) e.f64(id);
      return this.#bools(this.#call(OP.HEARTBEAT, now), valid.length);
    });
  }

  cancel(ids: readonly number[]): Promise<boolean[]> {
    return this.#op('cancel', (now) => this.#idsCall(OP.CANCEL, ids, now), 'installed', true);
  }

  clear(entrypoints?: readonly string[]): Promise<number> {
    return this.#op(
      'clear',
      (now) => {
        const only = entrypoints === undefined ? undefined : validateEntrypoints(entrypoints);
        const e = this.#enc.reset();
        e.u8(only === undefined ? 1 : 0);
        // Entrypoints never seen hold no jobs.
        const known = (only ?? []).map((n) => this.#epIds.get(n)).filter((x): x is number => x !== undefined);
        e.u32(known.length);
        for (const k of known) e.u32(k);
        return this.#call(OP.CLEAR, now).f64();
      },
      'installed',
      true,
    );
  }

  // ---- reads ----------------------------------------------------------------------------------

  jobStatus(ids: readonly number[]): Promise<(JobStatus | null)[]> {
    return this.#op('jobStatus', (now) => {
      const valid = validateIds(ids, this.#limits);
      const e = this.#enc.reset();
      e.u32(valid.length);
      for (const id of valid) e.f64(id);
      const d = this.#call(OP.JOB_STATUS, now);
      return valid.map((_, i) => STATUS[d.u8[d.pos + i]!] ?? null);
    });
  }

  getJobs(ids: readonly number[]): Promise<(Job | null)[]> {
    return this.#op('getJobs', (now) => {
      const valid = validateIds(ids, this.#limits);
      const e = this.#enc.reset();
      e.u32(valid.length);
      for (const id of valid) e.f64(id);
      const d = this.#call(OP.GET_JOBS, now, true);
      return valid.map(() => (d.u8v() === 1 ? readJob(d, this.#epNames, this.#mgrNames) : null));
    });
  }

  queueSize(): Promise<QueueSizeRow[]> {
    return this.#op('queueSize', (now) => {
      this.#enc.reset();
      const d = this.#call(OP.QUEUE_SIZE, now);
      const n = d.u32();
      const rows: QueueSizeRow[] = [];
      for (let i = 0; i < n; i++) {
        const entrypoint = this.#epNames[d.u32()]!;
        const status = STATUS[d.u8v()] as QueueSizeRow['status'];
        const priority = d.i32();
        rows.push({ entrypoint, status, priority, count: d.f64() });
      }
      return rows.sort(
        (a, b) =>
          compareStrings(a.entrypoint, b.entrypoint) ||
          HELD_STATUS_ORDER[a.status]! - HELD_STATUS_ORDER[b.status]! ||
          b.priority - a.priority,
      );
    });
  }

  failedJobs(options?: { limit?: number; after?: number }): Promise<Job[]> {
    return this.#op('failedJobs', (now) => {
      const { after, limit } = validatePage(options, 'failedJobs options', 100);
      const e = this.#enc.reset();
      e.f64(after);
      e.u32(Math.min(limit, U32_MAX));
      const d = this.#call(OP.FAILED_JOBS, now, true);
      const n = d.u32();
      const out: Job[] = [];
      for (let i = 0; i < n; i++) out.push(readJob(d, this.#epNames, this.#mgrNames));
      return out;
    });
  }

  #readLog(after: number, limit: number, now: number): JobEvent[] {
    const e = this.#enc.reset();
    e.f64(after);
    e.u32(Math.min(limit, U32_MAX));
    const d = this.#call(OP.LOG, now);
    const n = d.u32();
    const out = new Array<JobEvent>(n);
    for (let i = 0; i < n; i++) out[i] = readEvent(d, this.#epNames, this.#mgrNames);
    return out;
  }

  log(options?: { after?: number; limit?: number }): Promise<JobEvent[]> {
    return this.#op('log', (now) => {
      const { after, limit } = validatePage(options, 'log options', 1000);
      return this.#readLog(after, limit, now);
    });
  }

  statistics(options?: { since?: number; limit?: number }): Promise<StatisticsRow[]> {
    return this.#op('statistics', (now) => {
      const { since, limit } = validateStatisticsOptions(options);
      // The core reads NaN as "every bucket".
      this.#enc.reset().f64(since === Number.NEGATIVE_INFINITY ? Number.NaN : since);
      const d = this.#call(OP.STATISTICS, now);
      const n = d.u32();
      const rows: StatisticsRow[] = [];
      for (let i = 0; i < n; i++) {
        const second = d.f64();
        const entrypoint = this.#epNames[d.u32()]!;
        const status = STATUS[d.u8v()] as StatisticsRow['status'];
        const priority = d.i32();
        rows.push({ entrypoint, status, priority, second, count: d.f64() });
      }
      return rows
        .sort(
          (a, b) =>
            b.second - a.second ||
            compareStrings(a.entrypoint, b.entrypoint) ||
            compareStrings(a.status, b.status) ||
            b.priority - a.priority,
        )
        .slice(0, limit);
    });
  }

  nextDueAt(entrypoints: readonly string[]): Promise<number | null> {
    return this.#op('nextDueAt', (now) => {
      const names = new Set(validateEntrypoints(entrypoints));
      const known = [...names].map((n) => this.#epIds.get(n)).filter((x): x is number => x !== undefined);
      if (known.length === 0) return null;
      const e = this.#enc.reset();
      e.u32(known.length);
      for (const k of known) e.u32(k);
      return this.#call(OP.NEXT_DUE, now).optF64();
    });
  }

  // ---- schedules ------------------------------------------------------------------------------

  #readSchedule(d: Decoder): Schedule {
    return {
      name: d.str()!,
      entrypoint: d.str()!,
      expression: d.str()!,
      timezone: d.str(),
      nextRunAt: d.f64(),
      lastRunAt: d.optF64(),
      claimedBy: d.str(),
      claimedAt: d.optF64(),
    };
  }

  upsertSchedules(schedules: readonly ScheduleInput[]): Promise<void> {
    return this.#op('upsertSchedules', (now) => {
      const valid = validateScheduleInputs(schedules, this.#limits);
      const e = this.#enc.reset();
      e.u32(valid.length);
      for (const s of valid) {
        e.str(s.name);
        e.str(s.entrypoint);
        e.str(s.expression);
        e.str(s.timezone);
        e.f64(s.nextRunAt);
      }
      this.#call(OP.UPSERT_SCHEDULES, now);
    });
  }

  claimDueSchedules(options: ClaimOptions): Promise<Schedule[]> {
    return this.#op('claimDueSchedules', (now) => {
      const { claimerId, staleAfter, limit } = validateClaimOptions(options);
      const e = this.#enc.reset();
      e.str(claimerId);
      e.f64(staleAfter);
      e.u32(Math.min(limit, U32_MAX));
      const d = this.#call(OP.CLAIM_SCHEDULES, now);
      const n = d.u32();
      const out: Schedule[] = [];
      for (let i = 0; i < n; i++) out.push(this.#readSchedule(d));
      return out;
    });
  }

  markScheduleRun(runs: readonly ScheduleRun[]): Promise<boolean[]> {
    return this.#op('markScheduleRun', (now) => {
      const valid = validateScheduleRuns(runs, this.#limits);
      const e = this.#enc.reset();
      e.u32(valid.length);
      for (const r of valid) {
        e.str(r.name);
        e.str(r.claimerId);
        e.f64(r.nextRunAt);
      }
      return this.#bools(this.#call(OP.MARK_RUNS, now), valid.length);
    });
  }

  deleteSchedules(names: readonly string[]): Promise<number> {
    return this.#op('deleteSchedules', (now) => {
      const valid = validateScheduleNames(names, this.#limits);
      const e = this.#enc.reset();
      e.u32(valid.length);
      for (const n of valid) e.str(n);
      return this.#call(OP.DELETE_SCHEDULES, now).u32();
    });
  }

  listSchedules(): Promise<Schedule[]> {
    return this.#op('listSchedules', (now) => {
      this.#enc.reset();
      const d = this.#call(OP.LIST_SCHEDULES, now);
      const n = d.u32();
      const out: Schedule[] = [];
      for (let i = 0; i < n; i++) out.push(this.#readSchedule(d));
      return out;
    });
  }

  // ---- events ---------------------------------------------------------------------------------

  subscribe(listener: EventListener, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.#op('subscribe', (now) => {
      validateListener(listener);
      const { after, kinds } = validateSubscribeOptions(options);
      // kinds: filtered on the JS side (the core delivers every row; the filter drops the rest).
      const deliver = filterEventKinds(listener, kinds);
      if (this.#env.events.size === 0) {
        // Nobody was listening: live delivery starts at the current end of the log.
        this.#enc.reset();
        const info = this.#call(OP.INFO, now);
        info.u8v();
        info.u32();
        this.#seenSeq = info.f64();
      }
      const pending = after === undefined ? [] : this.#readLog(after, Number.MAX_SAFE_INTEGER, now);
      return this.#env.events.add(
        deliver,
        pending.filter((e) => e.seq <= this.#seenSeq),
      );
    });
  }

  /** The rows committed by the call that just ran (the envelope publishes them). */
  #newEvents(): JobEvent[] {
    const events = this.#readLog(this.#seenSeq, Number.MAX_SAFE_INTEGER, 0);
    if (events.length > 0) this.#seenSeq = events[events.length - 1]!.seq;
    return events;
  }

  // ---- maintenance ----------------------------------------------------------------------------

  install(): Promise<void> {
    return this.#op(
      'install',
      (now) => {
        if (this.#installed) return;
        this.#enc.reset();
        this.#call(OP.INSTALL, now);
        this.#resync();
      },
      'open',
    );
  }

  upgrade(): Promise<void> {
    return this.#op('upgrade', () => undefined);
  }

  uninstall(): Promise<void> {
    return this.#op('uninstall', (now) => {
      this.#enc.reset();
      this.#call(OP.UNINSTALL, now);
      this.#resync();
    });
  }

  verify(): Promise<VerifyReport> {
    return this.#op(
      'verify',
      () => {
        const installed = this.#installed;
        return {
          installed,
          version: installed ? WASM_SCHEMA_VERSION : null,
          expectedVersion: WASM_SCHEMA_VERSION,
          current: installed,
          problems: installed ? [] : ['the WASM queue is not installed: call install()'],
        };
      },
      'open',
    );
  }

  #retention(e: Encoder, r: { maxRecords?: number; maxAge?: number }): void {
    e.u8(r.maxRecords === undefined ? 0 : 1);
    e.f64(r.maxRecords ?? 0);
    e.u8(r.maxAge === undefined ? 0 : 1);
    e.f64(r.maxAge ?? 0);
  }

  scan(options: { staleAfter: number; retention?: Retention }): Promise<ScanReport> {
    return this.#op('scan', (now) => {
      const { staleAfter, retention } = validateScanOptions(options);
      const e = this.#enc.reset();
      e.f64(staleAfter);
      this.#retention(e, retention);
      const d = this.#call(OP.SCAN, now);
      const stalePicked: number[] = [];
      for (let i = d.u32(); i > 0; i--) stalePicked.push(d.f64());
      const orphans: number[] = [];
      for (let i = d.u32(); i > 0; i--) orphans.push(d.f64());
      return { stalePicked, orphans, logBeyondRetention: d.f64() };
    });
  }

  recover(options: { staleAfter: number }): Promise<number[]> {
    return this.#op(
      'recover',
      (now) => {
        const { staleAfter } = validateRecoverOptions(options);
        this.#enc.reset().f64(staleAfter);
        const d = this.#call(OP.RECOVER, now);
        const ids: number[] = [];
        for (let i = d.u32(); i > 0; i--) ids.push(d.f64());
        return ids;
      },
      'installed',
      true,
    );
  }

  compact(retention: Retention): Promise<{ removed: number }> {
    return this.#op('compact', (now) => {
      const r = validateCompactOptions(retention);
      this.#retention(this.#enc.reset(), r);
      return { removed: this.#call(OP.COMPACT, now).f64() };
    });
  }

  metrics(): Promise<RepositoryMetrics> {
    return this.#op('metrics', (now) => {
      this.#enc.reset();
      const d = this.#call(OP.METRICS, now);
      const m = this.#env.readMetrics();
      m.recordsWritten = d.f64();
      m.bytesWritten = d.f64();
      m.scans = d.f64();
      m.recoveries = d.f64();
      m.compactions = d.f64();
      m.compactedRecords = d.f64();
      return m;
    });
  }

  resetMetrics(): Promise<void> {
    return this.#op('resetMetrics', (now) => {
      this.#enc.reset();
      this.#call(OP.RESET_METRICS, now);
      this.#env.resetMetrics();
    });
  }

  close(): Promise<void> {
    return this.#env.close();
  }

  // ---- beyond the port ------------------------------------------------------------------------

  snapshot(): Promise<Uint8Array> {
    try {
      this.#env.assertOpen('snapshot');
      this.#enc.reset();
      const d = this.#call(OP.SNAPSHOT, this.#env.now());
      return Promise.resolve(d.rest().slice());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  restore(bytes: Uint8Array): Promise<void> {
    try {
      this.#env.assertOpen('restore');
      if (!(bytes instanceof Uint8Array)) {
        throw new InvalidArgumentError(
          `restore takes the Uint8Array snapshot() returned, got ${describeValue(bytes)}`,
        );
      }
      // The core refuses values beyond this queue's own limits (PAYLOAD_TOO_LARGE, nothing replaced).
      const e = this.#enc.reset();
      e.f64(this.#limits.maxPayloadBytes);
      e.f64(this.#limits.maxHeadersBytes);
      e.f64(this.#limits.maxDedupeKeyLength);
      e.ensure(bytes.length);
      e.buf.set(bytes, e.pos);
      e.pos += bytes.length;
      this.#call(OP.RESTORE, this.#env.now());
      this.#resync();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  memoryBytes(): number {
    return this.#core.memory.buffer.byteLength;
  }

  heapBytes(): number {
    return this.#core.tq_heap_bytes();
  }
}

/**
 * A fresh, installed in-memory queue backed by the WASM core: the one-line default.
 *
 * @example
 * const queue = await createMemoryQueue();
 * await queue.enqueue([{ entrypoint: 'email', payload: new TextEncoder().encode('hi') }]);
 */
export async function createMemoryQueue(options: MemoryQueueOptions = {}): Promise<WasmQueueRepository> {
  const core = await instantiateCore(options.wasm);
  return new WasmRepository(core, options);
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}
