/**
 * Deno: `serveDeno(handler, options)` serves the handler with `Deno.serve`; schedule drains
 * with `Deno.cron('tideq drain', '* * * * *', () => handler.drain(env))`.
 *
 * @module @tideq/edge/deno
 */
import type { EdgeHandler } from '../handler.js';
import { background } from './background.js';

interface DenoLike {
  serve(
    options: {
      port?: number;
      hostname?: string;
      signal?: AbortSignal;
      onListen?: (addr: { port: number; hostname: string }) => void;
    },
    handler: (request: Request) => Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void> };
}

/**
 * @param handler from createEdgeHandler
 * @param options `env` given to the handler (e.g. `Deno.env.toObject()`), and Deno.serve's port, hostname, signal, onListen
 * @example serveDeno(handler, { port: 8000, env: Deno.env.toObject() });
 */
export function serveDeno<Env>(
  handler: EdgeHandler<Env>,
  options: {
    env?: Env;
    port?: number;
    hostname?: string;
    signal?: AbortSignal;
    onListen?: (addr: { port: number; hostname: string }) => void;
  } = {},
): {
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /** Stops accepting requests and waits for the ones in flight. */
  shutdown(): Promise<void>;
} {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  if (deno === undefined) throw new Error('serveDeno runs on Deno only (globalThis.Deno is missing)');
  const ctx = background();
  const { env, ...serve } = options;
  return deno.serve(serve, (request) => handler.fetch(request, env, ctx));
}
