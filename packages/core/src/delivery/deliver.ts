/**
 * HTTP delivery as an entrypoint: one `fetch` per attempt with a timeout. 2xx succeeds; 429 and 5xx
 * retry with the entrypoint's backoff, waiting at least what `Retry-After` asks; other statuses
 * (4xx, and 1xx/3xx that fetch did not resolve) end as a dead letter recording the status and the
 * start of the response body; network errors and timeouts retry. Outcomes go through the runtime's
 * `executor` hook, so retries and dead letters are the store's own (`retry`, `failed`).
 */
import { coerceError, InvalidArgumentError, TimeoutError } from '../errors.js';
import { backoffDelay, describeError, RunningJob } from '../runtime/executor.js';
import type {
  EntrypointOptions,
  ExecutionOutcome,
  Handler,
  JobContext,
  RetryPolicy,
} from '../runtime/types.js';
import { checkRequest, type HttpRequest, httpRequestCodec, type ResolvedRequest } from './request.js';
import { signRequest } from './signing.js';

/** Options of {@link httpDelivery}. */
export interface HttpDeliveryOptions {
  /** ms one attempt may take, answer headers and recorded body included (default 30000). */
  timeout?: number;
  /** Attempts before the job becomes a dead letter (default 8). */
  maxAttempts?: number;
  /** Backoff between attempts (the runtime's policy: baseDelay 1000, factor 2, maxDelay 300000, full jitter). */
  retry?: Omit<RetryPolicy, 'retryable'>;
  /** Sign every attempt with HMAC-SHA256 (`tideq-signature` header; receivers use `verifySignature`). */
  signing?: { key: string } | false;
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * Awaited before each attempt; resolves when the network may be used. The browser hosts pass a
   * gate on `navigator.onLine`, so an offline tab or worker holds its deliveries instead of burning
   * attempts on certain network errors.
   */
  whenOnline?: (signal: AbortSignal) => Promise<void> | void;
  /** Bytes of the response body kept in a dead letter's error (default 512). */
  responseBodyBytes?: number;
  /** true (default): attempts exhausted or a permanent status -> `failed` dead letter; false -> `exception`. */
  deadLetter?: boolean;
  /** Entrypoint limits, as for any entrypoint. */
  concurrencyLimit?: number;
  requestsPerSecond?: number;
  /** A picked delivery whose worker vanished (a closed tab) is re-picked after this many ms (default 60000). */
  retryTimer?: number;
}

/** An entrypoint's options and handler: `qm.entrypoint(name, d.options, d.handler)`. */
export interface HttpDelivery {
  options: EntrypointOptions<HttpRequest>;
  handler: Handler<HttpRequest>;
}

/** The outcome of one attempt that did not succeed. */
class DeliveryFailure extends Error {
  override name = 'DeliveryFailure';
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

const textDecoder = new TextDecoder();

/** The first `limit` bytes of a body as text, then the rest of the stream released. */
async function bodyStart(response: Response, limit: number): Promise<string> {
  if (response.body === null || limit === 0) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  const text = textDecoder.decode(all.subarray(0, limit));
  return size > limit ? `${text}…` : text;
}

/** `Retry-After` as ms from now: delta-seconds or an HTTP date; null when absent or unreadable. */
function retryAfterMs(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function count(value: number | undefined, fallback: number, name: string, min = 0): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) {
    throw new InvalidArgumentError(
      `httpDelivery: ${name} must be an integer >= ${min}, got ${String(value)}`,
    );
  }
  return v;
}

/**
 * The HTTP delivery entrypoint: register it under any name, enqueue {@link HttpRequest}s.
 *
 * @param options timeout, attempts, backoff, signing, fetch, online gate, limits
 * @returns the entrypoint's options (codec, retry policy via `executor`) and handler
 * @example
 * const webhook = httpDelivery({ signing: { key: env.WEBHOOK_KEY }, maxAttempts: 10 });
 * const qm = new QueueManager(store).entrypoint('webhook', webhook.options, webhook.handler);
 * await qm.enqueue('webhook', { url: 'https://customer.example/hook', headers: { 'content-type': 'application/json' }, body: '{"event":"paid"}' });
 */
export function httpDelivery(options: HttpDeliveryOptions = {}): HttpDelivery {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('httpDelivery options must be an object');
  }
  const timeout = count(options.timeout, 30_000, 'timeout', 1);
  const maxAttempts = count(options.maxAttempts, 8, 'maxAttempts', 1);
  const keep = count(options.responseBodyBytes, 512, 'responseBodyBytes');
  const retry: Required<RetryPolicy> = {
    baseDelay: 1000,
    maxDelay: 300_000,
    factor: 2,
    jitter: 1,
    ...options.retry,
    retryable: () => true,
  };
  count(retry.baseDelay, 0, 'retry.baseDelay');
  count(retry.maxDelay, 0, 'retry.maxDelay');
  if (!(Number.isFinite(retry.factor) && retry.factor >= 1) || !(retry.jitter >= 0 && retry.jitter <= 1)) {
    throw new InvalidArgumentError(
      'httpDelivery: retry.factor must be a number >= 1 and retry.jitter in 0..1',
    );
  }
  const signing = options.signing === false ? undefined : options.signing;
  if (signing !== undefined && (typeof signing.key !== 'string' || signing.key.length < 16)) {
    throw new InvalidArgumentError('httpDelivery: signing.key must be a secret of at least 16 characters');
  }
  const deadLetter = options.deadLetter ?? true;
  const doFetch = options.fetch ?? ((request: Request) => fetch(request));
  const whenOnline = options.whenOnline;

  const handler: Handler<HttpRequest> = async (ctx: JobContext<HttpRequest>) => {
    // The codec decodes to a full request; a payload from elsewhere is checked here.
    const request: ResolvedRequest = checkRequest(ctx.payload);
    if (whenOnline !== undefined) await whenOnline(ctx.signal);
    ctx.signal.throwIfAborted();
    const headers = new Headers(request.headers);
    if (signing !== undefined) {
      const signed = await signRequest({ ...request, key: signing.key });
      for (const [name, value] of Object.entries(signed)) headers.set(name, value);
    }
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        controller.abort(
          new TimeoutError(`no answer from ${request.method} ${request.url} within ${timeout} ms`),
        ),
      timeout,
    );
    try {
      let response: Response;
      try {
        response = await doFetch(
          new Request(request.url, {
            method: request.method,
            headers,
            body: request.body as BodyInit | null,
            signal: controller.signal,
          }),
        );
      } catch (thrown) {
        // An abort by our timer surfaces as an AbortError; report the timeout itself.
        throw controller.signal.aborted ? controller.signal.reason : thrown;
      }
      const status = response.status;
      if (status >= 200 && status < 300) {
        response.body?.cancel().catch(() => {});
        return;
      }
      const text = await bodyStart(response, keep).catch(() => '');
      const permanent = status !== 429 && status < 500;
      const wait = permanent ? null : retryAfterMs(response.headers.get('retry-after'), Date.now());
      throw new DeliveryFailure(
        `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}${text ? `: ${text}` : ''}`,
        permanent,
        wait,
      );
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  };

  const executor = async (
    ctx: JobContext<HttpRequest>,
    run: () => Promise<unknown>,
  ): Promise<ExecutionOutcome> => {
    try {
      await run();
      return { status: 'successful' };
    } catch (thrown) {
      const error = coerceError(thrown);
      const message = error instanceof DeliveryFailure ? error.message : describeError(error);
      const permanent =
        error instanceof DeliveryFailure ? error.permanent : error instanceof InvalidArgumentError;
      if (permanent || ctx.attempt >= maxAttempts) {
        return { status: deadLetter ? 'failed' : 'exception', error: message };
      }
      // The manager's clock (a test's ManualClock too); any other context runs on the wall clock.
      const now = ctx instanceof RunningJob ? ctx.host.now() : Date.now();
      let delay = backoffDelay(retry, ctx.attempt);
      if (error instanceof DeliveryFailure && error.retryAfterMs !== null)
        delay = Math.max(delay, error.retryAfterMs);
      return { status: 'retry', executeAfter: now + delay, error: message };
    }
  };

  return {
    options: {
      codec: httpRequestCodec,
      maxAttempts,
      deadLetter,
      executor,
      concurrencyLimit: options.concurrencyLimit ?? 0,
      requestsPerSecond: options.requestsPerSecond ?? 0,
      retryTimer: options.retryTimer ?? 60_000,
    },
    handler,
  };
}
