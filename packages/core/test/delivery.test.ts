// HTTP delivery on the WASM memory queue against a real node:http server on 127.0.0.1: statuses,
// attempts, Retry-After, dead letters, timeouts, network errors, signatures.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createMemoryQueue,
  handoffRequest,
  httpDelivery,
  httpRequestCodec,
  InvalidArgumentError,
  QueueManager,
  type QueueManagerEvents,
  SIGNATURE_HEADER,
  signRequest,
  UnauthorizedError,
  verifySignature,
} from '@tideq/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KEY_OLD = 'old-secret-0000000000';
const KEY_CURRENT = 'current-secret-111111111';
const KEY_NEXT = 'next-secret-2222222222222';

interface Hit {
  path: string;
  at: number;
  body: string;
  verified: string | null;
}

let server: Server;
let base: string;
const hits: Hit[] = [];
const respondedAt = new Map<string, number>();
const hanging: ServerResponse[] = [];

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = req.url ?? '/';
    const seen = hits.filter((h) => h.path === path).length;
    const hit: Hit = { path, at: Date.now(), body: body.toString(), verified: null };
    if (path.startsWith('/signed')) {
      try {
        await verifySignature(
          {
            method: req.method!,
            url: path,
            signature: (req.headers[SIGNATURE_HEADER] as string | undefined) ?? null,
            body,
          },
          { keys: { current: KEY_CURRENT, next: KEY_NEXT } },
        );
        hit.verified = 'ok';
      } catch (e) {
        hit.verified = (e as Error).message;
      }
    }
    hits.push(hit);
    const end = (status: number, text: string, headers: Record<string, string> = {}): void => {
      respondedAt.set(`${path}#${seen}`, Date.now());
      res.writeHead(status, headers).end(text);
    };
    if (path === '/ok') end(200, 'fine');
    else if (path === '/busy') seen === 0 ? end(429, 'slow down', { 'retry-after': '1' }) : end(200, 'ok');
    else if (path === '/flaky') seen === 0 ? end(500, 'oops') : end(204, '');
    else if (path === '/missing') end(404, `no such hook: ${'x'.repeat(2000)}`);
    else if (path === '/hang') hanging.push(res);
    else if (path.startsWith('/signed')) end(hit.verified === 'ok' ? 200 : 401, hit.verified ?? '');
    else end(400, 'unknown');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A closed port: connection refused, a network error. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('httpDelivery', () => {
  it('2xx succeeds; 429 waits Retry-After; 500 then 2xx retries; 404 dead-letters with status and body start; a hang and a refused connection retry until attempts run out', async () => {
    const store = await createMemoryQueue();
    // Answers get a generous timeout (a loaded machine is slow); the hang its own short one.
    const retry = { baseDelay: 20, maxDelay: 50 };
    const delivery = httpDelivery({ timeout: 20_000, maxAttempts: 3, retry });
    const short = httpDelivery({ timeout: 1000, maxAttempts: 3, retry });
    const qm = new QueueManager(store, { logger: 'silent' })
      .entrypoint('http', delivery.options, delivery.handler)
      .entrypoint('http.short', short.options, short.handler);
    const outcomes: QueueManagerEvents['job'][] = [];
    qm.on('job', (e) => outcomes.push(e));
    const refused = await closedPort();
    const urls = ['/ok', '/busy', '/flaky', '/missing', '/hang'].map((p) => `${base}${p}`);
    urls.push(`http://127.0.0.1:${refused}/down`);
    const ids = await qm.enqueueMany(
      urls.map((url) => ({
        entrypoint: url.endsWith('/hang') ? ('http.short' as const) : ('http' as const),
        payload: { url, body: `to ${url}` },
      })),
    );
    await qm.run({ mode: 'drain' });
    const [ok, busy, flaky, missing, hang, down] = ids as number[];
    const of = (id: number) => outcomes.filter((o) => o.id === id).map((o) => o.outcome);
    const count = (path: string) => hits.filter((h) => h.path === path).length;

    expect(of(ok!)).toEqual(['successful']);
    expect(count('/ok')).toBe(1);
    expect(hits.find((h) => h.path === '/ok')?.body).toBe(`to ${base}/ok`);

    expect(of(busy!)).toEqual(['retry', 'successful']);
    expect(count('/busy')).toBe(2);
    // The backoff alone is 20-50 ms; Retry-After: 1 holds the second attempt for at least a second.
    const second = hits.filter((h) => h.path === '/busy')[1]!;
    expect(second.at - respondedAt.get('/busy#0')!).toBeGreaterThanOrEqual(950);

    expect(of(flaky!)).toEqual(['retry', 'successful']);
    expect(count('/flaky')).toBe(2);

    expect(of(missing!)).toEqual(['failed']);
    expect(count('/missing')).toBe(1);
    expect(of(hang!)).toEqual(['retry', 'retry', 'failed']);
    expect(count('/hang')).toBe(3);
    expect(of(down!)).toEqual(['retry', 'retry', 'failed']);

    const dead = await store.failedJobs({ limit: 10 });
    expect(dead.map((j) => j.id).sort()).toEqual([missing, hang, down].sort());
    const byId = new Map(dead.map((j) => [j.id, j]));
    const notFound = byId.get(missing!)!;
    expect(notFound.attempts).toBe(1);
    expect(notFound.lastError).toMatch(/^HTTP 404 Not Found: no such hook: x+…$/);
    expect(notFound.lastError!.length).toBeLessThan(600);
    expect(byId.get(hang!)!.attempts).toBe(3);
    expect(byId.get(hang!)!.lastError).toMatch(/TimeoutError: no answer from POST .*\/hang within 1000 ms/);
    expect(byId.get(down!)!.attempts).toBe(3);
    expect(byId.get(down!)!.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    // Dead letters keep their request: requeue delivers it again.
    expect(httpRequestCodec.decode(notFound.payload)).toMatchObject({
      method: 'POST',
      url: `${base}/missing`,
    });
    await store.close();
  }, 60_000);

  it('signs every attempt; verifySignature accepts the current and next key, refuses an old key, a replay, a tampered body and an old timestamp', async () => {
    const store = await createMemoryQueue();
    const delivery = httpDelivery({ signing: { key: KEY_NEXT }, retry: { baseDelay: 10, maxDelay: 20 } });
    const qm = new QueueManager(store, { logger: 'silent' }).entrypoint(
      'hook',
      delivery.options,
      delivery.handler,
    );
    const [id] = await qm.enqueueMany([
      { entrypoint: 'hook', payload: { url: `${base}/signed/a`, body: '{"event":"paid"}' } },
    ]);
    await qm.run({ mode: 'drain' });
    expect(await store.jobStatus([id!])).toEqual(['successful']);
    expect(hits.filter((h) => h.path === '/signed/a').map((h) => h.verified)).toEqual(['ok']);

    const keys = { current: KEY_CURRENT, next: KEY_NEXT };
    const url = 'https://receiver.example/hook?x=1';
    const body = '{"event":"refund"}';
    const message = async (key: string, timestamp?: number) => ({
      method: 'POST',
      url,
      body,
      signature: (await signRequest({ method: 'POST', url, body, key, timestamp }))[SIGNATURE_HEADER]!,
    });
    const good = await message(KEY_CURRENT);
    await expect(verifySignature(good, { keys })).resolves.toBeUndefined();
    await expect(verifySignature(good, { keys })).rejects.toThrow(/replay/);
    await expect(verifySignature(await message(KEY_OLD), { keys })).rejects.toThrow(UnauthorizedError);
    await expect(verifySignature(await message(KEY_OLD), { keys })).rejects.toThrow(/bad signature/);
    const tampered = { ...(await message(KEY_NEXT)), body: '{"event":"refund","amount":1e9}' };
    await expect(verifySignature(tampered, { keys })).rejects.toThrow(/bad signature/);
    const stale = await message(KEY_CURRENT, Date.now() - 10 * 60_000);
    await expect(verifySignature(stale, { keys })).rejects.toThrow(/replay window/);
    await expect(verifySignature({ ...good, signature: null }, { keys })).rejects.toThrow(/missing/);
    // A Request works as is (its body read from a clone).
    const request = new Request(url, {
      method: 'POST',
      body,
      headers: await signRequest({ method: 'POST', url, body, key: KEY_NEXT }),
    });
    await expect(verifySignature(request, { keys })).resolves.toBeUndefined();
    expect(await request.text()).toBe(body);
    await store.close();
  }, 60_000);

  it('rejects a bad request with a typed error before anything is stored', async () => {
    const store = await createMemoryQueue();
    const delivery = httpDelivery();
    const qm = new QueueManager(store, { logger: 'silent' }).entrypoint(
      'http',
      delivery.options,
      delivery.handler,
    );
    await expect(qm.enqueue('http', { url: 'ftp://example.com/x' })).rejects.toThrow(InvalidArgumentError);
    await expect(qm.enqueue('http', { url: 'not a url' })).rejects.toThrow(/absolute URL/);
    await expect(qm.enqueue('http', { url: `${base}/ok`, method: 'GET', body: 'x' })).rejects.toThrow(/body/);
    await expect(qm.enqueue('http', { url: `${base}/ok`, headers: { 'x-bad': 'a\r\nb' } })).rejects.toThrow(
      /line breaks/,
    );
    expect(await store.queueSize()).toEqual([]);
    expect(() => httpDelivery({ signing: { key: 'short' } })).toThrow(InvalidArgumentError);
    expect(() => httpDelivery({ timeout: 0 })).toThrow(/timeout/);
    expect(() => httpDelivery({ retry: { baseDelay: -1 } })).toThrow(/retry.baseDelay/);
    expect(() => httpDelivery({ retry: { jitter: 2 } })).toThrow(/jitter/);
    expect(() => handoffRequest(`${base}/jobs`, { entrypoint: 'x', dedupeKey: '' })).toThrow(/dedupeKey/);
    // Binary bodies round-trip through the stored form.
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const decoded = httpRequestCodec.decode(httpRequestCodec.encode({ url: `${base}/ok`, body: bytes }));
    expect(decoded.body).toEqual(bytes);
    await store.close();
  }, 30_000);
});
