/**
 * The WASM core's job lifecycle, the same code in a Worker and in Node: per round enqueue 1,000
 * jobs with 256-byte payloads, dequeue 1,000, complete 1,000 (bench/core's "steady" cell).
 */
import { createMemoryQueue, type Job, type WasmSource } from '@tideq/core';

export async function lifecycle(
  options: { rounds?: number; batch?: number; payload?: number; wasm?: WasmSource } = {},
): Promise<number> {
  const rounds = options.rounds ?? 200;
  const size = options.batch ?? 1000;
  const repo = await createMemoryQueue(options.wasm === undefined ? {} : { wasm: options.wasm });
  const bytes = new Uint8Array(options.payload ?? 256).map((_, i) => i & 255);
  const batch = Array.from({ length: size }, () => ({ entrypoint: 'bench', payload: bytes }));
  const deq = { batchSize: size, entrypoints: { bench: {} }, queueManagerId: 'bench' };
  let checksum = 0;
  const consume = (jobs: Job[]) =>
    jobs.map((j) => {
      const p = j.payload;
      if (p !== null && p.length > 0) checksum += p[0]! + p[p.length - 1]!;
      return { id: j.id, status: 'successful' as const };
    });
  const round = async () => {
    await repo.enqueue(batch);
    await repo.complete(consume(await repo.dequeue(deq)));
  };
  for (let i = 0; i < 50; i++) await round();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await round();
  const ms = performance.now() - t0;
  await repo.close();
  if (checksum === 0) throw new Error('the lifecycle consumed no payload bytes');
  return Math.round(((rounds * size) / ms) * 1000);
}
