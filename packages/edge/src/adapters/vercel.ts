/**
 * Vercel Edge: `toVercelEdge(handler)` is the route's default export, `(request, context)
 * => Response`, with the platform's `context.waitUntil` where present.
 *
 * @module @tideq/edge/vercel
 */
import type { EdgeHandler, WaitUntil } from '../handler.js';
import { background } from './background.js';

/**
 * @param handler from createEdgeHandler
 * @param env what the handler gets as `env` (default `process.env` where it exists)
 * @example export default toVercelEdge(handler); export const config = { runtime: 'edge' };
 */
export function toVercelEdge<Env>(
  handler: EdgeHandler<Env>,
  env?: Env,
): (request: Request, context?: Partial<WaitUntil>) => Promise<Response> {
  const fallback = background();
  const resolvedEnv =
    env ?? ((globalThis as { process?: { env?: unknown } }).process?.env as Env | undefined);
  return (request, context) =>
    handler.fetch(
      request,
      resolvedEnv,
      typeof context?.waitUntil === 'function' ? (context as WaitUntil) : fallback,
    );
}
