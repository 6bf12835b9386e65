/**
 * The worker side of bench.ts, in its own process so its CPU time (process.cpuUsage) is the
 * workers' alone. Talks to the harness over IPC:
 *   argv: <system> <url> <workers> <concurrency> <batch> <jobs> <wsProxyPort>
 *   -> {type:'ready'}            imported and connected nothing yet
 *   <- {type:'go'}               start the workers on the backlog
 *   -> {type:'done', seconds, cpuUs}   once `jobs` handlers have started
 *   <- {type:'trickle', count}   record enqueue-to-start latency of the next `count` jobs
 *   -> {type:'latencies', ms}
 *   <- {type:'stop'}             stop the workers and exit
 */
import { configureNeon, type Payload, type SystemKey, startWorkers, type Workers } from './systems.ts';

const [key, url, workers, concurrency, batch, jobs, wsPort] = process.argv.slice(2);
const N = Number(jobs);
const send = (msg: unknown) => process.send!(msg);

configureNeon(Number(wsPort));
let done = 0;
let t0 = 0;
let cpu0 = process.cpuUsage();
let reported = false;
let trickle: { count: number; ms: number[] } | undefined;
let running: Workers | undefined;

const onJob = (payload: Payload) => {
  done++;
  if (trickle) {
    trickle.ms.push(Date.now() - payload.t);
    if (trickle.ms.length === trickle.count) send({ type: 'latencies', ms: trickle.ms });
  } else if (!reported && done >= N) {
    reported = true;
    const cpu = process.cpuUsage(cpu0);
    send({ type: 'done', seconds: (performance.now() - t0) / 1000, cpuUs: cpu.user + cpu.system });
  }
};

process.on('message', async (msg: { type: string; count?: number }) => {
  try {
    if (msg.type === 'go') {
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      running = await startWorkers(
        key as SystemKey,
        url!,
        { workers: Number(workers), concurrency: Number(concurrency), batch: Number(batch) },
        onJob,
      );
    } else if (msg.type === 'trickle') {
      trickle = { count: msg.count!, ms: [] };
    } else if (msg.type === 'stop') {
      await running?.stop();
      process.exit(0);
    }
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
});
send({ type: 'ready' });
