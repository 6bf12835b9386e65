/**
 * The runtime in one file: typed handlers with retries, a drain, waiting for completion while a
 * worker runs, and a cron schedule that enqueues work.
 * Run: `./run examples` (after examples/basic.ts), or `npx tsx --conditions=source examples/runtime.ts`.
 */
import { createMemoryQueue, jsonCodec, QueueManager, SchedulerManager, waitFor } from '@tideq/core';

const repo = await createMemoryQueue(); // the WASM core; createReferenceQueue() works the same

// Handlers are registered by entrypoint; the codec types the payload for the handler AND enqueue().
const qm = new QueueManager(repo, { logger: 'silent' })
  .entrypoint(
    'sendEmail',
    {
      codec: jsonCodec<{ to: string; subject: string }>(),
      maxAttempts: 3,
      timeout: 5_000,
      retry: { baseDelay: 50 },
    },
    async ({ payload, attempt, signal }) => {
      if (payload.to.endsWith('.invalid') && attempt === 1) throw new Error('mail server busy'); // retried
      signal.throwIfAborted(); // aborts on timeout, cancel() or shutdown
      console.log(`  sent "${payload.subject}" to ${payload.to} (attempt ${attempt})`);
    },
  )
  .entrypoint(
    'report',
    { codec: jsonCodec<{ at: string }>(), serializedDispatch: true },
    async ({ payload }) => {
      console.log(`  report for tick ${payload.at}`);
    },
  );

// 1. Enqueue (type-checked: qm.enqueue('sendEmail', { to: 1 }) does not compile), then drain.
const ids = [
  await qm.enqueue('sendEmail', { to: 'ada@example.com', subject: 'welcome' }),
  await qm.enqueue('sendEmail', { to: 'alan@example.invalid', subject: 'welcome' }, { priority: 10 }),
];
console.log('drain:');
await qm.run({ mode: 'drain', maxConcurrentTasks: 10 }); // returns when nothing is queued or running
console.log('statuses:', await waitFor(repo, ids)); // [ 'successful', 'successful' ]

// 2. A continuous worker; producers wait for their jobs through the store's events (no polling).
const stop = new AbortController();
const worker = qm.run({ signal: stop.signal, shutdownTimeout: 1_000 });
const id = await qm.enqueue('sendEmail', { to: 'grace@example.com', subject: 'reset' });
console.log('waitFor:', await waitFor(repo, [id], { timeout: 5_000 }));

// 3. A cron schedule (6 fields: every second); several schedulers on one store run each tick once.
const scheduler = new SchedulerManager(repo, { logger: 'silent' }).schedule(
  'report-tick',
  '* * * * * *',
  async ({ scheduledAt }) => {
    await qm.enqueue('report', { at: new Date(scheduledAt).toISOString() });
  },
  { timezone: 'UTC', missed: 'skip' },
);
const ticking = scheduler.run({ signal: stop.signal });
await new Promise((resolve) => setTimeout(resolve, 2_500));

stop.abort(); // graceful: running jobs finish (up to shutdownTimeout), then both loops return
await Promise.all([worker, ticking]);
console.log('stats:', qm.stats().sendEmail);
await repo.close();
