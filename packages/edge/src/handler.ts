/**
 * createEdgeHandler: one Web-standard `fetch(request, env, ctx)` plus `scheduled(controller, env,
 * ctx)`, in the Cloudflare module-worker shape; the adapters in ./adapters fit it to Deno.serve,
 * Vercel Edge, Bun.serve and node:http.
 */
import {
  InvalidArgumentError,
  type QueueManager,
  type QueueRepository,
  StorageUnavailableError,
  TideqError,
} from '@tideq/core';
import { Authenticator, type AuthOptions } from './auth.js';
import { type DrainBudget, type DrainReport, drainPass, resolveBudget } from './drain.js';
import { errorResponse, httpError, json, readBody } from './http.js';
import { parseJobs } from './jobs.js';

/** The part of a platform's execution context the handler uses (Workers, Vercel Edge). */
export interface WaitUntil {
  /** Keeps the isolate alive until `promise` settles (work after the response: closing a store, a drain). */
  waitUntil(promise: Promise<unknown>): void;
}

// biome-ignore lint/suspicious/noExplicitAny: any registry of entrypoints
type AnyManager = QueueManager<any>;

/** Options of `createEdgeHandler`: the store, the manager, authentication, the drain budget. */
export interface EdgeHandlerOptions<Env = unknown> {
  /**
   * The queue. A store or a promise of one is kept for the isolate; a function gets the first
   * request's `env` and its store is kept too, unless `storePerRequest` is set.
   */
  store:
    | QueueRepository
    | Promise<QueueRepository>
    | ((env: Env) => QueueRepository | Promise<QueueRepository>);
  /**
   * Call the `store` function for every request and close its store after the response (through
   * `waitUntil`). Needed where a connection cannot outlive a request: the Neon WebSocket Pool in
   * Cloudflare Workers. Neon HTTP and the memory queue need it not.
   */
  storePerRequest?: boolean;
  /**
   * Builds the QueueManager whose handlers run the jobs; called for each drain (a fresh manager per
   * pass) and once per store to learn the entrypoints POST /jobs accepts.
   */
  manager: (store: QueueRepository, env: Env) => AnyManager;
  /** Credentials for POST /jobs, DELETE /jobs/:id, POST /drain (and GET /jobs/:id unless publicReads). */
  auth: AuthOptions | ((env: Env) => AuthOptions);
  limits?: {
    /** Largest request body, bytes (default 1048576); more is a 413 before anything is parsed. */
    maxBodyBytes?: number;
    /** Most jobs in one POST /jobs (default 1000). */
    maxJobsPerRequest?: number;
  };
  /** Time budget of each drain (POST /drain and `scheduled`). */
  budget?: DrainBudget;
  /** Prefix of every route, e.g. '/api/queue' (default none). */
  basePath?: string;
}

/** What `createEdgeHandler` returns: a module worker (`export default`) that also drains on demand. */
export interface EdgeHandler<Env = unknown> {
  /** Serves the routes; `ctx.waitUntil` closes a per-request store after the response. */
  fetch(request: Request, env?: Env, ctx?: WaitUntil): Promise<Response>;
  /** A cron tick: one budgeted drain, kept alive with `ctx.waitUntil`; rejects if the drain failed. */
  scheduled(controller: unknown, env?: Env, ctx?: WaitUntil): Promise<void>;
  /** One budgeted drain, for hosts with their own timers (Deno.cron, setInterval). */
  drain(env?: Env, ctx?: WaitUntil): Promise<DrainReport>;
}

/**
 * One handler for every edge runtime: authenticated enqueue, status, cancel and budgeted drains.
 *
 * @param options store, manager factory, auth, limits, drain budget
 * @example
 * import wasm from '@tideq/core/tideq_core.wasm'; // a WebAssembly.Module in workerd
 * import { createMemoryQueue, QueueManager } from '@tideq/core';
 * import { createEdgeHandler } from '@tideq/edge';
 *
 * export default createEdgeHandler<{ TIDEQ_KEY: string }>({
 *   store: createMemoryQueue({ wasm }),
 *   manager: (store) => new QueueManager(store).entrypoint('email.send', { retryTimer: 30_000 }, async ({ payload }) => {}),
 *   auth: (env) => ({ signingKeys: { current: env.TIDEQ_KEY } }),
 *   budget: { ms: 20_000 },
 * });
 */
export function createEdgeHandler<Env = unknown>(options: EdgeHandlerOptions<Env>): EdgeHandler<Env> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('createEdgeHandler needs options');
  if (typeof options.manager !== 'function') {
    throw new InvalidArgumentError('options.manager must be a function (store, env) => QueueManager');
  }
  if (options.storePerRequest && typeof options.store !== 'function') {
    throw new InvalidArgumentError('storePerRequest needs options.store to be a function (env) => store');
  }
  const maxBodyBytes = positive(options.limits?.maxBodyBytes ?? 1 << 20, 'limits.maxBodyBytes');
  const maxJobs = positive(options.limits?.maxJobsPerRequest ?? 1000, 'limits.maxJobsPerRequest');
  const budget = resolveBudget(options.budget);
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const staticAuth = typeof options.auth === 'function' ? null : new Authenticator(options.auth);
  const authByEnv = new WeakMap<object, Authenticator>();
  const names = new WeakMap<QueueRepository, Set<string>>();
  let shared: Promise<QueueRepository> | undefined;
  if (typeof options.store === 'object' && options.store !== null && 'then' in options.store) {
    // A store promise made at module scope may reject before the first request: keep it handled
    // here; each request then answers 503 with its reason.
    shared = Promise.resolve(options.store);
    shared.catch(() => {});
  }

  const authFor = (env: Env | undefined): Authenticator => {
    if (staticAuth !== null) return staticAuth;
    const key = (typeof env === 'object' && env !== null ? env : authByEnv) as object;
    let auth = authByEnv.get(key);
    if (auth === undefined) {
      try {
        auth = new Authenticator((options.auth as (env: Env) => AuthOptions)(env as Env));
      } catch (error) {
        // The deployment's fault, not the client's: a 500 for the client, the reason in the log.
        throw new Error(`auth options built from env are invalid: ${(error as Error).message}`, {
          cause: error,
        });
      }
      authByEnv.set(key, auth);
    }
    return auth;
  };

  const open = async (env: Env | undefined): Promise<{ store: QueueRepository; perRequest: boolean }> => {
    const source = options.store;
    try {
      if (options.storePerRequest) {
        return { store: await (source as (env: Env) => QueueRepository)(env as Env), perRequest: true };
      }
      shared ??= Promise.resolve(typeof source === 'function' ? source(env as Env) : source).catch(
        (error: unknown) => {
          if (typeof source === 'function') shared = undefined; // the next request tries again
          throw error;
        },
      );
      return { store: await shared, perRequest: false };
    } catch (error) {
      // Whatever the reason (a stale .wasm, a bad URL), the client sees a store it cannot use.
      if (error instanceof TideqError && error.httpStatus === 503) throw error;
      throw new StorageUnavailableError(
        `the store could not be opened: ${String((error as Error)?.message ?? error)}`,
        {
          cause: error,
        },
      );
    }
  };

  const entrypointsOf = (store: QueueRepository, env: Env | undefined): Set<string> => {
    let set = names.get(store);
    if (set === undefined) {
      set = new Set(Object.keys(options.manager(store, env as Env).stats()));
      names.set(store, set);
    }
    return set;
  };

  /** Runs `body` with a store, closing a per-request store afterwards (kept alive by waitUntil). */
  const withStore = async <T>(
    env: Env | undefined,
    ctx: WaitUntil | undefined,
    body: (store: QueueRepository) => Promise<T>,
  ) => {
    const { store, perRequest } = await open(env);
    try {
      return await body(store);
    } finally {
      if (perRequest) {
        const closing = store.close().catch(() => {});
        if (ctx !== undefined) ctx.waitUntil(closing);
      }
    }
  };

  const drain = (env?: Env, ctx?: WaitUntil): Promise<DrainReport> =>
    withStore(env, ctx, (store) => drainPass(store, options.manager(store, env as Env), budget));

  const route = async (
    request: Request,
    env: Env | undefined,
    ctx: WaitUntil | undefined,
  ): Promise<Response> => {
    const url = new URL(request.url);
    if (basePath !== '' && !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) {
      return httpError(404, 'NOT_FOUND', `no route ${url.pathname}`);
    }
    const path = url.pathname.slice(basePath.length) || '/';
    const method = request.method.toUpperCase();
    const signedPath = url.pathname + url.search;

    if (path === '/health') {
      if (method !== 'GET') return notAllowed('GET');
      return withStore(env, ctx, async (store) => {
        const report = await store.verify();
        if (!report.current) {
          return httpError(
            503,
            report.installed ? 'SCHEMA_OUTDATED' : 'NOT_INSTALLED',
            report.problems.join('; '),
          );
        }
        return json(200, { ok: true, store: { version: report.version } });
      });
    }
    if (path === '/jobs') {
      if (method !== 'POST') return notAllowed('POST');
      const body = await readBody(request, maxBodyBytes);
      await authFor(env).verify(request, signedPath, body, Date.now());
      const parsed = parseJobs(body, request.headers.get('content-type'), url.searchParams, maxJobs);
      return withStore(env, ctx, async (store) => {
        const known = entrypointsOf(store, env);
        const unknown = parsed.jobs.find((job) => !known.has(job.entrypoint));
        if (unknown !== undefined) {
          const error = new InvalidArgumentError(
            `unknown entrypoint ${JSON.stringify(unknown.entrypoint)}: this endpoint runs ${[...known].join(', ') || 'none'}; nothing was stored`,
            { entrypoint: unknown.entrypoint },
          );
          return errorResponse(error, 422);
        }
        try {
          const ids = await store.enqueue(parsed.jobs, { onConflict: parsed.onConflict });
          return json(201, { ids });
        } catch (error) {
          // The store refused a value (priority, dedupe key, headers, ...): the request was well formed.
          if (error instanceof InvalidArgumentError) return errorResponse(error, 422);
          throw error;
        }
      });
    }
    if (path === '/drain') {
      if (method !== 'POST') return notAllowed('POST');
      const body = await readBody(request, maxBodyBytes);
      await authFor(env).verify(request, signedPath, body, Date.now());
      return json(200, await drain(env, ctx));
    }
    const match = /^\/jobs\/([^/]+)$/.exec(path);
    if (match !== null) {
      if (method !== 'GET' && method !== 'DELETE') return notAllowed('GET, DELETE');
      const body = await readBody(request, maxBodyBytes);
      const auth = authFor(env);
      if (method === 'DELETE' || !auth.publicReads) await auth.verify(request, signedPath, body, Date.now());
      const id = Number(match[1]);
      if (!/^[1-9]\d{0,15}$/.test(match[1]!) || !Number.isSafeInteger(id)) {
        throw new InvalidArgumentError(`job id must be a positive integer, got ${JSON.stringify(match[1])}`);
      }
      return withStore(env, ctx, async (store) => {
        if (method === 'DELETE') {
          const [cancelled] = await store.cancel([id]);
          const [status] = await store.jobStatus([id]);
          if (status === null || status === undefined) return httpError(404, 'NOT_FOUND', `no job ${id}`);
          return json(200, { id, cancelled: cancelled === true, status });
        }
        const [status] = await store.jobStatus([id]);
        if (status === null || status === undefined) return httpError(404, 'NOT_FOUND', `no job ${id}`);
        // While the store holds the job (queued, picked, failed): its attempts and last error too.
        const [job] =
          status === 'queued' || status === 'picked' || status === 'failed' ? await store.getJobs([id]) : [];
        if (job === null || job === undefined) return json(200, { id, status });
        return json(200, {
          id,
          status,
          entrypoint: job.entrypoint,
          attempts: job.attempts,
          lastError: job.lastError,
        });
      });
    }
    return httpError(404, 'NOT_FOUND', `no route ${method} ${url.pathname}`);
  };

  return {
    async fetch(request, env, ctx) {
      try {
        return await route(request, env, ctx);
      } catch (error) {
        if (!(error instanceof TideqError)) console.error('tideq edge handler:', error);
        return errorResponse(error);
      }
    },
    async scheduled(_controller, env, ctx) {
      const pass = drain(env, ctx);
      ctx?.waitUntil(pass);
      await pass;
    },
    drain,
  };
}

function notAllowed(allow: string): Response {
  const response = httpError(405, 'METHOD_NOT_ALLOWED', `use ${allow}`);
  response.headers.set('allow', allow);
  return response;
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(`${name} must be a positive integer`);
  return value;
}
