/**
 * Bun: `serveBun(handler, options)` serves the handler with `Bun.serve`.
 *
 * @module @tideq/edge/bun
 */
import type { EdgeHandler } from '../handler.js';
import { background } from './background.js';

interface BunLike {
  serve(options: { port?: number; hostname?: string; fetch(request: Request): Promise<Response> }): {
    port: number;
    stop(closeActiveConnections?: boolean): unknown;
  };
}

/**
 * @param handler from createEdgeHandler
 * @param options `env` given to the handler (e.g. `process.env`), port (0: any free one), hostname
 * @example const server = serveBun(handler, { port: 3000, env: process.env });
 */
export function serveBun<Env>(
  handler: EdgeHandler<Env>,
  options: { env?: Env; port?: number; hostname?: string } = {},
): {
  /** The port it listens on. */
  port: number;
  /** Stops the server (`true`: also close open connections). */
  stop(closeActiveConnections?: boolean): unknown;
} {
  const bun = (globalThis as { Bun?: BunLike }).Bun;
  if (bun === undefined)
    throw new Error('serveBun runs on Bun only (globalThis.Bun is missing); on Node use serveNode');
  const ctx = background();
  const { env, ...serve } = options;
  return bun.serve({ ...serve, fetch: (request) => handler.fetch(request, env, ctx) });
}
