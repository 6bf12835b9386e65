/**
 * @tideq/edge: one fetch/scheduled handler for Cloudflare Workers, Deno, Vercel Edge, Bun and
 * Node, with signed enqueue and time-budgeted drains. Runtime adapters are subpath exports:
 * `@tideq/edge/deno`, `@tideq/edge/vercel`, `@tideq/edge/bun`, `@tideq/edge/node`.
 *
 * @module @tideq/edge
 */
export { type AuthOptions, SIGNATURE_HEADER, signRequest } from './auth.js';
export type { DrainBudget, DrainReport } from './drain.js';
export { createEdgeHandler, type EdgeHandler, type EdgeHandlerOptions, type WaitUntil } from './handler.js';
export type { ErrorBody } from './http.js';
export { type WebhookOptions, webhookDelivery } from './webhook.js';
