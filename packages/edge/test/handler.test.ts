/**
 * The handler called in-process with Web Requests (Hono's first test layer), on the real WASM
 * memory queue: options and edges the workerd suite does not need a real runtime for.
 */
import { createMemoryQueue, QueueManager, type QueueRepository, TideqError } from '@tideq/core';
import { createEdgeHandler, type EdgeHandlerOptions, signRequest } from '@tideq/edge';
import { describe, expect, it } from 'vitest';

const TOKEN = 'token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };

function make(options: Partial<EdgeHandlerOptions> = {}) {
  return createEdgeHandler({
    store: createMemoryQueue(),
    manager: (store) => new QueueManager(store, { logger: 'silent' }).entrypoint('noop', async () => {}),
    auth: { tokens: [TOKEN] },
    ...options,
  });
}

const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
  new Request(`http://edge${path}`, {
    method: 'POST',
    body,
    headers: { ...auth, 'content-type': 'application/json', ...headers },
  });

describe('createEdgeHandler in-process', () => {
  it('refuses bad options when it is created', () => {
    expect(() => make({ auth: {} })).toThrow(TideqError);
    expect(() => make({ auth: { tokens: ['short'] } })).toThrow(/16 characters/);
    expect(() => make({ budget: { ms: 1000, graceMs: 1000 } })).toThrow(/graceMs/);
    expect(() => make({ storePerRequest: true })).toThrow(/storePerRequest/);
    expect(() => make({ limits: { maxBodyBytes: 0 } })).toThrow(/maxBodyBytes/);
  });

  it('answers 500 (reason in the log, not to the client) when auth options from env are invalid', async () => {
    const handler = make({ auth: (env: unknown) => ({ tokens: [(env as { TOKEN?: string }).TOKEN ?? ''] }) });
    const logged: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const answer = await handler.fetch(post('/jobs', '{"entrypoint":"noop"}'), {});
      expect(answer.status).toBe(500);
      expect(await answer.json()).toEqual({
        error: { code: 'INTERNAL', message: 'internal error; see the server log' },
      });
      expect(String(logged.flat())).toMatch(/auth options built from env are invalid/);
    } finally {
      console.error = original;
    }
  });

  it('serves reads without credentials with publicReads, and under a basePath', async () => {
    const handler = make({ auth: { tokens: [TOKEN], publicReads: true }, basePath: '/api/queue/' });
    const created = await handler.fetch(post('/api/queue/jobs', '{"entrypoint":"noop"}'));
    expect(created.status).toBe(201);
    const { ids } = (await created.json()) as { ids: number[] };
    const read = await handler.fetch(new Request(`http://edge/api/queue/jobs/${ids[0]}`));
    expect(await read.json()).toMatchObject({ id: ids[0], status: 'queued' });
    // Writes still need credentials; routes outside the base path do not exist.
    const cancel = await handler.fetch(
      new Request(`http://edge/api/queue/jobs/${ids[0]}`, { method: 'DELETE' }),
    );
    expect(cancel.status).toBe(401);
    expect((await handler.fetch(post('/jobs', '{"entrypoint":"noop"}'))).status).toBe(404);
  });

  it('counts a chunked body against the limit (no Content-Length) and stores nothing', async () => {
    const handler = make({ limits: { maxBodyBytes: 1024 } });
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        const json = JSON.stringify({ entrypoint: 'noop', payload: 'x'.repeat(4000) });
        for (let i = 0; i < json.length; i += 500)
          controller.enqueue(new TextEncoder().encode(json.slice(i, i + 500)));
        controller.close();
      },
    });
    const request = new Request('http://edge/jobs', {
      method: 'POST',
      body: chunks,
      headers: auth,
      duplex: 'half',
    } as RequestInit);
    expect(request.headers.get('content-length')).toBeNull();
    const answer = await handler.fetch(request);
    expect(answer.status).toBe(413);
    expect(await answer.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    const next = await handler.fetch(post('/jobs', '{"entrypoint":"noop"}'));
    expect(await next.json()).toEqual({ ids: [1] });
  });

  it("skips held dedupe keys with onConflict 'skip' and takes raw bytes", async () => {
    let store: QueueRepository | undefined;
    const handler = make({
      store: async () => {
        store = await createMemoryQueue();
        return store;
      },
    });
    await handler.fetch(post('/jobs', '{"entrypoint":"noop","dedupeKey":"a"}'));
    const batch = await handler.fetch(
      post(
        '/jobs',
        JSON.stringify({
          jobs: [{ entrypoint: 'noop', dedupeKey: 'a' }, { entrypoint: 'noop' }],
          onConflict: 'skip',
        }),
      ),
    );
    expect(await batch.json()).toEqual({ ids: [null, 2] });
    const raw = await handler.fetch(
      post('/jobs?entrypoint=noop&dedupeKey=img', new Uint8Array([1, 2, 3]), {
        'content-type': 'application/octet-stream',
      }),
    );
    expect(await raw.json()).toEqual({ ids: [3] });
    const [job] = await store!.getJobs([3]);
    expect(job).toMatchObject({ dedupeKey: 'img', payload: new Uint8Array([1, 2, 3]) });
    // JSON payloads, ASCII and not, in one batch: each stored as its own UTF-8 JSON text.
    const payloads = [{ to: 'ada' }, 'héllo ✓ 🌊', 42, null, [1, 'ü']];
    const mixed = await handler.fetch(
      post('/jobs', JSON.stringify({ jobs: payloads.map((payload) => ({ entrypoint: 'noop', payload })) })),
    );
    const { ids } = (await mixed.json()) as { ids: number[] };
    const stored = await store!.getJobs(ids);
    expect(stored.map((j) => (j!.payload === null ? null : new TextDecoder().decode(j!.payload)))).toEqual([
      '{"to":"ada"}',
      '"héllo ✓ 🌊"',
      '42',
      null,
      '[1,"ü"]',
    ]);
  });

  it('answers 400 for an unknown content type, 405 with Allow, 503 for an uninstalled store', async () => {
    const store = await createMemoryQueue();
    const handler = make({ store });
    const text = await handler.fetch(post('/jobs', 'noop', { 'content-type': 'text/plain' }));
    expect(text.status).toBe(400);
    const wrong = await handler.fetch(new Request('http://edge/drain', { headers: auth }));
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    await store.uninstall();
    const health = await handler.fetch(new Request('http://edge/health'));
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ error: { code: 'NOT_INSTALLED' } });
    const enqueue = await handler.fetch(post('/jobs', '{"entrypoint":"noop"}'));
    expect(enqueue.status).toBe(503);
  });

  it('reports an empty drain and signs with the documented header', async () => {
    const handler = make();
    expect(await handler.drain()).toMatchObject({ processed: 0, remaining: 0, stoppedEarly: false });
    const headers = await signRequest({
      method: 'post',
      url: '/jobs?x=1',
      body: 'abc',
      key: 'k'.repeat(16),
      timestamp: 1,
    });
    expect(headers['tideq-signature']).toMatch(/^t=1,v1=[0-9a-f]{64}$/);
    await expect(signRequest({ method: 'POST', url: '/jobs', key: '' })).rejects.toThrow(/key/);
  });
});
