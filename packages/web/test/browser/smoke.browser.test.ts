import { createMemoryQueue } from '@tideq/core';
import { describe, expect, it } from 'vitest';

describe('browser test harness', () => {
  it('runs in real Chromium with IndexedDB and the WASM core', async () => {
    expect(navigator.userAgent).toContain('Chrome');
    expect(typeof indexedDB.open).toBe('function');
    const queue = await createMemoryQueue();
    const ids = await queue.enqueue([{ entrypoint: 'smoke', payload: new Uint8Array([1, 2, 3]) }]);
    expect(ids).toHaveLength(1);
  });
});
