/** @internal `waitUntil` for long-lived servers: the work just runs; failures are logged, not lost. */
import type { WaitUntil } from '../handler.js';

export function background(): WaitUntil & { idle(): Promise<void> } {
  const pending = new Set<Promise<unknown>>();
  return {
    waitUntil(promise) {
      const tracked = promise.then(
        () => {},
        (error: unknown) => console.error('tideq edge background work failed:', error),
      );
      pending.add(tracked);
      void tracked.finally(() => pending.delete(tracked));
    },
    async idle() {
      while (pending.size > 0) await Promise.all(pending);
    },
  };
}
