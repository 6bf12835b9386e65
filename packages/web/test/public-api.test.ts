// The public names of @tideq/web and @tideq/web/worker, pinned: adding or removing an export is a
// decision, made by editing these lists (and the README), never an accident.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { publicNames } from '../../core/test/support/public-names.js';

const entry = (path: string) => fileURLToPath(new URL(path, import.meta.url));

describe('public API', () => {
  it('publishes exactly the entry points pinned below', () => {
    const manifest = JSON.parse(readFileSync(entry('../package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    expect(Object.keys(manifest.exports).sort()).toEqual(['.', './worker']);
  });

  it('@tideq/web (the page side and the stores)', async () => {
    expect(await publicNames(entry('../src/index.ts'))).toEqual({
      values: [
        'INDEXEDDB_SCHEMA_VERSION',
        'IndexedDbQueueRepository',
        'REPLAY_TAG',
        'connectQueue',
        'createDurableMemoryQueue',
        'createIndexedDbQueue',
        'installErrorHandlers',
        'requestReplay',
      ],
      types: [
        'ConnectOptions',
        'Durability',
        'DurableMemoryQueue',
        'DurableMemoryQueueOptions',
        'EnqueueJobOf',
        'HostInfo',
        'HostState',
        'HostStats',
        'IndexedDbQueueOptions',
        'NodeWorkerLike',
        'PageCodecs',
        'PayloadsOf',
        'QueueFacade',
        'QueueTarget',
        'Unsubscribe',
      ],
    });
  }, 60_000);

  it('@tideq/web/worker (the Worker side)', async () => {
    expect(await publicNames(entry('../src/worker.ts'))).toEqual({
      values: [
        'REPLAY_TAG',
        'hostQueue',
        'installErrorHandlers',
        'offlineDelivery',
        'replayOnSync',
        'whenOnline',
      ],
      types: ['HostInfo', 'HostQueueOptions', 'HostState', 'HostStats', 'QueueHost'],
    });
  }, 60_000);
});
