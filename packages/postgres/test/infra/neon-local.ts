/**
 * Local stand-ins for the two pieces of Neon's proxy the serverless driver talks to, in front of
 * the local PostgreSQL server. The driver itself is the real @neondatabase/serverless.
 * - WebSocket-to-TCP: the driver sends the Postgres wire protocol over a WebSocket to
 *   `<proxy>/v2?address=host:port`; we pipe the frames to a TCP socket and back.
 * - HTTP SQL endpoint (`neon()`): POST /sql with {query, params} or {queries: [...]} and the
 *   Neon-* headers; answers rows as arrays of raw text plus field type OIDs, which the driver
 *   parses itself; errors as HTTP 400 with the Postgres error fields.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import pg from 'pg';
import { WebSocketServer } from 'ws';

export interface Stoppable {
  port: number;
  close(): Promise<void>;
}

export async function startWsProxy(): Promise<Stoppable> {
  // ws refuses messages over 100 MiB by default; the driver sends a statement's Bind as one
  // message, so allow what PostgreSQL itself accepts (1 GiB).
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    maxPayload: 1024 * 1024 * 1024,
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws, req) => {
    const address = new URL(req.url ?? '/', 'http://x').searchParams.get('address') ?? '';
    const [host, port] = address.split(':');
    const socket = connect({ host, port: Number(port) });
    socket.setNoDelay(true);
    const pending: Buffer[] = [];
    let open = false;
    socket.on('connect', () => {
      open = true;
      for (const chunk of pending.splice(0)) socket.write(chunk);
    });
    ws.on('message', (data: Buffer) => {
      if (open) socket.write(data);
      else pending.push(data);
    });
    socket.on('data', (chunk) => ws.send(chunk));
    socket.on('close', () => ws.close());
    socket.on('error', () => ws.terminate());
    ws.on('close', () => socket.destroy());
    ws.on('error', () => socket.destroy());
  });
  const port = (wss.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

// Raw text for every type: the Neon driver parses by OID on its side.
const rawTypes = { getTypeParser: () => (value: string) => value };

function fieldsOf(result: pg.QueryResult) {
  return result.fields.map((f) => ({
    name: f.name,
    dataTypeID: f.dataTypeID,
    tableID: f.tableID,
    columnID: f.columnID,
    dataTypeSize: f.dataTypeSize,
    dataTypeModifier: f.dataTypeModifier,
    format: f.format,
  }));
}

function toNeonResult(result: pg.QueryResult) {
  return {
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    rowAsArray: true,
    fields: fieldsOf(result),
  };
}

function errorBody(error: unknown) {
  const e = error as Record<string, unknown>;
  const body: Record<string, unknown> = { message: String(e.message ?? error) };
  for (const key of [
    'code',
    'detail',
    'hint',
    'position',
    'schema',
    'table',
    'column',
    'dataType',
    'constraint',
    'severity',
    'where',
  ]) {
    if (e[key] !== undefined) body[key] = e[key];
  }
  return body;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `defaultPort`: the driver's poolQueryViaFetch sends the connection string without a port. */
export async function startHttpEndpoint(defaultPort: number): Promise<Stoppable> {
  const pools = new Map<string, pg.Pool>();
  const poolFor = (connectionString: string): pg.Pool => {
    const url = new URL(connectionString);
    if (url.port === '') url.port = String(defaultPort);
    if (url.password === 'null') url.password = '';
    url.hostname = '127.0.0.1';
    const key = url.toString();
    let pool = pools.get(key);
    if (!pool) {
      pool = new pg.Pool({ connectionString: key, max: 8 });
      pool.on('error', () => {});
      pools.set(key, pool);
    }
    return pool;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method !== 'POST' || !req.url?.startsWith('/sql')) return send(404, { message: 'not found' });
      const connectionString = req.headers['neon-connection-string'];
      if (typeof connectionString !== 'string')
        return send(400, { message: 'missing Neon-Connection-String header' });
      const body = JSON.parse(await readBody(req)) as
        | { query: string; params?: unknown[] }
        | { queries: { query: string; params?: unknown[] }[] };
      const pool = poolFor(connectionString);
      if ('queries' in body) {
        const client = await pool.connect();
        try {
          const iso = req.headers['neon-batch-isolation-level'];
          const readOnly = req.headers['neon-batch-read-only'] === 'true';
          await client.query(
            `BEGIN${typeof iso === 'string' ? ` ISOLATION LEVEL ${iso.replaceAll('_', ' ').replace(/[^A-Za-z ]/g, '')}` : ''}${readOnly ? ' READ ONLY' : ''}`,
          );
          const results = [];
          for (const q of body.queries) {
            results.push(
              toNeonResult(
                await client.query({ text: q.query, values: q.params, rowMode: 'array', types: rawTypes }),
              ),
            );
          }
          await client.query('COMMIT');
          client.release();
          return send(200, { results });
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          client.release();
          return send(400, errorBody(error));
        }
      }
      const result = await pool.query({
        text: body.query,
        values: body.params,
        rowMode: 'array',
        types: rawTypes,
      });
      return send(200, toNeonResult(result));
    } catch (error) {
      return send(400, errorBody(error));
    }
  };
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  // A batch of large payloads is a slow request on a loaded machine: no request deadline, and
  // keep-alive sockets outlive the client's pause between requests (a socket closed by the
  // server as the client reuses it fails the next request with EPIPE).
  server.requestTimeout = 0;
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...pools.values()].map((p) => p.end()));
    },
  };
}
