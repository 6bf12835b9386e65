/** The requests every runtime's smoke test sends: health, enqueue (bearer and signed), status, drain, a bad signature. */
import { expect } from 'vitest';
import { SMOKE_KEY, SMOKE_TOKEN } from '../fixtures/smoke-app.ts';
import { call } from './client.ts';

export async function smoke(base: string): Promise<void> {
  expect((await call(base, 'GET', '/health')).status).toBe(200);
  const one = await call(base, 'POST', '/jobs', {
    body: { entrypoint: 'hello', payload: { n: 1 } },
    token: SMOKE_TOKEN,
  });
  expect(one.status, JSON.stringify(one.body)).toBe(201);
  const two = await call(base, 'POST', '/jobs', {
    body: { jobs: [{ entrypoint: 'hello' }] },
    key: SMOKE_KEY,
  });
  expect(two.status, JSON.stringify(two.body)).toBe(201);
  const ids = [...one.body.ids, ...two.body.ids] as number[];
  expect((await call(base, 'GET', `/jobs/${ids[0]}`, { token: SMOKE_TOKEN })).body).toMatchObject({
    status: 'queued',
  });
  const drained = await call(base, 'POST', '/drain', { key: SMOKE_KEY });
  expect(drained.body).toMatchObject({ processed: 2, succeeded: 2, remaining: 0 });
  for (const id of ids) {
    expect((await call(base, 'GET', `/jobs/${id}`, { token: SMOKE_TOKEN })).body).toMatchObject({
      status: 'successful',
    });
  }
  const forged = await call(base, 'POST', '/jobs', {
    body: { entrypoint: 'hello' },
    key: 'not-the-key-0123456789',
  });
  expect(forged).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
  const unknown = await call(base, 'POST', '/jobs', { body: { entrypoint: 'nope' }, token: SMOKE_TOKEN });
  expect(unknown).toMatchObject({ status: 422, body: { error: { code: 'INVALID_ARGUMENT' } } });
}
