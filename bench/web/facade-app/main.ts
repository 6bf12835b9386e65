// The bench page: enqueue batches through the facade from a page task, watching long tasks.
import { bytesCodec } from '@tideq/core';
import { connectQueue } from '@tideq/web';
import type { BenchQueue } from './worker.ts';

let longest = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) longest = Math.max(longest, entry.duration);
}).observe({ type: 'longtask', buffered: true });

const startWorker = () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });

/** Enqueues `batches` batches of `size` jobs (`payload` bytes each), `inFlight` at a time. */
async function enqueueRun(batches: number, size: number, payload: number, inFlight: number) {
  // A fresh worker per run: the queue's memory budget holds a few hundred thousand queued jobs.
  const worker = startWorker();
  const queue = connectQueue<BenchQueue>(worker, { codecs: { bench: bytesCodec } });
  const pool = new Uint8Array(payload * size).map((_, i) => i & 255);
  await queue.stats(); // connected
  longest = 0;
  let slowestSlice = 0;
  const t0 = performance.now();
  let next = 0;
  let stored = 0;
  const lane = async () => {
    while (next < batches) {
      next++;
      const s0 = performance.now();
      const jobs = new Array(size);
      for (let i = 0; i < size; i++) {
        jobs[i] = { entrypoint: 'bench' as const, payload: pool.subarray(i * payload, (i + 1) * payload) };
      }
      const sent = queue.enqueueMany(jobs);
      slowestSlice = Math.max(slowestSlice, performance.now() - s0);
      const ids = await sent;
      stored += ids.length;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const ms = performance.now() - t0;
  // Long-task entries are delivered after the task: give the observer a turn.
  await new Promise((r) => setTimeout(r, 100));
  const size_ = await queue.queueSize();
  worker.terminate();
  return {
    enqueuesPerSec: Math.round((stored / ms) * 1000),
    longTaskMs: longest,
    slowestSliceMs: slowestSlice,
    queued: size_.reduce((n, row) => n + row.count, 0),
  };
}

/** Runs `enqueueRun` from a page task (a timer), so PerformanceObserver sees its tasks. */
function fromTask(batches: number, size: number, payload: number, inFlight: number) {
  return new Promise((resolve, reject) => {
    setTimeout(() => enqueueRun(batches, size, payload, inFlight).then(resolve, reject), 0);
  });
}

function workerLifecycle(options: { rounds: number }) {
  const worker = startWorker();
  return new Promise((resolve, reject) => {
    const onMessage = (event: MessageEvent) => {
      if (event.data?.bench !== 'lifecycle') return;
      worker.terminate();
      if (event.data.error) reject(new Error(event.data.error));
      else resolve(event.data.jobsPerSec);
    };
    worker.addEventListener('message', onMessage);
    worker.postMessage({ bench: 'lifecycle', options });
  });
}

Object.assign(globalThis, { tideqBench: { fromTask, workerLifecycle } });
