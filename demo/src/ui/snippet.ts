/**
 * The code that reproduces the playground's current configuration with the library: for the
 * browser stores a Worker module (`hostQueue`) and the page (`connectQueue`), as the playground
 * itself runs; for PostgreSQL a server process on `createPostgresQueue`.
 */
import type { EnqueueRequest, EntrypointConfig, PlaygroundConfig } from '../protocol.ts';

const q = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

function storeExpression(config: PlaygroundConfig): { imports: string[]; open: string; note: string } {
  switch (config.store) {
    case 'memory':
      return { imports: [], open: 'createMemoryQueue()', note: 'the WASM core, in this Worker only' };
    case 'durable':
      return {
        imports: ["import { createDurableMemoryQueue } from '@tideq/web';"],
        open: "createDurableMemoryQueue({ name: 'my-queue' })",
        note: 'the WASM core, snapshotted to IndexedDB',
      };
    case 'indexeddb':
      return {
        imports: ["import { createIndexedDbQueue } from '@tideq/web';"],
        open: "createIndexedDbQueue({ name: 'my-queue' })",
        note: 'every job and transition in IndexedDB',
      };
    case 'postgres':
      return { imports: [], open: '', note: '' };
  }
}

function entrypointLines(ep: EntrypointConfig, indent: string): string[] {
  const options = [
    'codec: jsonCodec<{ n: number }>()',
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
    ep.hangPercent > 0 ? `${ep.hangPercent}% hangs` : null,
  ]
    .filter(Boolean)
    .join(', ');
  return [
    `${indent}.entrypoint(${q(ep.name)}, { ${options.join(', ')} }, async ({ payload, signal }) => {`,
    `${indent}  // your handler (the playground simulates ${behaviour}); honour signal: timeouts, cancels`,
    `${indent}})`,
  ];
}

function scheduleLines(
  config: PlaygroundConfig,
  indent: string,
  enqueueCall: (s: string) => string,
): string[] {
  const lines = [`${indent}new SchedulerManager(queue)`];
  for (const s of config.schedules) {
    lines.push(
      `${indent}  .schedule(${q(s.name)}, ${q(s.expression)}, async () => {`,
      `${indent}    ${enqueueCall(`Array.from({ length: ${s.jobsPerTick} }, (_, n) => ({ entrypoint: ${q(s.entrypoint)}, payload: json({ n }) }))`)};`,
      `${indent}  }, { missed: 'skip' })`,
    );
  }
  return lines;
}

function enqueueLines(lastEnqueue: EnqueueRequest | null, call: string): string[] {
  if (!lastEnqueue) return ['// enqueue with the form: the call appears here'];
  const fields = [
    `entrypoint: ${q(lastEnqueue.entrypoint)}`,
    call === 'queue.enqueueMany' ? 'payload: { n }' : 'payload: json({ n })',
    lastEnqueue.priority !== 0 ? `priority: ${lastEnqueue.priority}` : null,
    lastEnqueue.delayMs > 0 ? `executeAfter: Date.now() + ${lastEnqueue.delayMs}` : null,
    lastEnqueue.dedupeKey !== '' ? `dedupeKey: ${q(lastEnqueue.dedupeKey)}` : null,
  ].filter(Boolean);
  return [
    `// the last enqueue: ${lastEnqueue.count.toLocaleString('en-US')} job(s), one atomic batch`,
    `await ${call}(`,
    `  Array.from({ length: ${lastEnqueue.count} }, (_, n) => ({ ${fields.join(', ')} })),`,
    `  { onConflict: 'skip' }, // a held dedupe key skips the job instead of failing the batch`,
    ');',
  ];
}

export function snippet(
  config: PlaygroundConfig,
  lastEnqueue: EnqueueRequest | null,
  driver: string | null,
): string {
  const run = `{ batchSize: ${config.worker.batchSize}, maxConcurrentTasks: ${config.worker.maxConcurrentTasks} }`;
  const scheduled = config.schedules.length > 0;
  if (config.store === 'postgres') {
    const lines = [
      `// server.ts: a Node, Deno or edge process (the playground's dev server uses ${driver ?? "Neon's serverless driver"})`,
      "import { Pool } from '@neondatabase/serverless';",
      `import { jsonCodec, QueueManager${scheduled ? ', SchedulerManager' : ''} } from '@tideq/core';`,
      "import { createPostgresQueue, neonPoolDriver } from '@tideq/postgres';",
      '',
      'const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));',
      'const queue = createPostgresQueue({ driver: neonPoolDriver(new Pool({ connectionString: process.env.DATABASE_URL })) });',
      'await queue.install(); // idempotent',
      'const manager = new QueueManager(queue)',
      ...config.entrypoints.flatMap((ep) => entrypointLines(ep, '  ')),
    ];
    lines[lines.length - 1] += ';';
    if (scheduled) {
      lines.push(
        'const scheduler = ' +
          scheduleLines(config, '', (a) => `await queue.enqueue(${a})`)
            .join('\n')
            .trimStart(),
      );
      lines[lines.length - 1] += ';';
      lines.push('void scheduler.run();');
    }
    lines.push(
      '',
      ...enqueueLines(lastEnqueue, 'queue.enqueue'),
      '',
      config.paused ? `// paused: await manager.run(${run});` : `await manager.run(${run});`,
    );
    return lines.join('\n');
  }
  const store = storeExpression(config);
  const core = ['jsonCodec', 'QueueManager'];
  if (config.store === 'memory') core.unshift('createMemoryQueue');
  if (scheduled) core.push('SchedulerManager');
  const worker = [
    '// queue.worker.ts: the queue and its handlers live in a Worker',
    `import { ${core.join(', ')} } from '@tideq/core';`,
    ...store.imports,
    "import { hostQueue } from '@tideq/web/worker';",
    '',
    ...(scheduled
      ? ['const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));']
      : []),
    'export const host = hostQueue({',
    `  store: () => ${store.open}, // ${store.note}`,
    '  manager: (queue) =>',
    '    new QueueManager(queue)',
    ...config.entrypoints.flatMap((ep) => entrypointLines(ep, '      ')),
  ];
  worker[worker.length - 1] += ',';
  if (scheduled) {
    worker.push(
      '  scheduler: (queue) =>',
      ...scheduleLines(config, '    ', (a) => `await queue.enqueue(${a})`),
    );
    worker[worker.length - 1] += ',';
  }
  worker.push(`  run: ${run},`);
  if (config.paused) worker.push('  autoStart: false, // paused: the page calls queue.resume()');
  worker.push('});', 'export type PlaygroundQueue = typeof host;');
  const page = [
    '',
    '// main.ts: the page',
    "import { jsonCodec } from '@tideq/core';",
    "import { connectQueue } from '@tideq/web';",
    "import type { PlaygroundQueue } from './queue.worker';",
    '',
    "const worker = new Worker(new URL('./queue.worker.ts', import.meta.url), { type: 'module' });",
    `const codecs = { ${config.entrypoints.map((e) => `${q(e.name)}: jsonCodec<{ n: number }>()`).join(', ')} };`,
    'const queue = connectQueue<PlaygroundQueue>(worker, { codecs }); // payloads packed into one transferred buffer',
    ...enqueueLines(lastEnqueue, 'queue.enqueueMany'),
  ];
  return [...worker, ...page].join('\n');
}
