/**
 * The edge handler in real workerd (Miniflare) on the WASM memory queue: enqueue, status, cancel,
 * drain and the scheduled hook; every error status from a real HTTP request with nothing stored;
 * bearer and signature checks; the budgeted drain; retries per policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, call } from './support/client.ts';
import { type RunningWorker, startWorker } from './support/workerd.ts';

const TOKEN = 'token-0123456789abcdef';
const KEY_OLD = 'old-key-0123456789abcdef';
const KEY_CURRENT = 'current-key-0123456789abcdef';
const KEY_NEXT = 'next-key-0123456789abcdef';

let worker: RunningWorker | undefined;
const base = () => worker!.url;
const post = (path: string, body: unknown) => call(base(), 'POST', path, { body, key: KEY_CURRENT });
const status = async (id: number) => (await call(base(), 'GET', `/jobs/${id}`, { token: TOKEN })).body;
const drain = async () => {
  const answer = await call(base(), 'POST', '/drain', { token: TOKEN });
  expect(answer.status).toBe(200);
  return answer.body;
};

beforeAll(async () => {
  worker = await startWorker(new URL('./fixtures/memory-worker.ts', import.meta.url), {
    TOKEN,
    KEY_CURRENT,
    KEY_NEXT,
  });
}, 60_000);

afterAll(async () => {
  await worker?.dispose();
});

describe('edge handler in workerd, WASM memory queue', () => {
  it('answers GET /health without credentials', async () => {
    const answer = await call(base(), 'GET', '/health');
    expect(answer).toMatchObject({ status: 200, body: { ok: true } });
  });

  it('enqueues one job, a batch and raw bytes; reports status; drains; cancels', async () => {
    const one = await call(base(), 'POST', '/jobs', {
      body: { entrypoint: 'noop', payload: { n: 1 } },
      token: TOKEN,
    });
    expect(one.status).toBe(201);
    expect(one.body.ids).toHaveLength(1);
    const batch = await post('/jobs', {
      jobs: [
        { entrypoint: 'noop', payload: 'a', priority: 5 },
        {
          entrypoint: 'noop',
          payloadBase64: 'AAEC',
          executeAfter: new Date(Date.now() - 1000).toISOString(),
        },
        { entrypoint: 'noop', dedupeKey: 'k1', headers: { trace: 'x' } },
      ],
    });
    expect(batch.status).toBe(201);
    expect(batch.body.ids).toHaveLength(3);
    const raw = await call(base(), 'POST', '/jobs?entrypoint=noop&priority=2', {
      raw: new Uint8Array([0, 255, 7]),
      contentType: 'application/octet-stream',
      key: KEY_CURRENT,
    });
    expect(raw.status).toBe(201);
    const ids: number[] = [...one.body.ids, ...batch.body.ids, ...raw.body.ids];
    expect(ids).toEqual([ids[0]!, ids[0]! + 1, ids[0]! + 2, ids[0]! + 3, ids[0]! + 4]);
    expect(await status(ids[0]!)).toMatchObject({
      id: ids[0],
      status: 'queued',
      entrypoint: 'noop',
      attempts: 0,
    });

    // Cancel the last one before the drain.
    const cancel = await call(base(), 'DELETE', `/jobs/${ids[4]}`, { key: KEY_CURRENT });
    expect(cancel).toMatchObject({ status: 200, body: { id: ids[4], cancelled: true, status: 'canceled' } });

    const report = await drain();
    expect(report).toMatchObject({
      processed: 4,
      succeeded: 4,
      failed: 0,
      handedBack: 0,
      remaining: 0,
      stoppedEarly: false,
    });
    expect(report.ms).toBeGreaterThanOrEqual(0);
    for (const id of ids.slice(0, 4)) expect((await status(id)).status).toBe('successful');
    // Cancelling a finished job changes nothing.
    const again = await call(base(), 'DELETE', `/jobs/${ids[0]}`, { token: TOKEN });
    expect(again).toMatchObject({ status: 200, body: { cancelled: false, status: 'successful' } });
  });

  it('the scheduled hook runs a drain', async () => {
    const { body } = await post('/jobs', { entrypoint: 'noop' });
    const fetcher = (await worker!.mf.getWorker()) as unknown as {
      scheduled(options: { cron: string }): Promise<{ outcome: string }>;
    };
    const result = await fetcher.scheduled({ cron: '* * * * *' });
    expect(result.outcome).toBe('ok');
    expect((await status(body.ids[0])).status).toBe('successful');
  });

  it('answers every error as JSON with its status and stores nothing', async () => {
    const first = (await post('/jobs', { entrypoint: 'noop', dedupeKey: 'held' })).body.ids[0] as number;
    const errors: [number, string, Promise<Answer>][] = [
      [400, 'INVALID_ARGUMENT', call(base(), 'POST', '/jobs', { raw: '{"entrypoint":', key: KEY_CURRENT })],
      [400, 'INVALID_ARGUMENT', post('/jobs', { jobs: [] })],
      [400, 'INVALID_ARGUMENT', post('/jobs', { entrypoint: 'noop', payload: 1, payloadBase64: 'AA==' })],
      [400, 'INVALID_ARGUMENT', call(base(), 'GET', '/jobs/abc', { token: TOKEN })],
      [401, 'UNAUTHORIZED', call(base(), 'POST', '/jobs', { body: { entrypoint: 'noop' } })],
      [413, 'PAYLOAD_TOO_LARGE', post('/jobs', { entrypoint: 'noop', payload: 'x'.repeat(70 * 1024) })],
      [
        422,
        'INVALID_ARGUMENT',
        post('/jobs', { jobs: [{ entrypoint: 'noop' }, { entrypoint: 'nobody.home' }] }),
      ],
      [
        422,
        'INVALID_ARGUMENT',
        post('/jobs', { jobs: [{ entrypoint: 'noop' }, { entrypoint: 'noop', priority: 1.5 }] }),
      ],
      [422, 'INVALID_ARGUMENT', post('/jobs', { entrypoint: 'noop', headers: 'not an object' })],
      [
        409,
        'DUPLICATE_JOB',
        post('/jobs', { jobs: [{ entrypoint: 'noop' }, { entrypoint: 'noop', dedupeKey: 'held' }] }),
      ],
      [404, 'NOT_FOUND', call(base(), 'GET', '/jobs/999999', { token: TOKEN })],
      [405, 'METHOD_NOT_ALLOWED', call(base(), 'PUT', '/jobs', { token: TOKEN })],
    ];
    for (const [code, name, answer] of errors) {
      const { status: got, body } = await answer;
      expect({ got, code: body.error?.code }, JSON.stringify(body)).toEqual({ got: code, code: name });
      expect(typeof body.error.message).toBe('string');
    }
    // Ids are consecutive per store: the next job gets first + 1, so none of the above stored a job.
    const next = (await post('/jobs', { entrypoint: 'noop' })).body.ids[0] as number;
    expect(next).toBe(first + 1);
    expect((await drain()).remaining).toBe(0);
  });

  it('accepts the current and the next key and a bearer token; refuses an old key, a replay, a tampered body, an old timestamp', async () => {
    const body = { entrypoint: 'noop' };
    expect((await call(base(), 'POST', '/jobs', { body, key: KEY_CURRENT })).status).toBe(201);
    expect((await call(base(), 'POST', '/jobs', { body, key: KEY_NEXT })).status).toBe(201);
    expect((await call(base(), 'POST', '/jobs', { body, token: TOKEN })).status).toBe(201);

    const refused = async (answer: Promise<Answer>, message: RegExp) => {
      const { status: got, body: error } = await answer;
      expect(got).toBe(401);
      expect(error.error.code).toBe('UNAUTHORIZED');
      expect(error.error.message).toMatch(message);
    };
    await refused(call(base(), 'POST', '/jobs', { body, key: KEY_OLD }), /bad signature/);
    await refused(call(base(), 'POST', '/jobs', { body, token: 'wrong-token-0123456789' }), /bearer token/);
    await refused(
      call(base(), 'POST', '/jobs', { body, key: KEY_CURRENT, tamper: (b) => b.replace('noop', 'slow') }),
      /bad signature/,
    );
    await refused(
      call(base(), 'POST', '/jobs', { body, key: KEY_CURRENT, timestamp: Date.now() - 10 * 60_000 }),
      /replay window/,
    );
    // The same signed request sent twice: the second is refused.
    const timestamp = Date.now();
    expect((await call(base(), 'POST', '/jobs', { body, key: KEY_CURRENT, timestamp })).status).toBe(201);
    await refused(call(base(), 'POST', '/jobs', { body, key: KEY_CURRENT, timestamp }), /replay/);
    // The path is signed too: a signature for /jobs does not open /drain.
    await refused(call(base(), 'POST', '/drain', { key: KEY_CURRENT, signedPath: '/jobs' }), /bad signature/);
    // Reads are private by default.
    await refused(call(base(), 'GET', '/jobs/1'), /missing credentials/);
    expect((await drain()).remaining).toBe(0);
  });

  it('stops a drain within its budget, hands the running job back, and later drains run what it left', async () => {
    const ids = (await post('/jobs', { jobs: [1, 2, 3].map(() => ({ entrypoint: 'slow' })) })).body
      .ids as number[];
    const first = await drain();
    // budget { ms: 3000, graceMs: 1500 }: dispatching stops at 1.5 s, running jobs get 0.75 s more,
    // then the 10 s run is handed back; 0.75 s is left for that and the report.
    expect(first).toMatchObject({
      stoppedEarly: true,
      processed: 1,
      succeeded: 0,
      handedBack: 1,
      remaining: 3,
    });
    expect(first.ms).toBeLessThanOrEqual(3000);
    expect(await status(ids[0]!)).toMatchObject({ status: 'queued', attempts: 1 });
    expect(await status(ids[0]!)).toHaveProperty('lastError', expect.stringMatching(/shutdown/));
    // Each later pass finishes the handed-back job (fast on its second attempt) and cuts off the next.
    let passes = 0;
    while (passes < 8 && (await Promise.all(ids.map(status))).some((s) => s.status !== 'successful')) {
      await drain();
      passes++;
    }
    for (const id of ids) expect((await status(id)).status).toBe('successful');
  }, 60_000);

  it('retries a throwing handler per its policy, then keeps it as a dead letter', async () => {
    const [id] = (await post('/jobs', { entrypoint: 'boom' })).body.ids as number[];
    const reports: Record<string, number>[] = [];
    for (let i = 0; i < 10 && (await status(id!)).status !== 'failed'; i++) reports.push(await drain());
    expect(await status(id!)).toMatchObject({
      status: 'failed',
      attempts: 3,
      lastError: expect.stringMatching(/boom/),
    });
    const sum = (key: string) => reports.reduce((n, r) => n + r[key], 0);
    expect({ processed: sum('processed'), retried: sum('retried'), failed: sum('failed') }).toEqual({
      processed: 3,
      retried: 2,
      failed: 1,
    });
  }, 60_000);
});
