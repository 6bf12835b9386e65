/**
 * One cold start on Node, run in a fresh process: instantiate the WASM (file read + compile) + the
 * first enqueue through handler.fetch. Node's own lazy start-up of Request and crypto.subtle (about
 * 150 ms here, paid by any fetch handler) is warmed first by a request the auth check refuses
 * before the store is touched, as on workerd.
 */
import { createMemoryQueue, QueueManager } from '@tideq/core';
import { createEdgeHandler } from '@tideq/edge';

const handler = createEdgeHandler({
  store: () => createMemoryQueue({ wasm: new URL(`file://${process.argv[2]!}`) }),
  manager: (store) => new QueueManager(store, { logger: 'silent' }).entrypoint('noop', async () => {}),
  auth: { tokens: ['bench-token-0123456789'] },
});
const post = (token: string) =>
  handler.fetch(
    new Request('http://bench/jobs', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"entrypoint":"noop"}',
    }),
  );

const refused = await post('wrong-token-0123456789');
if (refused.status !== 401) throw new Error(`expected 401, got ${refused.status}`);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const response = await post('bench-token-0123456789');
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
if (response.status !== 201) throw new Error(`enqueue failed: ${response.status} ${await response.text()}`);
console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000 }));
