import {
  createMemoryQueue,
  type EntrypointStats,
  type JobEvent,
  type JobStatus,
  jsonCodec,
  QueueManager,
  type QueueRepository,
} from '@tideq/core';
import { connectQueue, type PayloadsOf, type QueueFacade } from '@tideq/web';
import { hostQueue, type QueueHost } from '@tideq/web/worker';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';

// Type-level tests of the facade's generics: `tsc -p tsconfig.json` (in `./run test`) checks every
// expectTypeOf and @ts-expect-error below; the runtime test runs the same typed calls for real,
// host and page on the two ends of one MessageChannel.
type Email = { to: string; subject?: string };
const codecs = { email: jsonCodec<Email>() };

function defineHost(store: QueueRepository | Promise<QueueRepository>, endpoint: MessagePort) {
  return hostQueue({
    store,
    manager: (s) =>
      new QueueManager(s, { logger: 'silent' })
        .entrypoint('email', { codec: codecs.email }, ({ payload }) => {
          expectTypeOf(payload).toEqualTypeOf<Email>();
        })
        .entrypoint('raw', ({ payload }) => {
          expectTypeOf(payload).toEqualTypeOf<Uint8Array | null>();
        }),
    endpoint: endpoint as never,
  });
}
type Host = ReturnType<typeof defineHost>;

// A factory returning one of two store types: `manager` gets their union (no annotation needed).
declare const durable: boolean;
function defineEitherHost(endpoint: MessagePort) {
  return hostQueue({
    store: () => (durable ? createMemoryQueue() : Promise.resolve({} as QueueRepository & { kind: 'other' })),
    manager: (s) => {
      expectTypeOf(s).toExtend<QueueRepository>();
      return new QueueManager(s, { logger: 'silent' }).entrypoint('email', { codec: codecs.email }, () => {});
    },
    endpoint: endpoint as never,
  });
}

describe('facade types', () => {
  it('types a host whose store factory returns one of several store types', () => {
    expectTypeOf<PayloadsOf<ReturnType<typeof defineEitherHost>>['email']>().toEqualTypeOf<Email>();
  });

  it('infers the entrypoint -> payload map from the host, a manager, or a record', () => {
    expectTypeOf<Host>().toExtend<QueueHost<Record<string, unknown>>>();
    expectTypeOf<PayloadsOf<Host>['email']>().toEqualTypeOf<Email>();
    expectTypeOf<PayloadsOf<Host>['raw']>().toEqualTypeOf<Uint8Array | null>();
    type Manager = QueueManager<{ a: number }>;
    expectTypeOf<PayloadsOf<Manager>>().toEqualTypeOf<{ a: number }>();
    expectTypeOf<PayloadsOf<{ b: string }>>().toEqualTypeOf<{ b: string }>();
    expect(codecs.email.decode(codecs.email.encode({ to: 'x' }))).toEqual({ to: 'x' });
  });

  it('types every method of the facade', () => {
    type Q = QueueFacade<PayloadsOf<Host>>;
    expectTypeOf<Q['enqueue']>().returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf<Q['enqueueMany']>().returns.toEqualTypeOf<Promise<(number | null)[]>>();
    expectTypeOf<Q['status']>().returns.toEqualTypeOf<Promise<(JobStatus | null)[]>>();
    expectTypeOf<Q['waitFor']>().returns.toEqualTypeOf<Promise<JobStatus[]>>();
    expectTypeOf<Q['subscribe']>().parameter(0).toEqualTypeOf<(events: JobEvent[]) => void>();
    expectTypeOf<Awaited<ReturnType<Q['stats']>>['entrypoints']['email']>().toEqualTypeOf<EntrypointStats>();
    expectTypeOf<Awaited<ReturnType<Q['stats']>>['entrypoints']>().toHaveProperty('raw');
    expect(true).toBe(true);
  });
});

describe('typed calls over a MessageChannel (same thread)', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it('accepts exactly the payloads the codecs allow', async () => {
    const { port1, port2 } = new MessageChannel();
    const host = defineHost(createMemoryQueue(), port2);
    const queue = connectQueue<Host>(port1, { codecs });
    closers.push(async () => {
      await queue.close();
      await host.close();
      port1.close();
    });
    const id = await queue.enqueue('email', { to: 'ada@example.com' });
    const ids = await queue.enqueueMany([
      { entrypoint: 'email', payload: { to: 'bob@example.com', subject: 'hi' }, priority: 2 },
      { entrypoint: 'raw', payload: new Uint8Array([1]) },
      { entrypoint: 'raw', payload: null },
    ]);
    expect(await queue.waitFor([id, ...(ids as number[])], { timeout: 30_000 })).toEqual([
      'successful',
      'successful',
      'successful',
      'successful',
    ]);
    const stats = await queue.stats();
    expect(stats.entrypoints.email.successful + stats.entrypoints.raw.successful).toBe(4);

    // Wrong payloads, entrypoints and codecs do not compile (the calls below are never awaited).
    const never = (): void => {
      // @ts-expect-error `to` must be a string
      void queue.enqueue('email', { to: 42 });
      // @ts-expect-error the payload of raw is bytes
      void queue.enqueue('raw', { to: 'x' });
      // @ts-expect-error no such entrypoint in the worker
      void queue.enqueue('sms', null);
      // @ts-expect-error a job's payload follows its own entrypoint
      void queue.enqueueMany([{ entrypoint: 'raw', payload: { to: 'x' } }]);
      // @ts-expect-error a page codec must encode the handler's payload type
      connectQueue<Host>(port1, { codecs: { email: jsonCodec<{ to: number }>() } });
    };
    expect(typeof never).toBe('function');
  });
});
