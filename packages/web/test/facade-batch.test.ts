import { bytesCodec, jsonCodec } from '@tideq/core';
import { describe, expect, it } from 'vitest';
import { idsFromWire, idsToWire, packBatch, unpackBatch } from '../src/facade/batch.ts';

// The enqueue batch wire format: one buffer per batch, payloads as views into it on the far side.
describe('packed enqueue batches', () => {
  const codecs = { a: jsonCodec<{ n: number }>(), b: bytesCodec };

  it('round-trips entrypoints, priorities, times, payloads, dedupe keys and headers', () => {
    const at = new Date(1_700_000_000_000);
    const packed = packBatch(
      [
        { entrypoint: 'a', payload: { n: 1 }, priority: -5, executeAfter: at },
        { entrypoint: 'b', payload: null, dedupeKey: 'k', headers: { trace: 'x' } },
        { entrypoint: 'b', payload: new Uint8Array([9, 8]), executeAfter: 42.5 },
      ],
      codecs,
      'skip',
    );
    expect(packed).not.toBeNull();
    const moved = structuredClone(packed!, { transfer: [packed!.buf] });
    expect(packed!.buf.byteLength).toBe(0); // transferred, not copied
    const jobs = unpackBatch(moved);
    expect(jobs.map((j) => j.entrypoint)).toEqual(['a', 'b', 'b']);
    expect(jobs.map((j) => j.priority)).toEqual([-5, 0, 0]);
    expect(jobs.map((j) => j.executeAfter)).toEqual([at.getTime(), undefined, 42.5]);
    expect(codecs.a.decode(jobs[0]!.payload!)).toEqual({ n: 1 });
    expect(jobs[1]!.payload).toBeNull();
    expect(Array.from(jobs[2]!.payload!)).toEqual([9, 8]);
    expect(jobs[2]!.payload!.buffer).toBe(moved.buf); // a view, not a copy
    expect(jobs[1]).toMatchObject({ dedupeKey: 'k', headers: { trace: 'x' } });
    expect(moved.onConflict).toBe('skip');
  });

  it('leaves to the worker what the page cannot pack exactly', () => {
    const pack = (job: object) => packBatch([job as never], codecs, 'raise');
    expect(pack({ entrypoint: 'c', payload: null })).toBeNull(); // no page codec
    expect(pack({ entrypoint: 'b', payload: null, priority: 1.5 })).toBeNull();
    expect(pack({ entrypoint: 'b', payload: null, priority: 2 ** 31 })).toBeNull();
    expect(pack({ entrypoint: 'b', payload: null, executeAfter: Number.NaN })).toBeNull();
    expect(pack({ entrypoint: 'b', payload: null, executeAfter: '2020' })).toBeNull();
    expect(pack({ entrypoint: 'b', payload: null })).not.toBeNull();
  });

  it('rejects a truncated buffer instead of reading past it', () => {
    const packed = packBatch([{ entrypoint: 'b', payload: new Uint8Array(10) }], codecs, 'raise')!;
    expect(() => unpackBatch({ ...packed, buf: packed.buf.slice(0, 20) })).toThrow(RangeError);
    expect(() => unpackBatch({ ...packed, count: 2 })).toThrow(RangeError);
  });

  it('sends consecutive ids as a range', () => {
    expect(idsToWire([5, 6, 7])).toEqual({ first: 5, count: 3 });
    expect(idsFromWire(idsToWire([5, 6, 7]))).toEqual([5, 6, 7]);
    expect(idsToWire([5, null, 7])).toEqual([5, null, 7]);
    expect(idsToWire([1])).toEqual([1]);
  });
});
