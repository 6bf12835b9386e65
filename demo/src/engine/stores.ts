/**
 * Opens the store the visitor picked, inside the engine Worker.
 * - memory: the WASM core (`createMemoryQueue`): gone when the Worker dies.
 * - durable: the WASM core with snapshots in IndexedDB (`createDurableMemoryQueue` from @tideq/web
 *   when it is there; until then a small local stand-in over `snapshot()`/`restore()` + idb).
 * - indexeddb: `createIndexedDbQueue` from @tideq/web.
 * - postgres: the dev server's queue on PostgreSQL over Neon's driver (remote-queue.ts).
 */
import { createMemoryQueue, type QueueRepository, type WasmQueueRepository } from '@tideq/core';
import { createIndexedDbQueue } from '@tideq/web';
import { openDB } from 'idb';
import type { StoreInfo, StoreKind } from '../protocol.ts';
import { createRemotePostgresQueue } from './remote-queue.ts';

export interface OpenStore {
  repo: QueueRepository;
  info: StoreInfo;
  close(): Promise<void>;
}

/** The IndexedDB database names the playground uses (the reset button deletes them). */
export const DB_NAMES = { durable: 'tideq-playground-durable', indexeddb: 'tideq-playground' } as const;

type Factory = (options: { name: string }) => Promise<QueueRepository>;
/** @tideq/web's store factories (createDurableMemoryQueue is not there yet: the stand-in below serves). */
const web: Record<string, Factory | undefined> = {};
function webExport(name: string): Factory | null {
  return web[name] ?? null;
}

/**
 * Stand-in for @tideq/web's durable memory queue: restore the last snapshot at open, write a new
 * one at most every `intervalMs` after a change (and on close). A Worker killed between two
 * snapshots loses the changes since the last one.
 */
async function localDurableMemoryQueue(intervalMs = 200): Promise<QueueRepository> {
  const db = await openDB(DB_NAMES.durable, 1, {
    upgrade: (d) => {
      d.createObjectStore('snapshot');
    },
  });
  const repo: WasmQueueRepository = await createMemoryQueue();
  const saved = (await db.get('snapshot', 'state')) as Uint8Array | undefined;
  if (saved) await repo.restore(saved);
  let dirty = false;
  let writing = false;
  const flush = async () => {
    if (!dirty || writing) return;
    dirty = false;
    writing = true;
    try {
      await db.put('snapshot', await repo.snapshot(), 'state');
    } finally {
      writing = false;
    }
  };
  const unsubscribe = await repo.subscribe(() => {
    dirty = true;
  });
  const timer = setInterval(() => void flush(), intervalMs);
  return new Proxy(repo, {
    get(target, key, receiver) {
      if (key === 'close') {
        return async () => {
          clearInterval(timer);
          await unsubscribe();
          await flush();
          db.close();
          await target.close();
        };
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export async function openStore(kind: StoreKind, origin: string): Promise<OpenStore> {
  switch (kind) {
    case 'memory': {
      const repo = await createMemoryQueue();
      return {
        repo,
        info: { kind, label: 'WASM memory queue in this Worker', durable: false },
        close: () => repo.close(),
      };
    }
    case 'durable': {
      const official = webExport('createDurableMemoryQueue');
      const repo = official ? await official({ name: DB_NAMES.durable }) : await localDurableMemoryQueue();
      return {
        repo,
        info: {
          kind,
          label: official
            ? 'WASM memory queue + IndexedDB snapshots (@tideq/web createDurableMemoryQueue)'
            : 'WASM memory queue + IndexedDB snapshots every 200 ms (playground stand-in)',
          durable: true,
        },
        close: () => repo.close(),
      };
    }
    case 'indexeddb': {
      const repo = await createIndexedDbQueue({ name: DB_NAMES.indexeddb });
      await repo.install();
      return {
        repo,
        info: { kind, label: 'IndexedDB (@tideq/web createIndexedDbQueue)', durable: true },
        close: () => repo.close(),
      };
    }
    case 'postgres': {
      const response = await fetch(`${origin}/api/pg/info`);
      const info = (await response.json()) as { available: boolean; driver: string | null; hint: string };
      if (!info.available) throw new Error(info.hint);
      const repo = createRemotePostgresQueue(origin);
      return {
        repo,
        info: { kind, label: `PostgreSQL via ${info.driver} (dev server API)`, durable: true },
        close: () => repo.close(),
      };
    }
  }
}
