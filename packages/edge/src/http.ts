/**
 * JSON responses, the error body `{ "error": { "code", "message", "details"? } }`, and reading a
 * request body under a size limit (Content-Length is checked first, the stream is counted too:
 * a chunked body has none).
 */
import { PayloadTooLargeError, TideqError } from '@tideq/core';

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function json(status: number, body: unknown, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/**
 * An answer for anything thrown: a TideqError renders itself (its `httpStatus`, or `status` when
 * the edge knows better, e.g. 422 for a job the store refused); anything else is a 500 that does
 * not leak its message.
 */
export function errorResponse(error: unknown, status?: number): Response {
  if (error instanceof TideqError) {
    const { code, message, details } = error.toJSON();
    const body: ErrorBody = { error: { code, message } };
    if (details !== undefined) body.error.details = details;
    return json(status ?? error.httpStatus, body);
  }
  return json(500, { error: { code: 'INTERNAL', message: 'internal error; see the server log' } });
}

/** An error of the HTTP layer itself (no route, wrong method): not a TideqError code. */
export function httpError(status: number, code: string, message: string): Response {
  return json(status, { error: { code, message } } satisfies ErrorBody);
}

/** The whole body as bytes, or PayloadTooLargeError beyond `limit` bytes (before reading it all). */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(Number(declared), limit);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(size, limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(size: number, limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `request body of ${size}+ bytes is over the limit of ${limit} bytes; send smaller batches or raise limits.maxBodyBytes`,
    { limit },
  );
}
