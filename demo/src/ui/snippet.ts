/** The code that reproduces the playground's current configuration with the library. */
import type { EnqueueRequest, PlaygroundConfig } from '../protocol.ts';

const q = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

function storeLines(config: PlaygroundConfig, driver: string | null): { imports: string[]; open: string[] } {
  switch (config.store) {
    case 'memory':
      return {
        imports: [],
        open: [
          '// In a Worker: the WASM core, in memory (gone when the Worker ends).',
          'const queue = await createMemoryQueue();',
        ],
      };
    case 'durable':
      return {
        imports: ["import { createDurableMemoryQueue } from '@tideq/web';"],
        open: [
          '// In a Worker: the WASM core, snapshotted to IndexedDB (survives reloads and a killed Worker).',
          "const queue = await createDurableMemoryQueue({ name: 'my-queue' });",
        ],
      };
    case 'indexeddb':
      return {
        imports: ["import { createIndexedDbQueue } from '@tideq/web';"],
        open: [
          '// In a Worker: every job and transition in IndexedDB.',
          "const queue = await createIndexedDbQueue({ name: 'my-queue' });",
          'await queue.install();',
        ],
      };
    case 'postgres':
      return {
        imports: [
          "import { Pool } from '@neondatabase/serverless';",
          "import { createPostgresQueue, neonPoolDriver } from '@tideq/postgres';",
        ],
        open: [
          `// On a server or an edge function (the playground's dev server uses: ${driver ?? 'Neon WebSocket Pool'}).`,
          'const pool = new Pool({ connectionString: process.env.DATABASE_URL });',
          'const queue = createPostgresQueue({ driver: neonPoolDriver(pool) });',
          'await queue.install(); // idempotent',
        ],
      };
  }
}

export function snippet(
  config: PlaygroundConfig,
  lastEnqueue: EnqueueRequest | null,
  driver: string | null,
): string {
  const store = storeLines(config, driver);
  const core = ['QueueManager'];
  if (config.store === 'memory') core.unshift('createMemoryQueue');
  if (config.schedules.length > 0) core.push('SchedulerManager');
  const lines = [
    `import { ${core.join(', ')} } from '@tideq/core';`,
    ...store.imports,
    '',
    ...store.open,
    '',
  ];
  lines.push("const manager = new QueueManager(queue, { logger: 'silent' })");
  for (const ep of config.entrypoints) {
    const options = [
      ep.concurrencyLimit > 0 ? `concurrencyLimit: ${ep.concurrencyLimit}` : null,
      ep.requestsPerSecond > 0 ? `requestsPerSecond: ${ep.requestsPerSecond}` : null,
      ep.retryTimer > 0 ? `retryTimer: ${ep.retryTimer}` : null,
      `maxAttempts: ${ep.maxAttempts}`,
      ep.timeout > 0 ? `timeout: ${ep.timeout}` : null,
      `retry: { baseDelay: ${ep.retryDelay} }`,
    ].filter(Boolean);
    const behaviour = [
      `~${ep.durationMs} ms`,
      ep.failurePercent > 0 ? `${ep.failurePercent}% failures` : null,
      ep.hangPercent > 0 ? `${ep.hangPercent}% hang` : null,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `  .entrypoint(${q(ep.name)}, { ${options.join(', ')} }, async ({ payload, signal }) => {`,
      `    // your handler here (the playground simulates ${behaviour}); honour signal for timeouts and cancels`,
      '  })',
    );
  }
  lines[lines.length - 1] += ';';
  lines.push('');
  if (lastEnqueue) {
    const opts = [
      `entrypoint: ${q(lastEnqueue.entrypoint)}`,
      'payload',
      lastEnqueue.priority !== 0 ? `priority: ${lastEnqueue.priority}` : null,
      lastEnqueue.delayMs > 0 ? `executeAfter: Date.now() + ${lastEnqueue.delayMs}` : null,
      lastEnqueue.dedupeKey !== '' ? `dedupeKey: ${q(lastEnqueue.dedupeKey)}` : null,
    ].filter(Boolean);
    lines.push(
      `// The last enqueue: ${lastEnqueue.count} job(s) of ~${lastEnqueue.payloadBytes} bytes, one atomic batch.`,
      `const payload = new TextEncoder().encode(JSON.stringify({ n: 1 }));`,
      `await queue.enqueue(Array.from({ length: ${lastEnqueue.count} }, () => ({ ${opts.join(', ')} }))${lastEnqueue.dedupeKey !== '' ? ", { onConflict: 'skip' }" : ''});`,
      '',
    );
  }
  const stop = ['const stop = new AbortController();'];
  lines.push(...stop);
  if (config.schedules.length > 0) {
    lines.push("const scheduler = new SchedulerManager(queue, { logger: 'silent' })");
    for (const s of config.schedules) {
      lines.push(
        `  .schedule(${q(s.name)}, ${q(s.expression)}, async () => {`,
        `    await queue.enqueue(Array.from({ length: ${s.jobsPerTick} }, () => ({ entrypoint: ${q(s.entrypoint)} })));`,
        "  }, { missed: 'skip' })",
      );
    }
    lines[lines.length - 1] += ';';
    lines.push('void scheduler.run({ signal: stop.signal });');
  }
  const run = `await manager.run({ batchSize: ${config.worker.batchSize}, maxConcurrentTasks: ${config.worker.maxConcurrentTasks}, signal: stop.signal });`;
  lines.push(config.paused ? `// paused: the manager is not running\n// ${run}` : run);
  if (config.store !== 'postgres') {
    lines.push(
      '',
      "// The page talks to the Worker's queue with @tideq/web: hostQueue(queue) in the Worker,",
      "// const queue = connectQueue(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })) on the page.",
    );
  }
  return lines.join('\n');
}
