/**
 * HMAC-SHA256 request signatures, one implementation for every tier: outgoing deliveries sign with
 * it, webhook receivers check with `verifySignature`, and the @tideq/edge endpoint authenticates
 * `POST /jobs` with the same scheme. The signed bytes are `v1`, method, path with query, an epoch-ms
 * timestamp, then the raw body; the header is `tideq-signature: t=<ms>,v1=<hex>`. Verification goes
 * through Web Crypto's `subtle.verify`, which compares in constant time, and always tries both keys
 * (current and next) so the time does not tell which one matched.
 */
import { InvalidArgumentError, UnauthorizedError } from '../errors.js';

/** The header carrying `t=<epoch ms>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'tideq-signature';

/** The secrets a receiver accepts: `next` too while senders move to it (rotation without downtime). */
export interface SigningKeys {
  current: string;
  next?: string;
}

/** A body as it goes on the wire. */
export type SignedBody = string | Uint8Array | ArrayBuffer | null | undefined;

const encoder = new TextEncoder();
const DEFAULT_REPLAY_WINDOW = 300_000;

/** The bytes that are signed: `v1`, method, path with query, timestamp, then the raw body. */
function signedBytes(
  method: string,
  path: string,
  timestamp: number,
  body: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(`v1\n${method.toUpperCase()}\n${path}\n${timestamp}\n`);
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  return out;
}

const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    keyCache.set(secret, key);
  }
  return key;
}

function toHex(bytes: ArrayBuffer): string {
  let out = '';
  for (const b of new Uint8Array(bytes)) out += b.toString(16).padStart(2, '0');
  return out;
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | null {
  if (hex.length !== 64 || !/^[0-9a-f]+$/i.test(hex)) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** @internal */
export function bodyBytes(body: SignedBody): Uint8Array {
  if (body === null || body === undefined) return new Uint8Array(0);
  if (typeof body === 'string') return encoder.encode(body);
  return body instanceof Uint8Array ? body : new Uint8Array(body);
}

function pathOf(url: string | URL): string {
  const parsed = new URL(url, 'http://relative.invalid');
  return parsed.pathname + parsed.search;
}

/**
 * Sign a request. Sign exactly the bytes you send, and sign again for every attempt (a signature
 * is accepted once, inside the replay window). HTTP deliveries with `signing` do this for you.
 *
 * @param request method, full URL (or path with query), body, and the shared secret
 * @returns the header to add, `{ 'tideq-signature': 't=...,v1=...' }`
 * @example
 * const body = JSON.stringify({ entrypoint: 'email.send', payload: { to: 'ada@example.com' } });
 * const headers = await signRequest({ method: 'POST', url: 'https://q.example.com/jobs', body, key: SECRET });
 * await fetch('https://q.example.com/jobs', { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } });
 */
export async function signRequest(request: {
  method: string;
  url: string | URL;
  body?: SignedBody;
  key: string;
  /** Epoch ms (default: now). */
  timestamp?: number;
}): Promise<Record<string, string>> {
  if (typeof request.key !== 'string' || request.key.length === 0) {
    throw new InvalidArgumentError('signRequest needs the shared secret as a non-empty string in `key`');
  }
  const timestamp = Math.floor(request.timestamp ?? Date.now());
  const data = signedBytes(request.method, pathOf(request.url), timestamp, bodyBytes(request.body));
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(request.key), data);
  return { [SIGNATURE_HEADER]: `t=${timestamp},v1=${toHex(mac)}` };
}

/**
 * Signatures already accepted, until they leave the replay window. One per isolate or process:
 * across isolates the window bounds a replay (and a dedupe key makes a replayed enqueue store nothing).
 */
const seen = new Map<string, number>();

function alreadySeen(signature: string, now: number): boolean {
  const until = seen.get(signature);
  return until !== undefined && until >= now;
}

function remember(signature: string, until: number, now: number): void {
  if (seen.size >= 10_000) {
    for (const [sig, at] of seen) if (at < now) seen.delete(sig);
    // Still full of live entries: drop the oldest (Map keeps insertion order).
    if (seen.size >= 10_000) seen.delete(seen.keys().next().value!);
  }
  seen.set(signature, until);
}

/** What `verifySignature` checks when the request is not a `Request` object. */
export interface SignedMessage {
  method: string;
  /** The URL as received (full, or path with query). */
  url: string | URL;
  /** The `tideq-signature` header value, or null when absent. */
  signature: string | null;
  /** The raw body bytes exactly as received. */
  body?: SignedBody;
}

/** What `verifySignature` accepts: the keys, the replay window and the time. */
export interface VerifyOptions {
  /** The accepted secrets (each at least 16 characters). */
  keys: SigningKeys;
  /** A timestamp further than this many ms from now is refused (default 300000: 5 minutes). */
  replayWindowMs?: number;
  /** Epoch ms (default: now). */
  now?: number;
}

/**
 * Check a signed request as a receiver: the signature must be made with the current or the next
 * key over this method, path, timestamp and body, the timestamp inside the replay window, and the
 * signature not accepted before (in this isolate or process). Constant-time.
 *
 * @param request a `Request` (its body is read from a clone) or a {@link SignedMessage}
 * @param options keys, replay window, clock
 * @throws UnauthorizedError saying what was wrong (the request must then be refused, e.g. with 401)
 * @example
 * export default { async fetch(request, env) {
 *   try { await verifySignature(request, { keys: { current: env.WEBHOOK_KEY, next: env.WEBHOOK_KEY_NEXT } }); }
 *   catch { return new Response('bad signature', { status: 401 }); }
 *   const event = await request.json();
 *   // ...
 * } };
 */
export async function verifySignature(
  request: Request | SignedMessage,
  options: VerifyOptions,
): Promise<void> {
  const keys = options?.keys;
  const secrets = keys?.next === undefined ? [keys?.current] : [keys.current, keys.next];
  for (const k of secrets) {
    if (typeof k !== 'string' || k.length < 16)
      throw new InvalidArgumentError('each signing key must be a string of at least 16 characters');
  }
  const window = options.replayWindowMs ?? DEFAULT_REPLAY_WINDOW;
  if (!Number.isSafeInteger(window) || window < 1000) {
    throw new InvalidArgumentError('replayWindowMs must be an integer of at least 1000 ms');
  }
  const message: SignedMessage =
    typeof Request !== 'undefined' && request instanceof Request
      ? {
          method: request.method,
          url: request.url,
          signature: request.headers.get(SIGNATURE_HEADER),
          body: new Uint8Array(await request.clone().arrayBuffer()),
        }
      : (request as SignedMessage);
  if (message.signature === null || message.signature === undefined) {
    throw new UnauthorizedError(`missing ${SIGNATURE_HEADER} header`);
  }
  const now = options.now ?? Date.now();
  const match = /^t=(\d{1,16}),v1=([0-9a-fA-F]+)$/.exec(message.signature.trim());
  const mac = match === null ? null : fromHex(match[2]!);
  if (match === null || mac === null) {
    throw new UnauthorizedError(
      `malformed ${SIGNATURE_HEADER} header: expected t=<epoch ms>,v1=<64 hex digits>`,
    );
  }
  const timestamp = Number(match[1]);
  if (Math.abs(now - timestamp) > window) {
    throw new UnauthorizedError(
      `the signature's timestamp is outside the replay window of ${window} ms; sign each request anew (and check the client's clock)`,
    );
  }
  const data = signedBytes(message.method, pathOf(message.url), timestamp, bodyBytes(message.body));
  let valid = false;
  // Both keys are always tried, so the time does not tell which one matched.
  for (const secret of secrets as string[]) {
    if (await crypto.subtle.verify('HMAC', await hmacKey(secret), mac, data)) valid = true;
  }
  if (!valid) throw new UnauthorizedError('bad signature: wrong key, or the method, path or body changed');
  const signature = match[2]!.toLowerCase();
  if (alreadySeen(signature, now)) {
    throw new UnauthorizedError(
      'this signed request was already accepted once (replay); sign each request anew',
    );
  }
  remember(signature, timestamp + window, now);
}
