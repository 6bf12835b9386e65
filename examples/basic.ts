/**
 * tideq in a few lines: an in-memory queue, jobs with priorities and JSON payloads, a worker loop
 * that dequeues in batches and completes them, then the queue's own counters.
 *
 * Run it with `./run examples` (or `npm run examples`): no build step, @tideq/core resolves to its sources.
 */
import { createReferenceQueue, type Job } from '@tideq/core';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
const parse = (bytes: Uint8Array | null): unknown => (bytes ? JSON.parse(decoder.decode(bytes)) : null);

const queue = createReferenceQueue();

// Producer: a batch of jobs in one atomic call. Higher priority runs first; ties run in id order.
const ids = await queue.enqueue([
  { entrypoint: 'email.send', payload: json({ to: 'ada@example.com', template: 'welcome' }) },
  { entrypoint: 'email.send', payload: json({ to: 'alan@example.com', template: 'welcome' }) },
  { entrypoint: 'report.build', payload: json({ month: '2026-10' }), priority: 10 },
  { entrypoint: 'email.send', payload: json({ to: 'grace@example.com', template: 'reset' }), priority: 5 },
  { entrypoint: 'report.build', payload: json({ month: '2026-11' }), dedupeKey: 'report:2026-11' },
]);
console.log(`enqueued ${ids.length} jobs: ids ${ids.join(', ')}`);

// A second job with a dedupe key that is still queued is skipped (onConflict 'raise' would throw).
const [duplicate] = await queue.enqueue(
  [{ entrypoint: 'report.build', payload: json({ month: '2026-11' }), dedupeKey: 'report:2026-11' }],
  { onConflict: 'skip' },
);
console.log(`same dedupe key again -> ${duplicate === null ? 'skipped' : `id ${duplicate}`}`);

const showQueue = async (title: string) => {
  const rows = await queue.queueSize();
  console.log(`${title}:${rows.length === 0 ? ' empty' : ''}`);
  for (const row of rows)
    console.log(`  ${row.entrypoint} ${row.status} priority ${row.priority}: ${row.count}`);
};

await showQueue('queue before work');

// Worker: dequeue batches of 2 (priority desc, then id asc), "handle" each job, complete the batch.
const handle = (job: Job): 'successful' | 'exception' => {
  const payload = parse(job.payload) as Record<string, string>;
  console.log(
    `  #${job.id} ${job.entrypoint} priority ${job.priority} attempt ${job.attempts} ${JSON.stringify(payload)}`,
  );
  return payload.template === 'reset' ? 'exception' : 'successful';
};

for (let batch = 1; ; batch++) {
  const jobs = await queue.dequeue({
    batchSize: 2,
    queueManagerId: 'example-worker',
    entrypoints: { 'email.send': { concurrencyLimit: 0 }, 'report.build': { concurrencyLimit: 1 } },
  });
  if (jobs.length === 0) break;
  console.log(`batch ${batch}: picked ${jobs.length}`);
  const results = jobs.map((job) => {
    const status = handle(job);
    return { id: job.id, status, error: status === 'exception' ? 'template "reset" is not ready' : null };
  });
  await queue.complete(results);
}

await showQueue('queue after work');
const stored = ids.filter((id): id is number => id !== null);
const statuses = await queue.jobStatus(stored);
console.log(`final statuses: ${stored.map((id, i) => `#${id} ${statuses[i]}`).join(', ')}`);
console.log('statistics (per entrypoint, status, priority, second):');
for (const row of await queue.statistics()) {
  console.log(`  ${row.entrypoint} ${row.status} priority ${row.priority}: ${row.count}`);
}
