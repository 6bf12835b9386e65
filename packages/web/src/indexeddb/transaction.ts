/**
 * One call's transaction and its bookkeeping: every status change of a job goes through
 * `leave` (out of the counters and lease of its old status) and `enter` (stored with the index keys
 * of its new status, put in this call's lease, or deleted), every transition writes one log row
 * (`record`), and `finish` writes the per-transaction records (leases, log page, statistics
 * increments, status pages, counters).
 * See schema.ts for why the layout looks the way it does.
 */
import {
  type CompletionStatus,
  isTerminalStatus,
  type Job,
  type JobEvent,
  type JobEventKind,
  type JobStatus,
  type StatisticsRow,
} from '@tideq/core';
import { type IDBPTransaction, unwrap } from 'idb';
import {
  CHUNK_MAX_JOBS,
  type JobChunk,
  type JobRecord,
  type Lease,
  type LeaseEntry,
  type LogPage,
  META_KEY,
  type MetaState,
  STATUS_PAGE_SIZE,
  type StoreName,
  type TideqDB,
} from './schema.js';

export type Tx = IDBPTransaction<TideqDB, StoreName[], 'readwrite' | 'readonly'>;

export const STATUS_CODES: Record<JobStatus, number> = {
  queued: 1,
  picked: 2,
  successful: 3,
  exception: 4,
  canceled: 5,
  deleted: 6,
  failed: 7,
};
export const STATUS_BY_CODE: (JobStatus | null)[] = [
  null,
  'queued',
  'picked',
  'successful',
  'exception',
  'canceled',
  'deleted',
  'failed',
];
export const HELD_STATUS_ORDER: Record<string, number> = { queued: 0, picked: 1, failed: 2 };
/** An array key sorts after every number and string key: the upper end of `[entrypoint, …]` ranges. */
export const HIGH: [] = [];

export function before(a: Job, b: Job): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.id < b.id);
}
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** A fenced call (a manager id) touches only jobs picked and held by that manager; unfenced: any. */
export const holds = (job: Job, fence: string | null): boolean =>
  fence === null || (job.status === 'picked' && job.queueManagerId === fence);
export const byId = (a: { id: number }, b: { id: number }): number => a.id - b.id;

export function add(map: Map<string, number>, key: string, delta: number): void {
  const value = (map.get(key) ?? 0) + delta;
  if (value === 0) map.delete(key);
  else map.set(key, value);
}

export function copyJob(r: JobRecord): Job {
  return {
    id: r.id,
    entrypoint: r.entrypoint,
    payload: r.payload,
    priority: r.priority,
    executeAfter: r.executeAfter,
    dedupeKey: r.dedupeKey,
    headers: r.headers,
    status: r.status,
    attempts: r.attempts,
    heartbeat: r.heartbeat,
    created: r.created,
    updated: r.updated,
    queueManagerId: r.queueManagerId,
    lastError: r.lastError,
  };
}

export function eventKind(status: CompletionStatus): JobEventKind {
  return status === 'failed' ? 'failed' : status === 'canceled' ? 'cancelled' : 'completed';
}

/** Which log rows a retention keeps: the newest `maxRecords`, none older than `now - maxAge`. */
export function keeps(total: number, retention: { maxRecords?: number; maxAge?: number }, now: number) {
  const keepFrom = retention.maxRecords === undefined ? 0 : Math.max(0, total - retention.maxRecords);
  const oldestAt = retention.maxAge === undefined ? Number.NEGATIVE_INFINITY : now - retention.maxAge;
  return (row: JobEvent, index: number): boolean => index >= keepFrom && row.at >= oldestAt;
}

/**
 * The record of a queued or failed job, with the index keys of its status (see JobRecord);
 * `fresh`: enqueued at `now` without an executeAfter.
 */
export function storedRecord(job: Job, fresh: boolean, now: number): JobRecord {
  const record: JobRecord = copyJob(job as JobRecord);
  if (job.status === 'queued') {
    if (!fresh) record.x = [job.entrypoint, job.executeAfter, job.id];
    if (job.executeAfter <= now) record.r = [job.entrypoint, -job.priority, job.id];
    if (job.dedupeKey !== null) record.d = job.dedupeKey;
  } else if (job.status === 'failed') {
    record.f = job.id;
  }
  return record;
}

/** A chunk read in a call, and the ids that left it in that call. */
interface ChunkState {
  chunk: JobChunk;
  gone: Set<number>;
}

/** Position `i` of a chunk as a job record (queued, fresh, attempts 0), `k` naming the chunk. */
export function jobFromChunk(chunk: JobChunk, i: number): JobRecord {
  const t = chunk.t;
  return {
    id: chunk.ids[i]!,
    entrypoint: chunk.r[0],
    payload: chunk.payloads[i] ?? null,
    priority: 0 - chunk.r[1],
    executeAfter: t,
    dedupeKey: null,
    headers: chunk.headers?.[i] ?? null,
    status: 'queued',
    attempts: 0,
    heartbeat: t,
    created: t,
    updated: t,
    queueManagerId: null,
    lastError: null,
    r: chunk.r,
    k: chunk.id,
  };
}

/** What one call works with: its transaction, `now`, the counters and what it wrote. */
export class StoreTx {
  readonly tx: Tx;
  readonly now: number;
  /** 0 on the call's first transaction, then 1, 2... when it runs again. */
  attempt = 0;
  meta = undefined as unknown as MetaState;
  /**
   * Resolves (and sets `meta`) when the counters record has been read. Bodies that issue their own
   * reads first and await this after them pay one round trip for all of them (the repository's `prefetch`).
   */
  metaReady = undefined as unknown as Promise<MetaState>;
  metaDirty = false;
  /** Status pages read ahead (complete/cancel know their ids up front). */
  readonly pages = new Map<number, Promise<Uint8Array | undefined>>();
  /** Ids of jobs that left the store in this call (deleted in runs at the end). */
  readonly removed: number[] = [];
  readonly events: JobEvent[] = [];
  /** statistics increments by `second \0 entrypoint \0 status \0 priority`. */
  readonly stats = new Map<string, StatisticsRow>();
  /** terminal statuses by page: offset -> status code. */
  readonly statuses = new Map<number, Map<number, number>>();
  /** Records by the metrics rules that are not log rows (heartbeats, schedule rows). */
  records = 0;
  /** Jobs stored by enqueue (their bytes are counted after the commit). */
  readonly stored: Job[] = [];
  /** Counting to do once the transaction committed. */
  after?: () => void;
  /** Picked jobs by id (every lease, read once per call: see loadLeases). */
  #leases: Promise<Map<number, [Lease, LeaseEntry]>> | undefined;
  #leased: Map<number, [Lease, LeaseEntry]> | undefined;
  /** Leases that lost jobs in this call, and the jobs they lost. */
  readonly #shrunk = new Map<Lease, Set<number>>();
  /** This call's new leases, by manager. */
  readonly #newLeases = new Map<string, Lease>();
  readonly #raws = new Map<StoreName, IDBObjectStore>();
  /** Chunks read in this call, by key, and the ids that left each (rewritten by `finish`). */
  readonly #chunks = new Map<number, ChunkState | null>();
  /** Where each job of a registered chunk is: [its chunk, its position]. */
  readonly #inChunk = new Map<number, [ChunkState, number]>();
  /** Contiguous reads of the jobs store: their lengths, and each read job's [read, position]. */
  readonly #scans: number[] = [];
  readonly #position = new Map<number, [number, number]>();

  constructor(tx: Tx, now: number) {
    this.tx = tx;
    this.now = now;
  }

  #raw(store: StoreName): IDBObjectStore {
    let raw = this.#raws.get(store);
    if (raw === undefined) {
      raw = unwrap(this.tx.objectStore(store)) as IDBObjectStore;
      this.#raws.set(store, raw);
    }
    return raw;
  }

  /** Fire-and-forget write: a failure aborts the transaction, which `tx.done` reports. */
  put(store: StoreName, value: unknown, key?: IDBValidKey): void {
    this.#raw(store).put(value, key);
  }

  delete(store: StoreName, key: IDBValidKey | IDBKeyRange): void {
    this.#raw(store).delete(key);
  }

  /**
   * Issue the read of every lease (once per call; the call's scope must include `leases`). Awaited
   * with the call's other reads: picked jobs are few next to held ones (a manager holds at most
   * maxOwned), and a lease lists up to a whole dequeue batch in one record.
   */
  loadLeases(): Promise<Map<number, [Lease, LeaseEntry]>> {
    if (this.#leases === undefined) {
      this.#leases = this.tx
        .objectStore('leases')
        .getAll()
        .then((leases) => {
          const byId = new Map<number, [Lease, LeaseEntry]>();
          for (const lease of leases) for (const entry of lease.jobs) byId.set(entry.id, [lease, entry]);
          this.#leased = byId;
          return byId;
        });
      this.#leases.catch(() => {});
    }
    return this.#leases;
  }

  /** The lease entry of a picked job (loadLeases must have resolved). */
  leaseOf(id: number): [Lease, LeaseEntry] | undefined {
    return this.#leased!.get(id);
  }

  /** Every picked job's lease entry (loadLeases must have resolved). */
  leased(): Map<number, [Lease, LeaseEntry]> {
    return this.#leased!;
  }

  /**
   * A picked job as its lease knows it, for transitions that need no more than that (terminal
   * completion, heartbeat): payload, headers and the rest of the record are NOT filled in.
   */
  leasedJob(id: number): JobRecord | undefined {
    const held = this.#leased!.get(id);
    if (held === undefined) return undefined;
    const [lease, entry] = held;
    return {
      id,
      entrypoint: entry.e,
      priority: entry.p,
      status: 'picked',
      attempts: entry.a,
      heartbeat: lease.h,
      updated: lease.h,
      queueManagerId: lease.m,
      ...(entry.k === undefined ? {} : { k: entry.k }),
    } as JobRecord;
  }

  /** The job as it is: its stored record, with the lease's fields when it is picked. */
  overlay(record: JobRecord): JobRecord {
    const held = this.#leased!.get(record.id);
    if (held === undefined) return record;
    const [lease, entry] = held;
    return {
      ...record,
      status: 'picked',
      attempts: entry.a,
      heartbeat: lease.h,
      updated: lease.h,
      queueManagerId: lease.m,
    };
  }

  /** The per-transaction records: leases, log page, statistics buckets, status pages, counters. */
  async finish(): Promise<void> {
    for (const [lease, gone] of this.#shrunk) {
      const jobs = lease.jobs.filter((entry) => !gone.has(entry.id));
      if (jobs.length === 0) this.delete('leases', lease.n);
      else this.put('leases', { ...lease, jobs });
    }
    for (const lease of this.#newLeases.values()) {
      if (lease.jobs.length === 0) continue;
      lease.n = this.meta.nextLease++;
      this.metaDirty = true;
      this.put('leases', lease);
    }
    for (const state of this.#chunks.values()) {
      if (state === null || state.gone.size === 0) continue;
      const { chunk, gone } = state;
      const keep = chunk.ids.map((id) => !gone.has(id));
      const ids = chunk.ids.filter((_, i) => keep[i]);
      if (ids.length === 0) {
        this.delete('chunks', chunk.id);
        continue;
      }
      const rest: JobChunk = { ...chunk, ids, payloads: chunk.payloads.filter((_, i) => keep[i]) };
      if (chunk.headers !== undefined) rest.headers = chunk.headers.filter((_, i) => keep[i]);
      this.put('chunks', rest);
    }
    if (this.events.length > 0) {
      const page: LogPage = { first: this.events[0]!.seq, last: this.events.at(-1)!.seq, rows: this.events };
      this.put('log', page);
      this.meta.logRows += this.events.length;
      this.metaDirty = true;
    }
    if (this.removed.length > 0) {
      // Runs with no other held job between them go as one range delete: Chromium deletes a range
      // many times faster than the same records one by one (measured ~6x for a 100-job complete).
      // Jobs finish out of order, so a run may span ids whose jobs left the store earlier.
      const ids = this.removed.sort((a, b) => a - b);
      let start = 0;
      for (let i = 1; i <= ids.length; i++) {
        if (i < ids.length && this.#adjacent(ids[i - 1]!, ids[i]!)) continue;
        this.delete('jobs', i - start === 1 ? ids[start]! : IDBKeyRange.bound(ids[start]!, ids[i - 1]!));
        start = i;
      }
    }
    // Statistics are appended per transaction (no read-modify-write); statistics() sums them.
    const seq = this.events[0]?.seq ?? this.meta.nextSeq;
    for (const row of this.stats.values()) this.put('stats', { ...row, seq });
    if (this.statuses.size > 0) {
      const store = this.tx.objectStore('statuses');
      const pages = [...this.statuses.keys()];
      const existing = await Promise.all(pages.map((p) => this.pages.get(p) ?? store.get(p)));
      pages.forEach((pageNo, i) => {
        const page = existing[i] ?? new Uint8Array(STATUS_PAGE_SIZE);
        for (const [offset, code] of this.statuses.get(pageNo)!) page[offset] = code;
        this.put('statuses', page, pageNo);
      });
    }
    if (this.metaDirty) this.put('meta', this.meta, META_KEY);
  }

  // ---- bookkeeping: every status change goes through leave, then enter -------------------------

  /** Take a held job out of the counters of its current status. */
  leave(job: JobRecord): void {
    const m = this.meta;
    this.metaDirty = true;
    add(m.sizes, `${job.entrypoint}\0${job.status}\0${job.priority}`, -1);
    if (job.status === 'queued') {
      if (job.x !== undefined && job.r === undefined) add(m.waiting, job.entrypoint, -1);
    } else if (job.status === 'picked') {
      add(m.picked, job.entrypoint, -1);
      add(m.owned, job.queueManagerId!, -1);
      const held = this.#leased?.get(job.id);
      if (held !== undefined) {
        const [lease, entry] = held;
        this.#leased!.delete(job.id);
        if (lease.n === 0) {
          // A lease of this call (not stored yet).
          lease.jobs.splice(lease.jobs.indexOf(entry), 1);
        } else {
          let gone = this.#shrunk.get(lease);
          if (gone === undefined) this.#shrunk.set(lease, (gone = new Set()));
          gone.add(job.id);
        }
      }
    }
  }

  /**
   * Store a job in its (new) status with the index keys of that status; terminal ones leave the
   * store; picked ones go into this call's lease of their manager, their record untouched (it is
   * the queued record they were picked from). `fresh`: enqueued now without an executeAfter (see
   * JobRecord.x).
   */
  enter(job: Job, fresh = false, written = false): void {
    const m = this.meta;
    this.metaDirty = true;
    if (isTerminalStatus(job.status) || job.status === 'failed') this.#countStatistics(job);
    const chunk = (job as JobRecord).k;
    // A job leaves its chunk for any status but picked (which only adds it to a lease).
    if (chunk !== undefined && job.status !== 'picked' && !written) {
      this.#leaveChunk(chunk, job.id);
      delete (job as JobRecord).k;
    }
    if (isTerminalStatus(job.status)) {
      if (chunk === undefined) this.removed.push(job.id);
      const pageNo = Math.floor(job.id / STATUS_PAGE_SIZE);
      let page = this.statuses.get(pageNo);
      if (page === undefined) this.statuses.set(pageNo, (page = new Map()));
      page.set(job.id % STATUS_PAGE_SIZE, STATUS_CODES[job.status]);
      return;
    }
    add(m.sizes, `${job.entrypoint}\0${job.status}\0${job.priority}`, 1);
    if (job.status === 'picked') {
      add(m.picked, job.entrypoint, 1);
      add(m.owned, job.queueManagerId!, 1);
      this.#pick(job);
      return;
    }
    if (job.status === 'queued') {
      if (job.executeAfter <= this.now) {
        // Keep dequeue's lower bound at or below every ready entry (a chunk's entry is its key).
        const bounds = written && chunk !== undefined ? m.chunkFrom : m.readyFrom;
        const key = written && chunk !== undefined ? chunk : job.id;
        const from = bounds?.get(job.entrypoint);
        if (from !== undefined && (-job.priority < from[0] || (-job.priority === from[0] && key < from[1])))
          bounds!.set(job.entrypoint, [-job.priority, key]);
      } else add(m.waiting, job.entrypoint, 1);
    }
    // `written`: enqueue already put the record (storedRecord) before the counters arrived.
    if (!written) this.put('jobs', storedRecord(job, fresh, this.now));
  }

  /**
   * Put the records of new jobs (ids consecutive in `jobs` order): runs of two or more fresh jobs
   * without a dedupe key, one entrypoint and priority, as chunks (setting their `k`); every other
   * job as its own record. Then `enter(job, fresh, true)` each.
   */
  storeNew(jobs: readonly Job[], fresh: readonly boolean[]): void {
    const chunkable = (i: number) => fresh[i]! && jobs[i]!.dedupeKey === null;
    for (let i = 0; i < jobs.length; ) {
      const first = jobs[i]!;
      let end = i + 1;
      if (chunkable(i))
        while (
          end < jobs.length &&
          end - i < CHUNK_MAX_JOBS &&
          chunkable(end) &&
          jobs[end]!.entrypoint === first.entrypoint &&
          jobs[end]!.priority === first.priority &&
          jobs[end]!.id === jobs[end - 1]!.id + 1
        )
          end++;
      if (end - i === 1) {
        this.put('jobs', storedRecord(first, fresh[i]!, this.now));
        i = end;
        continue;
      }
      const run = jobs.slice(i, end);
      const chunk: JobChunk = {
        id: first.id,
        r: [first.entrypoint, -first.priority, first.id],
        t: first.created,
        ids: run.map((job) => job.id),
        payloads: run.map((job) => job.payload),
      };
      if (run.some((job) => job.headers !== null)) chunk.headers = run.map((job) => job.headers);
      this.put('chunks', chunk);
      for (const job of run) (job as JobRecord).k = first.id;
      i = end;
    }
  }

  /** Put a picked job (heartbeat = now) into this call's lease of its manager. */
  #pick(job: Job): void {
    const manager = job.queueManagerId!;
    let lease = this.#newLeases.get(manager);
    if (lease === undefined) {
      lease = { n: 0, m: manager, h: this.now, jobs: [] };
      this.#newLeases.set(manager, lease);
    }
    const entry: LeaseEntry = { id: job.id, e: job.entrypoint, p: job.priority, a: job.attempts };
    const chunk = (job as JobRecord).k;
    if (chunk !== undefined) entry.k = chunk;
    lease.jobs.push(entry);
    this.#leased?.set(job.id, [lease, entry]);
  }

  /** A picked job's heartbeat is now: it moves to this call's lease of its manager. */
  refresh(job: Job): void {
    this.leave(job);
    job.heartbeat = this.now;
    job.updated = this.now;
    this.enter(job);
  }

  #countStatistics(job: Job): void {
    const second = Math.floor(this.now / 1000) * 1000;
    const key = `${second}\0${job.entrypoint}\0${job.status}\0${job.priority}`;
    const row = this.stats.get(key);
    if (row === undefined) {
      this.stats.set(key, {
        entrypoint: job.entrypoint,
        status: job.status as CompletionStatus,
        priority: job.priority,
        second,
        count: 1,
      });
    } else {
      row.count++;
    }
  }

  record(job: Job, kind: JobEventKind, queueManagerId: string | null, error: string | null): void {
    const row: JobEvent = Object.freeze({
      seq: this.meta.nextSeq++,
      kind,
      jobId: job.id,
      entrypoint: job.entrypoint,
      priority: job.priority,
      status: job.status,
      at: this.now,
      queueManagerId,
      error,
    });
    this.metaDirty = true;
    this.events.push(row);
  }

  /**
   * The held jobs of `ids` (undefined where none), from `jobs` and from the chunks holding them. Ids
   * of one batch are mostly close together: one ranged getAll then costs a fraction of a get per id
   * (measured 4x faster at 100 ids in Chromium).
   */
  async getJobs(ids: readonly number[]): Promise<(JobRecord | undefined)[]> {
    const [records] = await Promise.all([this.#getRecords(ids), this.readChunks(ids), this.loadLeases()]);
    return records.map((record, i) => {
      const job = record ?? this.chunkJob(ids[i]!);
      return job === undefined ? undefined : this.overlay(job);
    });
  }

  // ---- chunks (see JobChunk) --------------------------------------------------------------------

  /** Note a chunk read in this call (the first read of a key wins) and return the jobs still in it. */
  register(chunk: JobChunk): JobRecord[] {
    let state = this.#chunks.get(chunk.id);
    if (state === undefined || state === null) {
      state = { chunk, gone: new Set() };
      this.#chunks.set(chunk.id, state);
      for (let i = 0; i < chunk.ids.length; i++) this.#inChunk.set(chunk.ids[i]!, [state, i]);
    }
    const jobs: JobRecord[] = [];
    for (let i = 0; i < state.chunk.ids.length; i++)
      if (!state.gone.has(state.chunk.ids[i]!)) jobs.push(jobFromChunk(state.chunk, i));
    return jobs;
  }

  /** A job of a chunk read in this call, as a fresh record (undefined if none holds it, or it left). */
  chunkJob(id: number): JobRecord | undefined {
    const found = this.#inChunk.get(id);
    if (found === undefined || found[0].gone.has(id)) return undefined;
    return jobFromChunk(found[0].chunk, found[1]);
  }

  /**
   * Read the chunks that may hold any of `ids`, in one round trip. A chunk's ids were consecutive
   * when it was written and it holds at most CHUNK_MAX_JOBS, so only a chunk keyed within
   * CHUNK_MAX_JOBS - 1 below an id can hold it: one ranged read covers ids close together, one
   * read per id the others.
   */
  async readChunks(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    const store = this.tx.objectStore('chunks');
    const holders = (lo: number, hi: number) =>
      store.getAll(IDBKeyRange.bound(Math.max(0, lo - (CHUNK_MAX_JOBS - 1)), hi));
    let lo = ids[0]!;
    let hi = lo;
    for (const id of ids) {
      if (id < lo) lo = id;
      if (id > hi) hi = id;
    }
    const reads =
      hi - lo < ids.length * 4 + 16 ? [holders(lo, hi)] : [...new Set(ids)].map((id) => holders(id, id));
    for (const chunks of await Promise.all(reads)) for (const chunk of chunks) this.register(chunk);
  }

  /** Read the chunks of these keys that this call has not read yet (picked jobs' lease entries name them). */
  async loadChunks(keys: Iterable<number>): Promise<void> {
    const missing = [...new Set(keys)].filter((key) => !this.#chunks.has(key));
    if (missing.length === 0) return;
    const store = this.tx.objectStore('chunks');
    const chunks = await Promise.all(missing.map((key) => store.get(key)));
    chunks.forEach((chunk, i) => {
      if (chunk === undefined) this.#chunks.set(missing[i]!, null);
      else this.register(chunk);
    });
  }

  /** A job leaves its chunk: `finish` rewrites the chunk without it, or deletes the chunk. */
  #leaveChunk(key: number, id: number): void {
    const state = this.#chunks.get(key);
    if (state === undefined)
      throw new Error(`tideq bug: chunk ${key} of job ${id} was not read in this call`);
    state?.gone.add(id);
  }

  async #getRecords(ids: readonly number[]): Promise<(JobRecord | undefined)[]> {
    const store = this.tx.objectStore('jobs');
    if (ids.length === 0) return [];
    let lo = ids[0]!;
    let hi = lo;
    for (const id of ids) {
      if (id < lo) lo = id;
      if (id > hi) hi = id;
    }
    if (ids.length > 2 && hi - lo < ids.length * 4 + 16) {
      const found = new Map<number, JobRecord>();
      const records = await store.getAll(IDBKeyRange.bound(lo, hi));
      for (const job of records) found.set(job.id, job);
      this.scanned(records);
      // Each position gets its own copy: a repeated id must not see an earlier position's change.
      return ids.map((id) => {
        const job = found.get(id);
        return job === undefined ? undefined : { ...job };
      });
    }
    return Promise.all(ids.map((id) => store.get(id)));
  }

  /**
   * Records read as one contiguous key range (every held job between the first and the last):
   * lets `finish` delete across ids whose jobs already left the store.
   */
  scanned(records: readonly { id: number }[] | readonly number[]): void {
    const scan = this.#scans.length;
    this.#scans.push(records.length);
    records.forEach((job, index) => {
      this.#position.set(typeof job === 'number' ? job : job.id, [scan, index]);
    });
  }

  /**
   * Read the ids held between the lowest and highest of `ids` when they are close together (keys
   * only), so `finish` can delete them as ranges without reading the records.
   */
  readIdRange(ids: readonly number[]): Promise<void> {
    if (ids.length < 3) return Promise.resolve();
    let lo = ids[0]!;
    let hi = lo;
    for (const id of ids) {
      if (id < lo) lo = id;
      if (id > hi) hi = id;
    }
    if (hi - lo >= ids.length * 4 + 16) return Promise.resolve();
    return this.tx
      .objectStore('jobs')
      .getAllKeys(IDBKeyRange.bound(lo, hi))
      .then((keys) => this.scanned(keys));
  }

  /** Whether no held job lies strictly between ids a < b (known from a contiguous read). */
  #adjacent(a: number, b: number): boolean {
    if (b === a + 1) return true;
    const pa = this.#position.get(a);
    const pb = this.#position.get(b);
    return pa !== undefined && pb !== undefined && pa[0] === pb[0] && pb[1] === pa[1] + 1;
  }

  /** Read ahead the status pages that terminal transitions of these ids will update. */
  prefetchPages(ids: readonly number[]): void {
    const store = this.tx.objectStore('statuses');
    for (const id of ids) {
      const pageNo = Math.floor(id / STATUS_PAGE_SIZE);
      if (!this.pages.has(pageNo)) {
        const page = store.get(pageNo);
        page.catch(() => {});
        this.pages.set(pageNo, page);
      }
    }
  }

  /** A held job leaves the store as canceled/deleted; the event names its holder, if any. */
  remove(job: JobRecord, status: 'canceled' | 'deleted'): void {
    const holder = job.queueManagerId;
    this.leave(job);
    job.status = status;
    job.updated = this.now;
    job.queueManagerId = null;
    this.enter(job);
    this.record(job, eventKind(status), holder, null);
  }
}
