import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../types.js';
import {
  dequeue,
  enqueueIds,
  expectRejectedUnchanged,
  job,
  type ScenarioGroup,
  useRepository,
} from './harness.js';

export const payloadScenarios: ScenarioGroup = (factory, options) => {
  describe('payloads and headers', () => {
    const t = useRepository(factory, options);

    it('round-trips all 256 byte values exactly, through getJobs and dequeue', async () => {
      const { repo } = t;
      const all = Uint8Array.from({ length: 512 }, (_, i) => (i * 7 + 3) % 256);
      await enqueueIds(repo, [job('a', { payload: all })]);
      const [stored] = await repo.getJobs([1]);
      expect(stored?.payload).toBeInstanceOf(Uint8Array);
      expect(Array.from(stored!.payload!)).toEqual(Array.from(all));
      const [picked] = await dequeue(repo);
      expect(Array.from(picked!.payload!)).toEqual(Array.from(all));
    });

    it('keeps an empty Uint8Array distinct from null (and undefined as null)', async () => {
      const { repo } = t;
      await enqueueIds(repo, [
        job('a', { payload: new Uint8Array(0) }),
        job('a', { payload: null }),
        job('a'),
      ]);
      const [empty, nul, undef] = await repo.getJobs([1, 2, 3]);
      expect(empty?.payload).toBeInstanceOf(Uint8Array);
      expect(empty?.payload?.byteLength).toBe(0);
      expect(nul?.payload).toBeNull();
      expect(undef?.payload).toBeNull();
      const picked = await dequeue(repo);
      expect(picked[0]?.payload?.byteLength).toBe(0);
      expect(picked[1]?.payload).toBeNull();
    });

    it('stores only the bytes of a Uint8Array view (non-zero byteOffset)', async () => {
      const { repo } = t;
      const backing = Uint8Array.from([9, 9, 1, 2, 3, 9, 9]);
      await enqueueIds(repo, [job('a', { payload: backing.subarray(2, 5) })]);
      const [stored] = await repo.getJobs([1]);
      expect(Array.from(stored!.payload!)).toEqual([1, 2, 3]);
    });

    it('returns payload copies: neither the caller nor a reader can change what is stored', async () => {
      const { repo } = t;
      const input = Uint8Array.from([1, 2, 3]);
      await enqueueIds(repo, [job('a', { payload: input })]);
      input[0] = 99;
      const [read] = await repo.getJobs([1]);
      expect(Array.from(read!.payload!)).toEqual([1, 2, 3]);
      read!.payload![1] = 99;
      const [picked] = await dequeue(repo);
      expect(Array.from(picked!.payload!)).toEqual([1, 2, 3]);
      picked!.payload![2] = 99;
      const [again] = await repo.getJobs([1]);
      expect(Array.from(again!.payload!)).toEqual([1, 2, 3]);
    });

    it('accepts a payload of exactly maxPayloadBytes and rejects one byte more with PAYLOAD_TOO_LARGE', async () => {
      const { repo } = t;
      const max = options.limits.maxPayloadBytes;
      // Reject first, so the before/after dumps do not compare a max-sized payload byte by byte.
      await expectRejectedUnchanged(repo, 'PAYLOAD_TOO_LARGE', () =>
        repo.enqueue([job('a'), job('a', { payload: new Uint8Array(max + 1) })]),
      );
      await enqueueIds(repo, [job('a', { payload: new Uint8Array(max).fill(0xab) })]);
      const [stored] = await repo.getJobs([1]);
      expect(stored?.payload?.byteLength).toBe(max);
      expect(stored?.payload?.every((b) => b === 0xab)).toBe(true);
    });

    it('round-trips nested JSON headers exactly', async () => {
      const { repo } = t;
      const headers: JsonObject = {
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        nested: { list: [1, -2.5, 'x', true, null, { deep: [] }], empty: {} },
        unicode: 'ü🔑"\\\n',
        big: 2 ** 52,
      };
      await enqueueIds(repo, [job('a', { headers }), job('a', { headers: {} }), job('a', { headers: null })]);
      const jobs = await repo.getJobs([1, 2, 3]);
      expect(jobs.map((j) => j?.headers)).toEqual([headers, {}, null]);
      const picked = await dequeue(repo);
      expect(picked[0]?.headers).toEqual(headers);
    });

    it('returns header copies: mutating the input or a read result changes nothing stored', async () => {
      const { repo } = t;
      const headers: JsonObject = { a: { b: 1 } };
      await enqueueIds(repo, [job('a', { headers })]);
      (headers.a as JsonObject).b = 2;
      const [read] = await repo.getJobs([1]);
      expect(read?.headers).toEqual({ a: { b: 1 } });
      (read!.headers!.a as JsonObject).b = 3;
      expect((await repo.getJobs([1]))[0]?.headers).toEqual({ a: { b: 1 } });
    });
  });
};
