/**
 * Node (and Bun's node:http): `toNodeListener(handler, env)` converts between node:http and
 * Request/Response; `serveNode(handler, options)` listens and returns the URL and a `close()` that
 * waits for background work.
 *
 * @module @tideq/edge/node
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { EdgeHandler, WaitUntil } from '../handler.js';
import { background } from './background.js';

/** A node:http request listener serving the handler. */
export function toNodeListener<Env>(
  handler: EdgeHandler<Env>,
  env?: Env,
  ctx: WaitUntil = background(),
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const host = req.headers.host ?? 'localhost';
    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    const request = new Request(`http://${host}${req.url ?? '/'}`, {
      method,
      headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : null,
      ...(hasBody ? { duplex: 'half' } : {}),
    } as RequestInit);
    handler
      .fetch(request, env, ctx)
      .then(async (response) => {
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(new Uint8Array(await response.arrayBuffer()));
      })
      .catch((error: unknown) => {
        console.error('tideq edge node listener:', error);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"INTERNAL","message":"internal error"}}');
      });
  };
}

/**
 * Listen on node:http.
 * @param options `env` for the handler (e.g. `process.env`), port (default 0: any free one), hostname (default 127.0.0.1)
 * @example const { url, close } = await serveNode(handler, { port: 3000, env: process.env });
 */
export async function serveNode<Env>(
  handler: EdgeHandler<Env>,
  options: { env?: Env; port?: number; hostname?: string } = {},
): Promise<{
  /** The node:http server. */
  server: Server;
  /** Its base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** Closes every connection, stops listening, then waits for the handler's background work. */
  close(): Promise<void>;
}> {
  const ctx = background();
  const server = createServer(toNodeListener(handler, options.env, ctx));
  const hostname = options.hostname ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, hostname, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    server,
    url: `http://${hostname}:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ctx.idle();
    },
  };
}
