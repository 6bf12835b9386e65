/**
 * The durable memory queue: the WASM core (`createMemoryQueue` from @tideq/core) with its whole
 * state saved as one snapshot record in IndexedDB, and restored from it at start.
 *
 * Every call runs at memory speed; durability is periodic. A snapshot is written after every
 * `snapshotEvery` mutating calls, every `snapshotInterval` ms while anything changed, when the page
 * is hidden (`visibilitychange`) or unloaded (`pagehide`), and on `flush()` / `close()`. What was
 * done after the last completed snapshot is lost if the tab or browser dies before the next one.
 */
import {
  createMemoryQueue,
  InvalidArgumentError,
  type Limits,
  type MemoryQueueOptions,
  PORT_METHODS,
  type QueueRepository,
  StorageUnavailableError,
  type WasmQueueRepository,
} from '@tideq/core';
import { validateCount } from '@tideq/core/adapter';
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { storageError } from './indexeddb/connection.js';

/** Options of `createDurableMemoryQueue`: the IndexedDB name, when to snapshot, the WASM core's options. */
export interface DurableMemoryQueueOptions {
  /** The IndexedDB database that holds the snapshot (one durable memory queue per name and origin). */
  name: string;
  clock?: MemoryQueueOptions['clock'];
  limits?: Partial<Limits>;
  /** The core module (default: the bundled tideq_core.wasm). */
  wasm?: MemoryQueueOptions['wasm'];
  /** Save at most this long after a change, ms (default 1000; 0 = no timer). */
  snapshotInterval?: number;
  /** Save after this many mutating calls (default 1000; 0 = never by count). */
  snapshotEvery?: number;
  /** Transaction durability of the snapshot write (default 'relaxed'; see createIndexedDbQueue). */
  durability?: 'relaxed' | 'strict';
  /**
   * How long to wait for another tab or worker that holds the same queue (a Web Lock named after
   * it) before failing with STORAGE_UNAVAILABLE, ms (default 5000). A reloading page releases it
   * within milliseconds.
   */
  lockTimeout?: number;
}

/** The port plus explicit persistence. */
export interface DurableMemoryQueue extends QueueRepository {
  /** Write a snapshot now (if anything changed since the last one); resolves when it committed. */
  flush(): Promise<void>;
  /** When the last snapshot committed (epoch ms, wall clock), or null if none was written yet. */
  readonly lastSnapshotAt: number | null;
  /** The WASM repository underneath (snapshot/restore by hand, tests). */
  readonly memory: WasmQueueRepository;
}

interface SnapshotDB extends DBSchema {
  snapshots: { key: string; value: { bytes: Uint8Array; savedAt: number } };
}

const KEY = 'latest';
/** Calls that change the state (the others only read). */
const MUTATING = new Set<string>([
  'enqueue',
  'dequeue',
  'complete',
  'retry',
  'requeue',
  'heartbeat',
  'cancel',
  'clear',
  'upsertSchedules',
  'claimDueSchedules',
  'markScheduleRun',
  'deleteSchedules',
  'install',
  'upgrade',
  'uninstall',
  'recover',
  'compact',
]);

/** Hold the queue's Web Lock (where the platform has Web Locks) until the returned release is called. */
async function holdLock(name: string, timeout: number): Promise<() => void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks === undefined) return () => {};
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  try {
    await new Promise<void>((acquired, failed) => {
      locks
        .request(`tideq:durable-memory:${name}`, { signal: controller.signal }, () => {
          acquired();
          return held;
        })
        .catch(failed);
    });
  } catch (error) {
    throw new StorageUnavailableError(
      `the durable memory queue "${name}" is open in another tab or worker (its Web Lock was not released within ${timeout} ms). ` +
        'Open it in one place only (host it in a SharedWorker or a leader tab), or close the other tab and retry.',
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
  return release;
}

/** A background save failed (quota, storage gone): the state stays dirty and the next save retries. */
function reportSaveError(error: unknown): void {
  console.error('tideq: saving the durable memory queue failed; it is retried on the next save', error);
}

class DurableMemory {
  readonly memory: WasmQueueRepository;
  lastSnapshotAt: number | null = null;
  readonly #db: IDBPDatabase<SnapshotDB>;
  readonly #name: string;
  readonly #every: number;
  readonly #interval: number;
  readonly #durability: 'relaxed' | 'strict';
  readonly #release: () => void;
  #mutations = 0;
  #dirty = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #saving: Promise<void> | null = null;
  #again = false;
  #closed = false;
  /** pagehide: always; visibilitychange: when the page became hidden (it may never come back). */
  readonly #onHide = (event: Event): void => {
    if (event.type === 'pagehide' || typeof document === 'undefined' || document.visibilityState === 'hidden')
      this.#save().catch(reportSaveError);
  };

  constructor(
    memory: WasmQueueRepository,
    db: IDBPDatabase<SnapshotDB>,
    release: () => void,
    options: DurableMemoryQueueOptions,
  ) {
    this.memory = memory;
    this.#db = db;
    this.#release = release;
    this.#name = options.name;
    this.#every = options.snapshotEvery ?? 1000;
    this.#interval = options.snapshotInterval ?? 1000;
    this.#durability = options.durability ?? 'relaxed';
    if (typeof addEventListener === 'function') {
      addEventListener('pagehide', this.#onHide);
      addEventListener('visibilitychange', this.#onHide);
    }
  }

  /** After a mutating call resolved. */
  mutated(): void {
    if (this.#closed) return;
    this.#dirty = true;
    if (this.#every > 0 && ++this.#mutations >= this.#every) {
      this.#save().catch(reportSaveError);
    } else if (this.#interval > 0 && this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#save().catch(reportSaveError);
      }, this.#interval);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** Write a snapshot if anything changed; one write at a time, a request during one runs after it. */
  #save(): Promise<void> {
    if (this.#saving !== null) {
      this.#again = true;
      return this.#saving;
    }
    this.#saving = (async () => {
      try {
        do {
          this.#again = false;
          if (!this.#dirty) break;
          this.#dirty = false;
          this.#mutations = 0;
          if (this.#timer !== null) {
            clearTimeout(this.#timer);
            this.#timer = null;
          }
          // The core answers within the call: the bytes are one consistent state.
          const bytes = await this.memory.snapshot();
          try {
            const tx = this.#db.transaction('snapshots', 'readwrite', { durability: this.#durability });
            const put = tx.store.put({ bytes, savedAt: Date.now() }, KEY);
            // Commit at once: on pagehide the page may be gone before an auto-commit would happen.
            tx.commit();
            await Promise.all([put, tx.done]);
          } catch (error) {
            this.#dirty = true;
            throw storageError(error, `saving the durable memory queue "${this.#name}"`);
          }
          this.lastSnapshotAt = Date.now();
        } while (this.#again);
      } finally {
        this.#saving = null;
      }
    })();
    return this.#saving;
  }

  flush(): Promise<void> {
    return this.#save();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#save();
    } finally {
      this.#closed = true;
      if (this.#timer !== null) clearTimeout(this.#timer);
      if (typeof removeEventListener === 'function') {
        removeEventListener('pagehide', this.#onHide);
        removeEventListener('visibilitychange', this.#onHide);
      }
      this.#db.close();
      this.#release();
      await this.memory.close();
    }
  }

  /** The port, delegated to the core; mutating calls count towards the next snapshot. */
  facade(): DurableMemoryQueue {
    const queue: Record<string, unknown> = {};
    for (const method of PORT_METHODS) {
      if (method === 'close') continue;
      const call = (this.memory[method] as (...args: unknown[]) => Promise<unknown>).bind(this.memory);
      queue[method] = MUTATING.has(method)
        ? (...args: unknown[]) => {
            const result = call(...args);
            result.then(
              () => this.mutated(),
              () => {},
            );
            return result;
          }
        : call;
    }
    queue.close = () => this.close();
    queue.flush = () => this.flush();
    Object.defineProperty(queue, 'lastSnapshotAt', { get: () => this.lastSnapshotAt, enumerable: true });
    queue.memory = this.memory;
    return queue as unknown as DurableMemoryQueue;
  }
}

/**
 * A queue in memory (the WASM core) that survives reloads and browser restarts through snapshots
 * in IndexedDB: restored at start, saved periodically (see {@link DurableMemoryQueueOptions}).
 * One tab or worker at a time holds a given name (a Web Lock).
 *
 * @param options.name the IndexedDB database holding the snapshot
 * @param options.snapshotInterval save at most this many ms after a change (default 1000)
 * @param options.snapshotEvery save after this many mutating calls (default 1000)
 *
 * @example
 * const queue = await createDurableMemoryQueue({ name: 'thumbnails', snapshotInterval: 500 });
 * await queue.enqueue([{ entrypoint: 'thumbnail', payload: new TextEncoder().encode('{"id":7}') }]);
 * await queue.flush(); // or let the interval / pagehide save it
 */
export async function createDurableMemoryQueue(
  options: DurableMemoryQueueOptions,
): Promise<DurableMemoryQueue> {
  if (
    options === null ||
    typeof options !== 'object' ||
    typeof options.name !== 'string' ||
    options.name === ''
  ) {
    throw new InvalidArgumentError('createDurableMemoryQueue needs { name }: the IndexedDB database name');
  }
  if (options.snapshotInterval !== undefined) validateCount(options.snapshotInterval, 'snapshotInterval');
  if (options.snapshotEvery !== undefined) validateCount(options.snapshotEvery, 'snapshotEvery');
  const lockTimeout =
    options.lockTimeout === undefined ? 5000 : validateCount(options.lockTimeout, 'lockTimeout');
  if (typeof indexedDB === 'undefined') {
    throw new StorageUnavailableError(
      'IndexedDB is not available here: run in a browser window or worker (in Node, import "fake-indexeddb/auto" first)',
    );
  }
  const release = await holdLock(options.name, lockTimeout);
  let db: IDBPDatabase<SnapshotDB> | undefined;
  try {
    db = await openDB<SnapshotDB>(options.name, 1, {
      upgrade: (database) => {
        database.createObjectStore('snapshots');
      },
    }).catch((error: unknown) => {
      throw storageError(error, `opening the durable memory queue "${options.name}"`);
    });
    if (!db.objectStoreNames.contains('snapshots')) {
      throw new StorageUnavailableError(
        `the IndexedDB database "${options.name}" is not a durable memory queue (no "snapshots" store): pick another name`,
      );
    }
    const memory = await createMemoryQueue({
      clock: options.clock,
      limits: options.limits,
      wasm: options.wasm,
    });
    const saved = await db.get('snapshots', KEY);
    if (saved !== undefined) {
      try {
        await memory.restore(saved.bytes);
      } catch (error) {
        await memory.close();
        throw new StorageUnavailableError(
          `the saved snapshot of the durable memory queue "${options.name}" could not be restored (${(error as Error).message}). ` +
            'It is kept untouched; open it with the tideq version that wrote it, or delete the database to start empty.',
          { cause: error },
        );
      }
    }
    const durable = new DurableMemory(memory, db, release, options);
    durable.lastSnapshotAt = saved?.savedAt ?? null;
    // Saving must not stop the tab from closing: versionchange (another tab deletes the database) closes it.
    db.addEventListener('versionchange', () => db?.close());
    return durable.facade();
  } catch (error) {
    db?.close();
    release();
    throw error;
  }
}
