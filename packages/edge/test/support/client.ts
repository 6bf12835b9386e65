/** Real HTTP requests to a running endpoint, with a bearer token or a signature. */
import { signRequest } from '@tideq/edge';

export interface CallOptions {
  body?: unknown;
  raw?: string | Uint8Array;
  contentType?: string;
  token?: string;
  key?: string;
  timestamp?: number;
  /** Sign for this path instead of the one requested. */
  signedPath?: string;
  /** Change the body after signing (a tampered request). */
  tamper?: (body: string) => string;
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON came back
  body: any;
  headers: Headers;
}

export async function call(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const url = `${base}${path}`;
  let body: string | Uint8Array | undefined =
    options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.key !== undefined) {
    Object.assign(
      headers,
      await signRequest({
        method,
        url: options.signedPath === undefined ? url : `${base}${options.signedPath}`,
        body,
        key: options.key,
        timestamp: options.timestamp,
      }),
    );
  }
  if (options.tamper !== undefined && typeof body === 'string') body = options.tamper(body);
  const response = await fetch(url, { method, headers, body: body as BodyInit | undefined });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed, headers: response.headers };
}
