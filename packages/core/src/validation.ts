/**
 * Input validation shared by every adapter: bad input is rejected with a typed error before
 * anything is stored. Adapters call these at the top of each port method.
 */
import { DuplicateJobError, InvalidArgumentError, PayloadTooLargeError } from './errors.js';
import { INT32_MAX, INT32_MIN, MAX_ERROR_TEXT_LENGTH, MAX_TIME_MS } from './limits.js';
import type {
  CompletionStatus,
  JobEvent,
  JobEventKind,
  JsonObject,
  NewJob,
  ScheduleInput,
  ValidJob,
} from './types.js';

/** Per-store bounds on what one call may carry; every store applies the same checks. */
export interface Limits {
  /** Largest payload in bytes (default 1 MiB). */
  maxPayloadBytes: number;
  /** Largest headers object, as UTF-8 JSON bytes (default 64 KiB). */
  maxHeadersBytes: number;
  /** Most jobs (or ids, or results) in one call (default 100,000). */
  maxBatch: number;
  /** Largest `batchSize` of one dequeue (default 10,000). */
  maxDequeueBatch: number;
  /** Longest dedupe key in characters (default 512). */
  maxDedupeKeyLength: number;
}

/** The limits a store uses unless given others (1 MiB payloads, 64 KiB headers, 100,000 per call, 10,000 per dequeue, 512-character dedupe keys). */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxPayloadBytes: 1024 * 1024,
  maxHeadersBytes: 64 * 1024,
  maxBatch: 100_000,
  maxDequeueBatch: 10_000,
  maxDedupeKeyLength: 512,
});

/** Merge user overrides into the defaults, validating them. */
export function resolveLimits(overrides?: Partial<Limits>): Limits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidArgumentError(`limit ${name} must be a positive integer, got ${String(value)}`, {
        field: name,
      });
    }
  }
  return limits;
}

const ENTRYPOINT_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const encoder = new TextEncoder();

export function validateEntrypoint(name: unknown, where = 'entrypoint'): string {
  if (typeof name !== 'string' || !ENTRYPOINT_RE.test(name)) {
    throw new InvalidArgumentError(
      `${where} must be 1..128 characters of [A-Za-z0-9_.:-], got ${describeValue(name)}`,
      { field: where },
    );
  }
  return name;
}

/** A list of entrypoint names (each checked as `validateEntrypoint` does). */
export function validateEntrypoints(names: unknown, where = 'entrypoints'): string[] {
  if (!Array.isArray(names)) throw new InvalidArgumentError(`${where} must be an array of entrypoint names`);
  return names.map((n, i) => validateEntrypoint(n, `${where}[${i}]`));
}

/** An epoch-ms time: a finite number or a valid Date, normalised to an integer (floor). */
export function validateTime(value: unknown, where: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > MAX_TIME_MS) {
    throw new InvalidArgumentError(
      `${where} must be a finite epoch-ms number or a valid Date, got ${describeValue(value)}`,
      {
        field: where,
      },
    );
  }
  return Math.floor(ms);
}

export function validatePriority(value: unknown, where = 'priority'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw new InvalidArgumentError(`${where} must be an int32 integer, got ${describeValue(value)}`, {
      field: where,
    });
  }
  return value;
}

/** A non-negative integer (counts, ms durations), optionally bounded. */
export function validateCount(value: unknown, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `${where} must be an integer in ${min}..${max}, got ${describeValue(value)}`,
      {
        field: where,
      },
    );
  }
  return value;
}

/** A non-negative finite number (rates). */
export function validateRate(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${where} must be a finite number >= 0, got ${describeValue(value)}`, {
      field: where,
    });
  }
  return value;
}

/** A batch of job ids: safe integers >= 1, at most `limits.maxBatch`. */
export function validateIds(ids: unknown, limits: Limits, where = 'ids'): number[] {
  if (!Array.isArray(ids)) throw new InvalidArgumentError(`${where} must be an array of job ids`);
  if (ids.length > limits.maxBatch) {
    throw new InvalidArgumentError(`${where} holds ${ids.length} ids; at most ${limits.maxBatch} per call`);
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
      throw new InvalidArgumentError(
        `${where}[${i}] must be a positive safe integer job id, got ${describeValue(id)}`,
      );
    }
  }
  return ids as number[];
}

export function validateHeaders(value: unknown, limits: Limits, where = 'headers'): JsonObject | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value) || !isPlainObject(value)) {
    throw new InvalidArgumentError(
      `${where} must be a plain JSON object or null, got ${describeValue(value)}`,
      {
        field: where,
      },
    );
  }
  checkJson(value, where, 0);
  const bytes = encoder.encode(JSON.stringify(value)).length;
  if (bytes > limits.maxHeadersBytes) {
    throw new PayloadTooLargeError(
      `${where} take ${bytes} bytes as JSON; the limit is ${limits.maxHeadersBytes}`,
      {
        field: where,
        bytes,
        limit: limits.maxHeadersBytes,
      },
    );
  }
  // A deep copy, so later mutation by the caller cannot change what was stored.
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

function checkJson(value: unknown, where: string, depth: number): void {
  if (depth > 64)
    throw new InvalidArgumentError(`${where} is nested deeper than 64 levels`, { field: where });
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new InvalidArgumentError(`${where} holds ${value}, which JSON cannot represent`, {
        field: where,
      });
    }
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJson(value[i], `${where}[${i}]`, depth + 1);
    return;
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) checkJson(v, `${where}.${k}`, depth + 1);
    return;
  }
  throw new InvalidArgumentError(`${where} holds ${describeValue(value)}, which is not JSON-serialisable`, {
    field: where,
  });
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function validatePayload(value: unknown, limits: Limits, where = 'payload'): Uint8Array | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(
      `${where} must be a Uint8Array or null, got ${describeValue(value)} (encode objects with jsonCodec)`,
      { field: where },
    );
  }
  if (value.byteLength > limits.maxPayloadBytes) {
    throw new PayloadTooLargeError(
      `${where} is ${value.byteLength} bytes; the limit is ${limits.maxPayloadBytes} (raise limits.maxPayloadBytes or store a reference)`,
      { field: where, bytes: value.byteLength, limit: limits.maxPayloadBytes },
    );
  }
  return value;
}

export function validateDedupeKey(value: unknown, limits: Limits, where = 'dedupeKey'): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > limits.maxDedupeKeyLength) {
    throw new InvalidArgumentError(
      `${where} must be null or a string of 1..${limits.maxDedupeKeyLength} characters, got ${describeValue(value)}`,
      { field: where },
    );
  }
  return value;
}

/**
 * Validate a whole enqueue batch. Throws on the first bad job (naming its index); when
 * `onConflict` is 'raise', also throws DUPLICATE_JOB for a key repeated inside the batch.
 */
export function validateNewJobs(jobs: unknown, limits: Limits, onConflict: 'raise' | 'skip'): ValidJob[] {
  if (!Array.isArray(jobs)) throw new InvalidArgumentError('enqueue takes an array of jobs');
  if (jobs.length > limits.maxBatch) {
    throw new InvalidArgumentError(
      `enqueue got ${jobs.length} jobs; at most ${limits.maxBatch} per call (split the batch)`,
    );
  }
  const out: ValidJob[] = new Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i] as NewJob;
    if (job === null || typeof job !== 'object') {
      throw new InvalidArgumentError(`jobs[${i}] must be an object, got ${describeValue(job)}`);
    }
    out[i] = validateJobAt(job, job.payload, i, limits);
  }
  if (onConflict === 'raise') {
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const j of out) {
      if (j.dedupeKey === null) continue;
      if (seen.has(j.dedupeKey)) dup.add(j.dedupeKey);
      seen.add(j.dedupeKey);
    }
    if (dup.size > 0) throw new DuplicateJobError([...dup]);
  }
  return out;
}

export function validateOnConflict(value: unknown): 'raise' | 'skip' {
  if (value === undefined) return 'raise';
  if (value !== 'raise' && value !== 'skip') {
    throw new InvalidArgumentError(`onConflict must be 'raise' or 'skip', got ${describeValue(value)}`);
  }
  return value;
}

const COMPLETION_STATUSES = new Set(['successful', 'exception', 'canceled', 'deleted', 'failed']);

export function validateCompletionStatus(value: unknown, where: string): CompletionStatus {
  if (typeof value !== 'string' || !COMPLETION_STATUSES.has(value)) {
    throw new InvalidArgumentError(
      `${where} must be one of successful, exception, canceled, deleted, failed; got ${describeValue(value)}`,
    );
  }
  return value as CompletionStatus;
}

export function validateErrorText(value: unknown, where: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string')
    throw new InvalidArgumentError(`${where} must be a string or null, got ${describeValue(value)}`);
  // Error texts are diagnostics: keep them bounded rather than reject a long stack trace.
  return value.length > MAX_ERROR_TEXT_LENGTH ? `${value.slice(0, MAX_ERROR_TEXT_LENGTH)}…` : value;
}

/** `upsertSchedules` input: names, entrypoints, expressions, time zones and next run times. */
export function validateScheduleInputs(schedules: unknown, limits: Limits): Required<ScheduleInput>[] {
  if (!Array.isArray(schedules))
    throw new InvalidArgumentError('upsertSchedules takes an array of schedules');
  if (schedules.length > limits.maxBatch)
    throw new InvalidArgumentError(`at most ${limits.maxBatch} schedules per call`);
  const names = new Set<string>();
  return schedules.map((s: ScheduleInput, i) => {
    if (s === null || typeof s !== 'object')
      throw new InvalidArgumentError(`schedules[${i}] must be an object`);
    const name = validateScheduleName(s.name, `schedules[${i}].name`);
    if (names.has(name))
      throw new InvalidArgumentError(`schedule name ${JSON.stringify(name)} appears twice in one call`);
    names.add(name);
    if (
      typeof s.expression !== 'string' ||
      s.expression.trim() === '' ||
      s.expression.length > 256 ||
      !isPlainText(s.expression)
    ) {
      throw new InvalidArgumentError(`schedules[${i}].expression must be a non-empty cron expression string`);
    }
    if (
      s.timezone !== undefined &&
      s.timezone !== null &&
      (typeof s.timezone !== 'string' || s.timezone === '' || !isPlainText(s.timezone))
    ) {
      throw new InvalidArgumentError(`schedules[${i}].timezone must be an IANA zone name or null`);
    }
    return {
      name,
      entrypoint: validateEntrypoint(s.entrypoint, `schedules[${i}].entrypoint`),
      expression: s.expression,
      timezone: s.timezone ?? null,
      nextRunAt: validateTime(s.nextRunAt, `schedules[${i}].nextRunAt`),
    };
  });
}

export function validateScheduleName(value: unknown, where = 'schedule name'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256 || !isPlainText(value)) {
    throw new InvalidArgumentError(
      `${where} must be a string of 1..256 characters without NUL or unpaired surrogates, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** A short description of a bad value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}…` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** One entrypoint's dequeue limits after validation: every field present, 0 = unlimited. */
export interface ValidEntrypointLimits {
  concurrencyLimit: number;
  requestsPerSecond: number;
  retryTimer: number;
  maxAttempts: number;
}

/** `dequeue` options after validation (what a store's dequeue works from). */
export interface ValidDequeueOptions {
  batchSize: number;
  /** Requested entrypoints, sorted by name (a stable order for adapters that iterate them). */
  entrypoints: Map<string, ValidEntrypointLimits>;
  queueManagerId: string;
  /** Number.MAX_SAFE_INTEGER when not given. */
  maxOwned: number;
}

export function validateManagerId(value: unknown, where = 'queueManagerId'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 128 || !isPlainText(value)) {
    throw new InvalidArgumentError(
      `${where} must be a string of 1..128 characters without NUL or unpaired surrogates, got ${describeValue(value)}`,
    );
  }
  return value;
}

// NUL and unpaired UTF-16 surrogates cannot be stored in a Postgres text column or encoded as
// UTF-8, so names and identifiers that every store keeps as text refuse them up front.
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when a string has no NUL and no unpaired surrogate (storable as text anywhere). */
export function isPlainText(value: string): boolean {
  return !value.includes('\u0000') && !UNPAIRED_SURROGATE.test(value);
}

/** `dequeue` options, with every entrypoint's limits filled in (0 = unlimited) and sorted by name. */
export function validateDequeueOptions(options: unknown, limits: Limits): ValidDequeueOptions {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('dequeue takes an options object');
  const o = options as Record<string, unknown>;
  const batchSize = validateCount(o.batchSize, 'batchSize', 1, limits.maxDequeueBatch);
  const queueManagerId = validateManagerId(o.queueManagerId);
  const maxOwned = o.maxOwned === undefined ? Number.MAX_SAFE_INTEGER : validateCount(o.maxOwned, 'maxOwned');
  const eps = o.entrypoints;
  if (eps === null || typeof eps !== 'object' || Array.isArray(eps)) {
    throw new InvalidArgumentError('entrypoints must be an object mapping entrypoint names to their limits');
  }
  const names = Object.keys(eps).sort();
  if (names.length === 0) throw new InvalidArgumentError('entrypoints must name at least one entrypoint');
  const entrypoints = new Map<string, ValidEntrypointLimits>();
  for (const name of names) {
    validateEntrypoint(name, `entrypoints key`);
    const l = (eps as Record<string, unknown>)[name] ?? {};
    if (typeof l !== 'object')
      throw new InvalidArgumentError(`entrypoints.${name} must be an object of limits`);
    const lim = l as Record<string, unknown>;
    entrypoints.set(name, {
      concurrencyLimit:
        lim.concurrencyLimit === undefined
          ? 0
          : validateCount(lim.concurrencyLimit, `entrypoints.${name}.concurrencyLimit`),
      requestsPerSecond:
        lim.requestsPerSecond === undefined
          ? 0
          : validateRate(lim.requestsPerSecond, `entrypoints.${name}.requestsPerSecond`),
      retryTimer:
        lim.retryTimer === undefined ? 0 : validateCount(lim.retryTimer, `entrypoints.${name}.retryTimer`),
      maxAttempts:
        lim.maxAttempts === undefined ? 0 : validateCount(lim.maxAttempts, `entrypoints.${name}.maxAttempts`),
    });
  }
  return { batchSize, entrypoints, queueManagerId, maxOwned };
}

/** Capacity of an entrypoint's token bucket: a tenth of a second's worth, at least one token. */
export function bucketCapacity(requestsPerSecond: number): number {
  return Math.max(1, requestsPerSecond / 10);
}

// ---- per-method input of the port ------------------------------------------------------------
// Every adapter validates each port call with these, so all stores reject the same inputs with
// the same codes and messages before touching anything.

/** An options object that may be omitted; anything but a plain object is rejected. */
export function validateOptionsObject(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  return validateItem(value, where);
}

/** A required options object (or batch item). */
export function validateItem(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`${where} must be an object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

/** An array of at most `limits.maxBatch` items. */
export function validateBatch(value: unknown, limits: Limits, where: string): unknown[] {
  if (!Array.isArray(value))
    throw new InvalidArgumentError(`${where} must be an array, got ${describeValue(value)}`);
  if (value.length > limits.maxBatch) {
    throw new InvalidArgumentError(
      `${where} holds ${value.length} items; at most ${limits.maxBatch} per call`,
    );
  }
  return value;
}

export function validateId(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      `${where} must be a positive safe integer job id, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** `enqueue` options: `onConflict` is `raise` (default) or `skip`. */
export function validateEnqueueOptions(value: unknown): { onConflict: 'raise' | 'skip' } {
  return { onConflict: validateOnConflict(validateOptionsObject(value, 'enqueue options').onConflict) };
}

/** `complete` results: ids, completion statuses and error texts, the whole batch checked first. */
export function validateCompletionResults(
  value: unknown,
  limits: Limits,
): { id: number; status: CompletionStatus; error: string | null }[] {
  return validateBatch(value, limits, 'results').map((item, i) => {
    const r = validateItem(item, `results[${i}]`);
    return {
      id: validateId(r.id, `results[${i}].id`),
      status: validateCompletionStatus(r.status, `results[${i}].status`),
      error: validateErrorText(r.error, `results[${i}].error`),
    };
  });
}

/** `retry` requests: id, due time and error text per job, the whole batch checked first. */
export function validateRetryRequests(
  value: unknown,
  limits: Limits,
): { id: number; executeAfter: number; error: string | null }[] {
  return validateBatch(value, limits, 'requests').map((item, i) => {
    const r = validateItem(item, `requests[${i}]`);
    return {
      id: validateId(r.id, `requests[${i}].id`),
      executeAfter: validateTime(r.executeAfter, `requests[${i}].executeAfter`),
      error: validateErrorText(r.error, `requests[${i}].error`),
    };
  });
}

/** `{ after, limit }` of failedJobs and log. */
export function validatePage(
  value: unknown,
  where: string,
  defaultLimit: number,
): { after: number; limit: number } {
  const o = validateOptionsObject(value, where);
  return {
    after: o.after === undefined ? 0 : validateCount(o.after, 'after'),
    limit: o.limit === undefined ? defaultLimit : validateCount(o.limit, 'limit'),
  };
}

/** `{ since, limit }` of statistics; `since` defaults to -Infinity (every bucket). */
export function validateStatisticsOptions(value: unknown): { since: number; limit: number } {
  const o = validateOptionsObject(value, 'statistics options');
  return {
    since: o.since === undefined ? Number.NEGATIVE_INFINITY : validateTime(o.since, 'since'),
    limit: o.limit === undefined ? 1000 : validateCount(o.limit, 'limit'),
  };
}

/** `claimDueSchedules` options: claimerId, staleAfter, limit (default 100). */
export function validateClaimOptions(value: unknown): {
  claimerId: string;
  staleAfter: number;
  limit: number;
} {
  const o = validateItem(value, 'claimDueSchedules options');
  return {
    claimerId: validateManagerId(o.claimerId, 'claimerId'),
    staleAfter: validateCount(o.staleAfter, 'staleAfter'),
    limit: o.limit === undefined ? 100 : validateCount(o.limit, 'limit'),
  };
}

/** `markScheduleRun` input: name, claimer and next run time per schedule. */
export function validateScheduleRuns(
  value: unknown,
  limits: Limits,
): { name: string; claimerId: string; nextRunAt: number }[] {
  return validateBatch(value, limits, 'runs').map((item, i) => {
    const r = validateItem(item, `runs[${i}]`);
    return {
      name: validateScheduleName(r.name, `runs[${i}].name`),
      claimerId: validateManagerId(r.claimerId, `runs[${i}].claimerId`),
      nextRunAt: validateTime(r.nextRunAt, `runs[${i}].nextRunAt`),
    };
  });
}

/** A batch of schedule names (`deleteSchedules`). */
export function validateScheduleNames(value: unknown, limits: Limits): string[] {
  return validateBatch(value, limits, 'names').map((n, i) => validateScheduleName(n, `names[${i}]`));
}

/** subscribe's listener: a function (one message for every store). */
export function validateListener<T>(value: T): T {
  if (typeof value !== 'function') {
    throw new InvalidArgumentError(`subscribe needs a listener function, got ${describeValue(value)}`);
  }
  return value;
}

/** `{ after, kinds }` of subscribe (after undefined: only new events; kinds null: all kinds). */
export function validateSubscribeOptions(value: unknown): {
  after: number | undefined;
  kinds: ReadonlySet<JobEventKind> | null;
} {
  const o = validateOptionsObject(value, 'subscribe options');
  return {
    after: o.after === undefined ? undefined : validateCount(o.after, 'after'),
    kinds: validateEventKinds(o.kinds),
  };
}

const EVENT_KINDS: ReadonlySet<string> = new Set<JobEventKind>([
  'enqueued',
  'picked',
  'retried',
  'requeued',
  'completed',
  'cancelled',
  'failed',
]);

/** `kinds` of subscribe: undefined = every kind (null), else a set of known kinds. */
export function validateEventKinds(value: unknown, where = 'kinds'): ReadonlySet<JobEventKind> | null {
  if (value === undefined) return null;
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${where} must be an array of event kinds`);
  for (const kind of value) {
    if (typeof kind !== 'string' || !EVENT_KINDS.has(kind)) {
      throw new InvalidArgumentError(`${where}: unknown event kind ${describeValue(kind)}`, { field: where });
    }
  }
  return new Set(value as JobEventKind[]);
}

/** The listener of a subscription with a kinds filter: only matching events, no empty batches. */
export function filterEventKinds(
  listener: (events: readonly JobEvent[]) => void,
  kinds: ReadonlySet<JobEventKind> | null,
): (events: readonly JobEvent[]) => void {
  if (kinds === null) return listener;
  return (events) => {
    const wanted = events.filter((e) => kinds.has(e.kind));
    if (wanted.length > 0) listener(wanted);
  };
}

export function validateRetention(
  value: unknown,
  where = 'retention',
): { maxRecords?: number; maxAge?: number } {
  const o = validateOptionsObject(value, where);
  const out: { maxRecords?: number; maxAge?: number } = {};
  if (o.maxRecords !== undefined) out.maxRecords = validateCount(o.maxRecords, `${where}.maxRecords`);
  if (o.maxAge !== undefined) out.maxAge = validateCount(o.maxAge, `${where}.maxAge`);
  return out;
}

/** `scan` options: `staleAfter` ms and an optional retention. */
export function validateScanOptions(value: unknown): {
  staleAfter: number;
  retention: { maxRecords?: number; maxAge?: number };
} {
  const o = validateItem(value, 'scan options');
  return { staleAfter: validateCount(o.staleAfter, 'staleAfter'), retention: validateRetention(o.retention) };
}

/** `recover` options: `staleAfter` ms >= 0. */
export function validateRecoverOptions(value: unknown): { staleAfter: number } {
  return { staleAfter: validateCount(validateItem(value, 'recover options').staleAfter, 'staleAfter') };
}

/** `compact(retention)`: the retention object is required. */
export function validateCompactOptions(value: unknown): { maxRecords?: number; maxAge?: number } {
  return validateRetention(validateItem(value, 'retention'));
}

/** complete/retry/heartbeat options: the fencing manager id, or null (unfenced). */
export function validateFenceOptions(value: unknown): string | null {
  const id = validateOptionsObject(value, 'options').queueManagerId;
  return id === undefined ? null : validateManagerId(id);
}

/**
 * Validates one job of a batch (its payload given apart, as a codec may have encoded it), with
 * the messages `jobs[i]...`: validateNewJobs and the WASM enqueue-batch writer share it, so a batch
 * checked job by job fails exactly as a whole one does.
 */
export function validateJobAt(job: NewJob, payload: unknown, i: number, limits: Limits): ValidJob {
  return {
    entrypoint: validateEntrypoint(job.entrypoint, `jobs[${i}].entrypoint`),
    payload: validatePayload(payload, limits, `jobs[${i}].payload`),
    priority: job.priority === undefined ? 0 : validatePriority(job.priority, `jobs[${i}].priority`),
    executeAfter:
      job.executeAfter === undefined || job.executeAfter === null
        ? null
        : validateTime(job.executeAfter, `jobs[${i}].executeAfter`),
    dedupeKey: validateDedupeKey(job.dedupeKey, limits, `jobs[${i}].dedupeKey`),
    headers: validateHeaders(job.headers, limits, `jobs[${i}].headers`),
  };
}
