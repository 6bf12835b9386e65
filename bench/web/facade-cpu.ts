/**
 * CPU per batch of the facade's two sides, before/after the encoded batch, in ONE Node thread
 * (`process.cpuUsage()`: robust where wall time is not, on a loaded machine). Batches of 1,000
 * jobs x 256 bytes with the bytes codec, as bench/web/facade.ts sends them.
 *   page:   build the 1,000 job objects + pack (before) / encode into a reused buffer (after)
 *   worker: unpack into job objects + WASM enqueue (before) / WASM enqueueEncoded (after)
 * The "before" code is the packed-batch facade of commit 72d9ecb, loaded from a tree given as
 * the argument (an export of that commit: `git archive 72d9ecb | tar -x -C /tmp/tideq-base`).
 *
 *   npx tsx --conditions=source bench/web/facade-cpu.ts /tmp/tideq-base
 */
import { join } from 'node:path';
import { bytesCodec, createMemoryQueue, type NewJob } from '@tideq/core';
import { encodeBatch, pageCodecs } from '../../packages/web/src/facade/batch.ts';

const base = process.argv[2];
if (base === undefined) throw new Error('give the tree of the code before (an export of commit 72d9ecb)');
interface Packed {
  buf: ArrayBuffer;
}
const before = (await import(join(base, 'packages/web/src/facade/batch.ts'))) as {
  packBatch(jobs: unknown[], codecs: object, onConflict: string): Packed | null;
  unpackBatch(batch: Packed): NewJob[];
};

const codecs = { bench: bytesCodec };
const pool = new Uint8Array(256 * 1000).map((_, i) => i & 255);
const build = () => {
  const jobs = new Array(1000);
  for (let i = 0; i < 1000; i++)
    jobs[i] = { entrypoint: 'bench', payload: pool.subarray(i * 256, (i + 1) * 256) };
  return jobs;
};
/** CPU ms so far (this process; V8's GC threads included: garbage is part of a side's cost). */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[xs.length >> 1]! * 1000) / 1000;

const ROUNDS = Number(process.env.TIDEQ_BENCH_ROUNDS ?? 8);
const N = 200;
const page = { before: [] as number[], after: [] as number[] };
const worker = { before: [] as number[], after: [] as number[] };
let spare: ArrayBuffer | undefined;
const packed = before.packBatch(build(), codecs, 'raise')!;
const jobs = build();
const encoded = await encodeBatch(jobs, 'raise', { codec: pageCodecs(jobs, codecs)! });
for (let r = 0; r < ROUNDS; r++) {
  let t = cpu();
  for (let i = 0; i < N; i++) before.packBatch(build(), codecs, 'raise');
  page.before.push((cpu() - t) / N);
  t = cpu();
  for (let i = 0; i < N; i++) {
    const js = build();
    const b = await encodeBatch(js, 'raise', {
      codec: pageCodecs(js, codecs)!,
      capacity: 64 + 1000 * 285,
      buffer: spare,
    });
    spare = b.bytes.buffer;
  }
  page.after.push((cpu() - t) / N);
  // A fresh store per side and round (the same memory growth for both); interned, warmed.
  const qa = await createMemoryQueue();
  const qb = await createMemoryQueue();
  await qa.enqueue(before.unpackBatch(packed));
  await qb.enqueueEncoded(encoded);
  t = cpu();
  for (let i = 0; i < N; i++) await qa.enqueue(before.unpackBatch(packed));
  worker.before.push((cpu() - t) / N);
  t = cpu();
  for (let i = 0; i < N; i++) await qb.enqueueEncoded(encoded);
  worker.after.push((cpu() - t) / N);
  await qa.close();
  await qb.close();
}
console.log(
  JSON.stringify({
    cpuMsPerBatch: {
      page: { before: median(page.before), after: median(page.after) },
      worker: { before: median(worker.before), after: median(worker.after) },
    },
    rounds: ROUNDS,
  }),
);
