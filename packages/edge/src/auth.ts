/**
 * Request authentication: a bearer token, or an HMAC-SHA256 signature over method, path, timestamp
 * and body, with a replay window and a current + next key (rotate without downtime: deploy the new
 * key as `next`, switch clients, then make it `current`). Verification goes through Web Crypto's
 * `subtle.verify`, which compares in constant time; bearer tokens are compared as SHA-256 digests
 * with a constant-time loop.
 */
import { InvalidArgumentError, UnauthorizedError } from '@tideq/core';

/** Who may call the enqueue, cancel and drain routes (and reads, unless `publicReads`). */
export interface AuthOptions {
  /** Accepted `Authorization: Bearer <token>` values. */
  tokens?: readonly string[];
  /** HMAC-SHA256 secrets: `next` is accepted too while clients move to it. */
  signingKeys?: { current: string; next?: string };
  /** A signature older or newer than this many ms is refused (default 300000: 5 minutes). */
  replayWindowMs?: number;
  /** GET /jobs/:id without credentials (default false). GET /health is always public. */
  publicReads?: boolean;
}

/** The header carrying `t=<epoch ms>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'tideq-signature';

const encoder = new TextEncoder();

/** The bytes that are signed: `v1`, method, path with query, timestamp, then the raw body. */
function signedBytes(method: string, path: string, timestamp: number, body: Uint8Array): Uint8Array {
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

function asBytes(body: string | Uint8Array | ArrayBuffer | null | undefined): Uint8Array {
  if (body === null || body === undefined) return new Uint8Array(0);
  if (typeof body === 'string') return encoder.encode(body);
  return body instanceof Uint8Array ? body : new Uint8Array(body);
}

/**
 * Sign a request for a tideq edge endpoint. Sign exactly the bytes you send, and sign again for
 * every retry (a signature is accepted once, inside the replay window).
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
  body?: string | Uint8Array | ArrayBuffer | null;
  key: string;
  /** Epoch ms (default: now). */
  timestamp?: number;
}): Promise<Record<string, string>> {
  if (typeof request.key !== 'string' || request.key.length === 0) {
    throw new InvalidArgumentError('signRequest needs the shared secret as a non-empty string in `key`');
  }
  const url = new URL(request.url, 'http://relative.invalid');
  const timestamp = Math.floor(request.timestamp ?? Date.now());
  const mac = await crypto.subtle.sign(
    'HMAC',
    await hmacKey(request.key),
    signedBytes(
      request.method,
      url.pathname + url.search,
      timestamp,
      asBytes(request.body),
    ) as Uint8Array<ArrayBuffer>,
  );
  return { [SIGNATURE_HEADER]: `t=${timestamp},v1=${toHex(mac)}` };
}

/** Checks the options once, at handler creation or on first use. */
export function checkAuthOptions(auth: AuthOptions): void {
  const tokens = auth.tokens ?? [];
  const keys = auth.signingKeys;
  if (tokens.length === 0 && keys === undefined) {
    throw new InvalidArgumentError('auth needs bearer `tokens` or `signingKeys` (or both)');
  }
  for (const t of tokens) {
    if (typeof t !== 'string' || t.length < 16)
      throw new InvalidArgumentError('each bearer token must be a string of at least 16 characters');
  }
  if (keys !== undefined) {
    for (const k of [keys.current, ...(keys.next === undefined ? [] : [keys.next])]) {
      if (typeof k !== 'string' || k.length < 16)
        throw new InvalidArgumentError('each signing key must be a string of at least 16 characters');
    }
  }
  const window = auth.replayWindowMs ?? 300_000;
  if (!Number.isSafeInteger(window) || window < 1000) {
    throw new InvalidArgumentError('replayWindowMs must be an integer of at least 1000 ms');
  }
}

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value)));
}

/** Constant-time over the digests: the time does not depend on where the strings differ. */
async function tokenMatches(given: string, expected: readonly Uint8Array[]): Promise<boolean> {
  const g = await digest(given);
  let matched = false;
  for (const t of expected) {
    let diff = 0;
    for (let i = 0; i < t.length; i++) diff |= t[i]! ^ g[i]!;
    matched = matched || diff === 0;
  }
  return matched;
}

/**
 * Signatures already accepted, until they leave the replay window. Per isolate: across isolates
 * the window bounds a replay, and a dedupe key makes a replayed enqueue store nothing.
 */
class SeenSignatures {
  readonly #expiry = new Map<string, number>();
  has(signature: string, now: number): boolean {
    const until = this.#expiry.get(signature);
    return until !== undefined && until >= now;
  }
  add(signature: string, until: number, now: number): void {
    if (this.#expiry.size >= 10_000) {
      for (const [sig, at] of this.#expiry) if (at < now) this.#expiry.delete(sig);
      // Still full of live entries: drop the oldest (Map keeps insertion order).
      if (this.#expiry.size >= 10_000) this.#expiry.delete(this.#expiry.keys().next().value!);
    }
    this.#expiry.set(signature, until);
  }
}

/** @internal Verifies requests against one set of options. */
export class Authenticator {
  readonly #auth: AuthOptions;
  readonly #window: number;
  readonly #seen = new SeenSignatures();
  /** Digests of the accepted tokens, computed once. */
  #tokenDigests: Promise<Uint8Array[]> | undefined;

  constructor(auth: AuthOptions) {
    checkAuthOptions(auth);
    this.#auth = auth;
    this.#window = auth.replayWindowMs ?? 300_000;
  }

  get publicReads(): boolean {
    return this.#auth.publicReads === true;
  }

  /** Throws UnauthorizedError unless the request carries a valid token or signature. */
  async verify(request: Request, path: string, body: Uint8Array, now: number): Promise<void> {
    const authorization = request.headers.get('authorization');
    const tokens = this.#auth.tokens ?? [];
    if (authorization !== null && /^bearer /i.test(authorization) && tokens.length > 0) {
      this.#tokenDigests ??= Promise.all(tokens.map(digest));
      if (await tokenMatches(authorization.slice(7).trim(), await this.#tokenDigests)) return;
      throw new UnauthorizedError('the bearer token is not accepted');
    }
    const header = request.headers.get(SIGNATURE_HEADER);
    const keys = this.#auth.signingKeys;
    if (header === null || keys === undefined) {
      const ways = [
        tokens.length > 0 ? 'Authorization: Bearer <token>' : null,
        keys !== undefined ? `a ${SIGNATURE_HEADER} header (signRequest from @tideq/edge)` : null,
      ];
      throw new UnauthorizedError(`missing credentials: send ${ways.filter((w) => w !== null).join(' or ')}`);
    }
    const match = /^t=(\d{1,16}),v1=([0-9a-fA-F]+)$/.exec(header.trim());
    const mac = match === null ? null : fromHex(match[2]!);
    if (match === null || mac === null) {
      throw new UnauthorizedError(
        `malformed ${SIGNATURE_HEADER} header: expected t=<epoch ms>,v1=<64 hex digits>`,
      );
    }
    const timestamp = Number(match[1]);
    if (Math.abs(now - timestamp) > this.#window) {
      throw new UnauthorizedError(
        `the signature's timestamp is outside the replay window of ${this.#window} ms; sign each request anew (and check the client's clock)`,
      );
    }
    const data = signedBytes(request.method, path, timestamp, body) as Uint8Array<ArrayBuffer>;
    const secrets = keys.next === undefined ? [keys.current] : [keys.current, keys.next];
    let valid = false;
    // Both keys are always tried, so the time does not tell which one matched.
    for (const secret of secrets) {
      if (await crypto.subtle.verify('HMAC', await hmacKey(secret), mac, data)) valid = true;
    }
    if (!valid) throw new UnauthorizedError('bad signature: wrong key, or the method, path or body changed');
    const signature = match[2]!.toLowerCase();
    if (this.#seen.has(signature, now)) {
      throw new UnauthorizedError(
        'this signed request was already accepted once (replay); sign each request anew',
      );
    }
    this.#seen.add(signature, timestamp + this.#window, now);
  }
}
