/** Default timers, the event-loop yield, and ids. */
import type { Timers } from './types.js';

/** Longest delay setTimeout honours; longer ones fire at once (Node, browsers). */
const MAX_DELAY = 2_147_483_647;

/** @internal The global setTimeout/clearTimeout (long sleeps wake early and re-check; harmless). */
export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, Math.min(ms, MAX_DELAY)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

type Resolve = () => void;

/**
 * A macrotask yield that is not clamped like setTimeout(0) (4 ms after nesting): setImmediate
 * where it exists (Node, Bun, Deno), else a MessageChannel round trip (browsers, workers, workerd).
 * Without it an in-memory store answers every dequeue in a microtask and the loop would starve
 * timers, signals and I/O (see PgQueuer's `await asyncio.sleep(0)` in its in-memory dequeue).
 */
export const yieldToEventLoop: () => Promise<void> = makeYield();

function makeYield(): () => Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const setImmediateFn = g.setImmediate;
    return () => new Promise<void>((resolve) => setImmediateFn(resolve));
  }
  if (typeof MessageChannel === 'function') {
    // One channel per burst of yields, closed when none is waiting: an open port would keep
    // runtimes such as Deno from exiting.
    let channel: MessageChannel | null = null;
    const waiting: Resolve[] = [];
    const onMessage = (): void => {
      const resolve = waiting.shift();
      if (waiting.length === 0 && channel !== null) {
        channel.port1.close();
        channel = null;
      }
      resolve?.();
    };
    return () =>
      new Promise<void>((resolve) => {
        if (channel === null) {
          channel = new MessageChannel();
          channel.port1.onmessage = onMessage;
        }
        waiting.push(resolve);
        channel.port2.postMessage(null);
      });
  }
  return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
}

/** @internal A random id for managers and schedulers. */
export function randomId(prefix: string): string {
  const c = globalThis.crypto as Crypto | undefined;
  const rand = c?.randomUUID ? c.randomUUID().slice(0, 8) : Math.random().toString(16).slice(2, 10);
  return `${prefix}-${rand}`;
}
