/**
 * Opens the store the visitor picked, inside the engine Worker.
 * - memory: the WASM core (`createMemoryQueue`): gone when the Worker dies.
 * - durable: the WASM core with snapshots in IndexedDB (`createDurableMemoryQueue` from @tideq/web),
 *   saved at most 200 ms after a change: a Worker killed in between loses what changed since.
 * - indexeddb: `createIndexedDbQueue` from @tideq/web.
 * - postgres: the dev server's queue on PostgreSQL over Neon's driver (remote-queue.ts).
 */
import { createMemoryQueue, type QueueRepository } from '@tideq/core';
import { createDurableMemoryQueue, createIndexedDbQueue } from '@tideq/web';
import type { StoreInfo, StoreKind } from '../protocol.ts';
import { createRemotePostgresQueue } from './remote-queue.ts';

export interface OpenStore {
  repo: QueueRepository;
  info: StoreInfo;
  close(): Promise<void>;
}

/** The IndexedDB database names the playground's durable stores use. */
export const DB_NAMES = { durable: 'tideq-playground-durable', indexeddb: 'tideq-playground' } as const;

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
      const repo = await createDurableMemoryQueue({ name: DB_NAMES.durable, snapshotInterval: 200 });
      return {
        repo,
        info: {
          kind,
          label: 'WASM memory queue + IndexedDB snapshots every 200 ms (@tideq/web createDurableMemoryQueue)',
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
