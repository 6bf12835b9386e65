/**
 * Request authentication: a bearer token, or an HMAC-SHA256 signature over method, path, timestamp
 * and body, with a replay window and a current + next key (rotate without downtime: deploy the new
 * key as `next`, switch clients, then make it `current`). Verification goes through Web Crypto's
 * `subtle.verify`, which compares in constant time; bearer tokens are compared as SHA-256 digests
 * with a constant-time loop.
 */
import { InvalidArgumentError, SIGNATURE_HEADER, UnauthorizedError, verifySignature } from '@tideq/core';

// One signing implementation for every tier: @tideq/core's (outgoing deliveries sign with it too).
export { SIGNATURE_HEADER, signRequest } from '@tideq/core';

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

const encoder = new TextEncoder();

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

/** @internal Verifies requests against one set of options. */
export class Authenticator {
  readonly #auth: AuthOptions;
  readonly #window: number;
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
    // Replays are refused per isolate (core keeps the accepted signatures until they leave the window).
    await verifySignature(
      { method: request.method, url: path, signature: header, body },
      { keys, replayWindowMs: this.#window, now },
    );
  }
}
