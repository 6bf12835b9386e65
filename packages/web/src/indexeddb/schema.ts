/**
 * The IndexedDB layout of a tideq queue, its typed `DBSchema`, and how a database is opened,
 * created, upgraded and dropped.
 *
 * Designed for few record writes per job: in Chromium the per-record cost dominates (measured
 * here: ~0.2 ms a put on an on-disk profile whatever the record's size up to a few KB, so raw puts
 * run ~5k/s at 100 per transaction; one record listing 100 jobs costs about as much as one put):
 * - `chunks` (schema 4) holds the fresh jobs of an enqueue, one record per run of up to
 *   CHUNK_MAX_JOBS jobs (see JobChunk): enqueue puts it, dequeue leaves it alone (picks go to
 *   `leases`), a job leaving it rewrites it, and the last one deletes it. A batch of 100 jobs is
 *   three record writes in its whole life (chunk, lease, chunk delete), not 200.
 * - `jobs` holds every other held job ONCE, payload inside (retried, failed, recovered, scheduled
 *   with executeAfter, with a dedupe key): enqueue puts it, completion deletes it (a range
 *   delete of the batch). Dequeue does NOT rewrite it (schema 3): a pick is one `leases` record per
 *   transaction (manager, heartbeat, and per job its id, entrypoint, priority, attempts and chunk),
 *   and the job record keeps its queued form underneath until the job leaves that lease (see Lease).
 *   Which indexes a job is in is decided by optional key fields set only in the state that needs
 *   them (IndexedDB leaves a record out of an index when the key path is missing).
 * - everything else a call writes is one record per TRANSACTION, not per job: one `leases` record
 *   per manager picking, one `log` page with all the call's events, one `meta` record with the counters (ids, seqs, queue sizes, picked per
 *   entrypoint and manager, token buckets), one `stats` increment per touched bucket (appended,
 *   summed on read: no read-modify-write), one `statuses` page per 4096 ids touched by a terminal
 *   transition (read ahead with the jobs).
 * - index entries cost about as much as records in Chromium (measured: a put with two index
 *   entries is ~3x slower than one without), so a fresh job is in one index at a time.
 * - the calls' reads are issued together and awaited once: a round trip to the browser's storage
 *   process costs more than the records themselves on a loaded machine.
 *
 * The IndexedDB version only counts layout changes (install, upgrade, uninstall each bump it);
 * the tideq schema version lives in the `meta` record, so install/uninstall work across tabs:
 * other connections get `versionchange`, close, and reopen on their next call.
 */
import type { Job, JobEvent, JsonObject, Schedule, StatisticsRow } from '@tideq/core';
import { type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames, unwrap, wrap } from 'idb';

/** The tideq schema version this code writes and expects. */
export const INDEXEDDB_SCHEMA_VERSION = 4;

/**
 * The most jobs one chunk holds (schema 4). A job leaving a chunk rewrites it, so a finish at
 * batch 1 costs a put of up to this many jobs: big enough for a batch-100 job's life to be three
 * record writes per hundred jobs, small enough for that rewrite to stay about one put.
 */
export const CHUNK_MAX_JOBS = 128;

/**
 * A job as stored: the port's Job plus index keys present only in the matching state. A fresh job
 * enqueued without executeAfter (the common case) is in ONE index (`r`). Stored statuses are
 * `queued` and `failed` only: a picked job is its queued record plus its entry in a Lease, which
 * overrides status, attempts, heartbeat, updated and queueManagerId (its `r`/`x` keys stay: every
 * reader of those indexes passes over leased ids).
 */
export interface JobRecord extends Job {
  /** queued and due: [entrypoint, -priority, id] (dequeue order). */
  r?: [string, number, number];
  /**
   * queued with a chosen time (explicit executeAfter, retried, requeued, recovered):
   * [entrypoint, executeAfter, id]. Without `r` it is waiting to become due. Fresh jobs with the
   * default time leave it out: their executeAfter is their enqueue time, which grows with the id,
   * so nextDueAt finds their earliest as the first such job of each priority in `r`.
   */
  x?: [string, number, number];
  /** failed: the id (failedJobs). */
  f?: number;
  /** queued or picked with a dedupe key: the key (unique). */
  d?: string;
  /**
   * Set on a job read from a chunk (never stored in `jobs`): the chunk's key. Such a job is queued,
   * fresh, without a dedupe key, attempts 0; `r` is the chunk's `r`.
   */
  k?: number;
}

/**
 * Fresh jobs of one enqueue, stored as ONE record (schema 4): a run of consecutive ids with the
 * same entrypoint and priority, enqueued at `t` without executeAfter or dedupe key (the common
 * case). Dequeue reads whole chunks from the chunks' own `ready` index and leaves them untouched (the
 * picks go to leases, entries naming the chunk); a job that leaves its chunk (finished, retried,
 * failed, recovered, cancelled) rewrites the chunk without it, and the last one deletes it. So a
 * batch of 100 costs one record write at enqueue and one at completion, not 100 each: in Chromium
 * the per-record cost of IndexedDB dominates (measured ~0.2 ms a put on disk here), not the bytes.
 */
export interface JobChunk {
  /** The first id it was written with (stays its key when that job has left). */
  id: number;
  /** [entrypoint, -priority, id]: its place in dequeue order (every job in it shares it). */
  r: [string, number, number];
  /** created = executeAfter = heartbeat = updated of every job in it. */
  t: number;
  /** The ids still in it, ascending. */
  ids: number[];
  payloads: (Uint8Array | null)[];
  /** Per job, when any of them has headers. */
  headers?: (JsonObject | null)[];
}

/** One picked job in a lease: what its queued record does not say. */
export interface LeaseEntry {
  id: number;
  /** The key of the chunk the job lives in (schema 4), absent for a job in `jobs`. */
  k?: number;
  /** entrypoint and priority: enough to finish the job without reading its record. */
  e: string;
  p: number;
  /** attempts, this pick included. */
  a: number;
}

/**
 * The jobs one manager picked (or heartbeat) in one transaction, all with heartbeat = updated = `h`.
 * A job is in at most one lease; it leaves it when it is finished, retried, recovered, cancelled,
 * re-picked or heartbeat (then it moves to a new lease). An empty lease is deleted.
 */
export interface Lease {
  n: number;
  m: string;
  h: number;
  jobs: LeaseEntry[];
}

export interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** The one counters record, read and rewritten by every mutating transaction. */
export interface MetaState {
  schema: number;
  nextId: number;
  nextSeq: number;
  /** Log rows retained (compact lowers it). */
  logRows: number;
  /** queueSize counts by `entrypoint \0 status \0 priority`. */
  sizes: Map<string, number>;
  /** Picked jobs per entrypoint (concurrency limits). */
  picked: Map<string, number>;
  /** Queued jobs per entrypoint written before they were due (`x` without `r`: waiting for promotion). */
  waiting: Map<string, number>;
  /** Picked jobs per manager (maxOwned). */
  owned: Map<string, number>;
  buckets: Map<string, Bucket>;
  /**
   * Per entrypoint, a lower bound [-priority, id] of its `ready` index entries (schema 2): dequeue
   * starts its ready read there instead of at the start of the entrypoint, past the stale index
   * entries Chromium leaves behind jobs that left the index (measured: a ready read from the start
   * of the range costs ~2-3x one from the bound after a few rounds). Lowered by every job that
   * enters `ready`; raised by dequeue. Absent: read from the start.
   */
  readyFrom?: Map<string, [number, number]>;
  /** The next lease key (schema 3). */
  nextLease: number;
  /**
   * Ids below it answer jobStatus null (compaction's horizon: older than every retained log row's
   * job and every held job); their status pages are deleted. Absent: 1.
   */
  statusBase?: number;
  /** As `readyFrom`, for the chunks' `ready` index: [-priority, chunk key] (schema 4). */
  chunkFrom?: Map<string, [number, number]>;
}

/** One log page: the events of one transaction, keyed by the last seq. */
export interface LogPage {
  last: number;
  first: number;
  rows: JobEvent[];
}

export const STATUS_PAGE_SIZE = 4096;

export interface TideqDB extends DBSchema {
  jobs: {
    key: number;
    value: JobRecord;
    indexes: {
      ready: [string, number, number];
      timed: [string, number, number];
      failed: number;
      dedupe: string;
    };
  };
  log: { key: number; value: LogPage };
  meta: { key: string; value: MetaState };
  /** Statistics increments, one record per bucket and transaction (seq: its first log row); summed on read. */
  stats: { key: [number, string, string, number, number]; value: StatisticsRow & { seq: number } };
  /** Terminal statuses of jobs that left, one byte per id, pages of STATUS_PAGE_SIZE ids. */
  statuses: { key: number; value: Uint8Array };
  schedules: { key: string; value: Schedule };
  /** Picked jobs, one record per manager and transaction (schema 3). */
  leases: { key: number; value: Lease };
  /** Fresh jobs, one record per run of an enqueue (schema 4). */
  chunks: { key: number; value: JobChunk; indexes: { ready: [string, number, number] } };
}

export type Db = IDBPDatabase<TideqDB>;
export type StoreName = StoreNames<TideqDB>;
export const STORE_NAMES: readonly StoreName[] = [
  'jobs',
  'log',
  'meta',
  'stats',
  'statuses',
  'schedules',
  'leases',
  'chunks',
];
/** The stores of the first layout: present in every installed database, whatever its schema. */
const BASE_STORES: readonly StoreName[] = ['jobs', 'log', 'meta', 'stats', 'statuses', 'schedules'];
export const META_KEY = 'state';

export function freshMeta(): MetaState {
  return {
    schema: INDEXEDDB_SCHEMA_VERSION,
    nextId: 1,
    nextSeq: 1,
    logRows: 0,
    sizes: new Map(),
    picked: new Map(),
    waiting: new Map(),
    owned: new Map(),
    buckets: new Map(),
    readyFrom: new Map(),
    nextLease: 1,
    chunkFrom: new Map(),
  };
}

type UpgradeTx = IDBPTransaction<TideqDB, StoreName[], 'versionchange'>;

/** A v2 picked job as stored: status 'picked', in the `picked` index by `p`. */
type V2PickedRecord = JobRecord & { p?: [string, number, number] };

/**
 * Migrations by tideq schema version: entry i takes a store at schema i to schema i + 1 inside the
 * versionchange transaction (store/index changes, data moved only through IDB requests), updating
 * `meta` in place (written once after the last one).
 */
const MIGRATIONS: ((db: Db, tx: UpgradeTx, meta: MetaState) => Promise<void> | void)[] = [
  // 0 -> 1: the first layout.
  (db) => {
    const jobs = db.createObjectStore('jobs', { keyPath: 'id' });
    jobs.createIndex('ready', 'r');
    jobs.createIndex('timed', 'x');
    (unwrap(jobs) as IDBObjectStore).createIndex('picked', 'p'); // gone in schema 3
    jobs.createIndex('failed', 'f');
    jobs.createIndex('dedupe', 'd', { unique: true });
    db.createObjectStore('log', { keyPath: 'last' });
    db.createObjectStore('meta');
    db.createObjectStore('stats', { keyPath: ['second', 'entrypoint', 'status', 'priority', 'seq'] });
    db.createObjectStore('statuses');
    db.createObjectStore('schedules', { keyPath: 'name' });
  },
  // 1 -> 2: meta gains `readyFrom` and `pickedFrom` (no layout change). The bump makes older code in other tabs stop
  // (SchemaOutdatedError) instead of entering ready jobs below a bound it does not know about.
  () => {},
  // 2 -> 3: picks move out of the job records into `leases`. Every picked job becomes its queued
  // record (in `ready`) plus an entry in a lease of its manager and heartbeat, attempts kept; the
  // `picked` index and meta.pickedFrom go.
  async (db, tx, meta) => {
    db.createObjectStore('leases', { keyPath: 'n' });
    const jobs = tx.objectStore('jobs');
    const picked = (await wrap(
      (unwrap(jobs) as IDBObjectStore).index('picked').getAll(),
    )) as V2PickedRecord[];
    jobs.deleteIndex('picked' as 'ready');
    meta.nextLease = 1;
    delete (meta as { pickedFrom?: unknown }).pickedFrom;
    const leases = new Map<string, Lease>();
    for (const job of picked) {
      const key = `${job.queueManagerId}\0${job.heartbeat}`;
      let lease = leases.get(key);
      if (lease === undefined) {
        lease = { n: meta.nextLease++, m: job.queueManagerId!, h: job.heartbeat, jobs: [] };
        leases.set(key, lease);
      }
      lease.jobs.push({ id: job.id, e: job.entrypoint, p: job.priority, a: job.attempts });
      const record: V2PickedRecord = { ...job, status: 'queued', queueManagerId: null };
      delete record.p;
      delete record.x;
      record.r = [job.entrypoint, -job.priority, job.id];
      await jobs.put(record);
    }
    for (const lease of leases.values()) await tx.objectStore('leases').put(lease);
  },
  // 3 -> 4: fresh jobs of an enqueue go into chunks (see JobChunk). The jobs already stored stay
  // where they are: every reader looks in both stores.
  (db, _tx, meta) => {
    db.createObjectStore('chunks', { keyPath: 'id' }).createIndex('ready', 'r');
    meta.chunkFrom = new Map();
  },
];

/** What a database holds: installed (our stores and meta record) and at which tideq schema. */
export interface Installation {
  installed: boolean;
  schema: number | null;
}

export async function readInstallation(db: Db): Promise<Installation> {
  const names = db.objectStoreNames;
  if (!BASE_STORES.every((name) => names.contains(name))) return { installed: false, schema: null };
  const meta = await db.get('meta', META_KEY);
  return meta === undefined ? { installed: false, schema: null } : { installed: true, schema: meta.schema };
}

/** The layout change an upgrade transaction applies. */
export type LayoutChange = 'install' | 'uninstall';

/**
 * Apply `change` inside a versionchange transaction: install creates or migrates the stores up to
 * INDEXEDDB_SCHEMA_VERSION (and writes a fresh meta record when there was none); uninstall deletes
 * every tideq store. Awaits only IDB requests (the migrations' data moves and the meta record).
 */
export async function applyLayout(db: Db, tx: UpgradeTx, change: LayoutChange): Promise<void> {
  const drop = () => {
    for (const name of STORE_NAMES) if (db.objectStoreNames.contains(name)) db.deleteObjectStore(name);
  };
  if (change === 'uninstall') {
    drop();
    return;
  }
  const base = BASE_STORES.every((name) => db.objectStoreNames.contains(name));
  const meta = base ? await tx.objectStore('meta').get(META_KEY) : undefined;
  // A partial layout, or stores without a meta record, cannot come from us (upgrades are atomic): start over.
  if (meta === undefined) drop();
  const state = meta ?? freshMeta();
  const from = meta?.schema ?? 0;
  for (let version = from; version < INDEXEDDB_SCHEMA_VERSION; version++)
    await MIGRATIONS[version]!(db, tx, state);
  state.schema = INDEXEDDB_SCHEMA_VERSION;
  if (meta === undefined || from !== INDEXEDDB_SCHEMA_VERSION)
    await tx.objectStore('meta').put(state, META_KEY);
}
