import { bytesCodec, jsonCodec } from '@tideq/core';
import { decodeEnqueueBatch } from '@tideq/core/adapter';
import { describe, expect, it } from 'vitest';
import { encodeBatch, idsFromWire, idsToWire, pageCodecs } from '../src/facade/batch.ts';

// The enqueue batch on the wire: encoded once on the page into the WASM core's request layout, one
// transferable buffer; the worker decodes it only for stores that do not take the bytes.
describe('encoded enqueue batches', () => {
  const codecs = { a: jsonCodec<{ n: number }>(), b: bytesCodec };

  it('round-trips entrypoints, priorities, times, payloads, dedupe keys and headers', async () => {
    const at = new Date(1_700_000_000_000);
    const jobs = [
      { entrypoint: 'a', payload: { n: 1 }, priority: -5, executeAfter: at },
      { entrypoint: 'b', payload: null, dedupeKey: 'k', headers: { trace: 'x' } },
      { entrypoint: 'b', payload: new Uint8Array([9, 8]), executeAfter: 42.5 },
    ];
    const batch = await encodeBatch(jobs, 'skip', { codec: pageCodecs(jobs, codecs)! });
    const moved = structuredClone(batch, { transfer: [batch.bytes.buffer] });
    expect(batch.bytes.buffer.byteLength).toBe(0); // transferred, not copied
    const { jobs: back, onConflict } = decodeEnqueueBatch(moved);
    expect(onConflict).toBe('skip');
    expect(back.map((j) => j.entrypoint)).toEqual(['a', 'b', 'b']);
    expect(back.map((j) => j.priority)).toEqual([-5, 0, 0]);
    expect(back.map((j) => j.executeAfter)).toEqual([at.getTime(), undefined, 42]);
    expect(codecs.a.decode(back[0]!.payload!)).toEqual({ n: 1 });
    expect(back[1]!.payload).toBeNull();
    expect(Array.from(back[2]!.payload!)).toEqual([9, 8]);
    expect(back[2]!.payload!.buffer).toBe(moved.bytes.buffer); // a view, not a copy
    expect(back[1]).toMatchObject({ dedupeKey: 'k', headers: { trace: 'x' } });
  });

  it('leaves to the worker a batch naming an entrypoint without a page codec', () => {
    expect(pageCodecs([{ entrypoint: 'c', payload: null }], codecs)).toBeNull();
    expect(pageCodecs([{ entrypoint: 'a', payload: null }, { entrypoint: 'c' }], codecs)).toBeNull();
    expect(pageCodecs([{ entrypoint: 'constructor' }], codecs)).toBeNull();
    expect(pageCodecs([{ entrypoint: 'b', payload: null }], codecs)).toBeTypeOf('function');
  });

  it('rejects bad input as it encodes, naming the job', async () => {
    const encode = (jobs: object[]) =>
      encodeBatch(jobs as never, 'raise', { codec: pageCodecs(jobs as never, codecs)! });
    await expect(encode([{ entrypoint: 'b' }, { entrypoint: 'b', priority: 1.5 }])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('jobs[1].priority'),
    });
    await expect(encode([{ entrypoint: 'b', payload: 'text' }])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('jobs[0].payload must be a Uint8Array'),
    });
    await expect(
      encode([
        { entrypoint: 'b', dedupeKey: 'k' },
        { entrypoint: 'a', payload: { n: 1 }, dedupeKey: 'k' },
      ]),
    ).rejects.toMatchObject({ code: 'DUPLICATE_JOB', keys: ['k'] });
  });

  it('encodes a large batch over several tasks, none longer than its budget, the bytes as in one go', async () => {
    const jobs = Array.from({ length: 60_000 }, (_, n) => ({ entrypoint: 'a', payload: { n } }));
    const codec = pageCodecs(jobs, codecs)!;
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const started = Date.now();
    const sliced = await encodeBatch(jobs, 'raise', { codec });
    clearInterval(ticker);
    const whole = decodeEnqueueBatch(sliced).jobs;
    expect(whole).toHaveLength(60_000);
    expect(codecs.a.decode(whole[59_999]!.payload!)).toEqual({ n: 59_999 });
    // Other tasks ran meanwhile if it took more than one budget (a fast machine may not need to).
    if (Date.now() - started > 50) expect(turns).toBeGreaterThan(0);
  });

  it('sends consecutive ids as a range', () => {
    expect(idsToWire([5, 6, 7])).toEqual({ first: 5, count: 3 });
    expect(idsFromWire(idsToWire([5, 6, 7]))).toEqual([5, 6, 7]);
    expect(idsToWire([5, null, 7])).toEqual([5, null, 7]);
    expect(idsToWire([1])).toEqual([1]);
  });
});
