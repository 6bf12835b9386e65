/**
 * The dev server's small API (a Vite plugin, on the dev and the preview server alike):
 *   GET  /api/pg/info     whether PostgreSQL is configured and through which driver
 *   POST /api/pg/call     { method, args } -> { result } | { error: TideqErrorJSON }: one port method
 *   GET  /api/pg/events   Server-Sent Events: the store's job events (`?after=seq` replays the log first)
 * Bytes travel as { $bytes: base64 } (src/wire.ts). The server listens on 127.0.0.1 only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTideqError, type JobEvent } from '@tideq/core';
import type { Plugin } from 'vite';
import type { PostgresInfo } from '../src/protocol.ts';
import { decodeWire, encodeWire, REMOTE_METHODS } from '../src/wire.ts';
import type { PostgresBackend } from './postgres.ts';

type Next = (error?: unknown) => void;
type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body);
}

const methods = new Set<string>(REMOTE_METHODS);

export function playgroundApi(options: { postgres: PostgresBackend | null; hint: string }): Plugin {
  const pg = options.postgres;
  const clients = new Set<(events: readonly JobEvent[]) => void>();
  let subscribed: Promise<unknown> | null = null;
  const ensureSubscribed = () => {
    subscribed ??= pg!.repo.subscribe((events) => {
      for (const client of clients) client(events);
    });
    return subscribed;
  };

  const events = async (req: IncomingMessage, res: ServerResponse) => {
    await ensureSubscribed();
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const write = (list: readonly JobEvent[]) => res.write(`event: events\ndata: ${encodeWire(list)}\n\n`);
    // Live events are buffered while the log replays, then sent past the replayed seq: none lost, none twice.
    let replaying = true;
    let lastSeq = 0;
    const buffered: JobEvent[] = [];
    const client = (list: readonly JobEvent[]) => {
      if (replaying) buffered.push(...list);
      else write(list);
    };
    clients.add(client);
    req.on('close', () => clients.delete(client));
    const after = new URL(req.url ?? '/', 'http://x').searchParams.get('after');
    if (after !== null) {
      lastSeq = Number(after);
      for (;;) {
        const page = await pg!.repo.log({ after: lastSeq, limit: 1_000 });
        if (page.length === 0) break;
        write(page);
        lastSeq = page.at(-1)!.seq;
      }
      const rest = buffered.filter((e) => e.seq > lastSeq);
      if (rest.length > 0) write(rest);
    } else if (buffered.length > 0) write(buffered);
    replaying = false;
    res.write('event: ready\ndata: {}\n\n');
  };

  const call = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const { method, args } = decodeWire<{ method: string; args: unknown[] }>(await readBody(req));
      if (!methods.has(method) || !Array.isArray(args)) {
        return send(
          res,
          400,
          encodeWire({
            error: {
              name: 'InvalidArgumentError',
              code: 'INVALID_ARGUMENT',
              message: `unknown method ${method}`,
            },
          }),
        );
      }
      const fn = (pg!.repo as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!;
      const result = await fn.apply(pg!.repo, args);
      send(res, 200, encodeWire({ result: result ?? null }));
    } catch (error) {
      const json = isTideqError(error)
        ? error.toJSON()
        : {
            name: 'StorageUnavailableError',
            code: 'STORAGE_UNAVAILABLE',
            message: String((error as Error)?.message ?? error),
          };
      send(res, isTideqError(error) ? error.httpStatus : 503, encodeWire({ error: json }));
    }
  };

  const middleware: Middleware = (req, res, next) => {
    const path = (req.url ?? '').split('?')[0];
    if (!path?.startsWith('/api/')) return next();
    if (path === '/api/pg/info' && req.method === 'GET') {
      const info: PostgresInfo = pg
        ? { available: true, driver: pg.driver, database: pg.database, hint: null }
        : { available: false, driver: null, database: null, hint: options.hint };
      return send(res, 200, JSON.stringify(info));
    }
    if (!pg)
      return send(
        res,
        503,
        encodeWire({
          error: { name: 'DriverMisconfiguredError', code: 'DRIVER_MISCONFIGURED', message: options.hint },
        }),
      );
    if (path === '/api/pg/call' && req.method === 'POST') return void call(req, res);
    if (path === '/api/pg/events' && req.method === 'GET') {
      return void events(req, res).catch((error: unknown) => {
        res.destroy(error as Error);
      });
    }
    send(res, 404, JSON.stringify({ message: 'not found' }));
  };

  return {
    name: 'tideq-playground-api',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
  };
}
