/**
 * The request a delivery job holds, and its codec: checked when the job is enqueued (a bad method,
 * URL or header is an InvalidArgumentError before anything is stored), stored as UTF-8 JSON (a
 * binary body as base64), decoded when the job runs.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Codec } from '../runtime/types.js';

/** One HTTP request to deliver. */
export interface HttpRequest {
  /** An HTTP method token, e.g. 'POST' (default 'POST'). */
  method?: string;
  /** Absolute http: or https: URL. */
  url: string;
  /** Request headers (names are case-insensitive; values strings). */
  headers?: Record<string, string>;
  /** The body: text, or bytes (stored as base64). */
  body?: string | Uint8Array | null;
}

/** @internal The request as decoded: every field present. */
export interface ResolvedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | Uint8Array | null;
}

/** The stored form (field names short on purpose: they are in every job's payload). */
interface StoredRequest {
  m: string;
  u: string;
  h?: Record<string, string>;
  b?: string;
  b64?: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** @internal Checks a request and fills defaults; throws InvalidArgumentError naming the field. */
export function checkRequest(request: HttpRequest): ResolvedRequest {
  if (typeof request !== 'object' || request === null) {
    throw new InvalidArgumentError(
      'an HTTP delivery needs a request object { method?, url, headers?, body? }',
    );
  }
  const method = typeof request.method === 'string' ? request.method.toUpperCase() : 'POST';
  if (request.method !== undefined && (typeof request.method !== 'string' || !TOKEN.test(method))) {
    throw new InvalidArgumentError(
      `request.method must be an HTTP method such as 'POST', got ${String(request.method)}`,
    );
  }
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new InvalidArgumentError(`request.url must be an absolute URL, got ${JSON.stringify(request.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`request.url must be http: or https:, got ${url.protocol}`);
  }
  const headers: Record<string, string> = {};
  if (request.headers !== undefined) {
    if (typeof request.headers !== 'object' || request.headers === null || Array.isArray(request.headers)) {
      throw new InvalidArgumentError('request.headers must be an object of header name -> string value');
    }
    for (const [name, value] of Object.entries(request.headers)) {
      if (!TOKEN.test(name) || typeof value !== 'string' || /[\r\n\0]/.test(value)) {
        throw new InvalidArgumentError(
          `request.headers: ${JSON.stringify(name)} must be a header name with a string value without line breaks`,
        );
      }
      headers[name.toLowerCase()] = value;
    }
  }
  const body = request.body ?? null;
  if (body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new InvalidArgumentError('request.body must be a string, a Uint8Array or null');
  }
  if (body !== null && (method === 'GET' || method === 'HEAD')) {
    throw new InvalidArgumentError(`a ${method} request cannot have a body`);
  }
  return { method, url: url.href, headers, body };
}

/**
 * The codec of delivery jobs: `HttpRequest` <-> UTF-8 JSON bytes, checked on encode. It also
 * decodes a plain JSON `{ method?, url, headers?, body? }` (text body), so a delivery job can be
 * posted to an edge endpoint as an ordinary JSON payload.
 *
 * @example
 * const bytes = httpRequestCodec.encode({ url: 'https://example.com/hook', body: '{"ok":true}' });
 */
export const httpRequestCodec: Codec<HttpRequest> = {
  encode(value: HttpRequest): Uint8Array {
    const r = checkRequest(value);
    const stored: StoredRequest = { m: r.method, u: r.url };
    if (Object.keys(r.headers).length > 0) stored.h = r.headers;
    if (typeof r.body === 'string') stored.b = r.body;
    else if (r.body !== null) stored.b64 = toBase64(r.body);
    return encoder.encode(JSON.stringify(stored));
  },
  decode(bytes: Uint8Array | null): ResolvedRequest {
    if (bytes === null) throw new InvalidArgumentError('an HTTP delivery job has no payload (no request)');
    const s = JSON.parse(decoder.decode(bytes)) as StoredRequest;
    // A request posted as plain JSON (e.g. `POST /jobs` at the edge with `payload: { url, body }`).
    if (typeof s?.u !== 'string') return checkRequest(s as unknown as HttpRequest);
    return {
      method: s.m,
      url: s.u,
      headers: s.h ?? {},
      body: s.b !== undefined ? s.b : s.b64 !== undefined ? fromBase64(s.b64) : null,
    };
  },
};

/** A job for a tideq edge endpoint's `POST /jobs` (see {@link handoffRequest}). */
export interface HandoffJob {
  entrypoint: string;
  /** Any JSON value (stored by the endpoint as its JSON text). */
  payload?: unknown;
  /** Required: the endpoint stores the job once per key, however often the handoff is retried. */
  dedupeKey: string;
  priority?: number;
  executeAfter?: number | string;
  headers?: Record<string, unknown>;
}

/**
 * The request that hands a job to a tideq edge endpoint (`POST /jobs`): it carries the dedupe key
 * and asks for `onConflict: 'skip'`, so a delivery retried after a lost response stores the job
 * once. (Once per key while the server job is queued or running: a key frees up when its job ends.)
 *
 * @param endpoint the endpoint's `/jobs` URL
 * @param job the server job; `dedupeKey` required
 * @param headers extra request headers (e.g. `authorization`)
 * @example
 * await qm.enqueue('handoff', handoffRequest('https://q.example.com/jobs', { entrypoint: 'order.place', payload: order, dedupeKey: `order:${order.id}` }), { dedupeKey: `order:${order.id}` });
 */
export function handoffRequest(
  endpoint: string,
  job: HandoffJob,
  headers: Record<string, string> = {},
): HttpRequest {
  if (typeof job?.dedupeKey !== 'string' || job.dedupeKey.length === 0) {
    throw new InvalidArgumentError(
      'handoffRequest needs job.dedupeKey: without it a retried handoff could store the job twice',
    );
  }
  return {
    method: 'POST',
    url: endpoint,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ jobs: [job], onConflict: 'skip' }),
  };
}
