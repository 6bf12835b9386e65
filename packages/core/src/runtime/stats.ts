/** Per-entrypoint counters and latency samples kept by a QueueManager. */
import type { EntrypointStats } from './types.js';

const SAMPLES = 1024;

/** @internal Counters of one entrypoint; two ring buffers of the last 1024 latencies. */
export class EntrypointCounters {
  picked = 0;
  successful = 0;
  retried = 0;
  failed = 0;
  exception = 0;
  cancelled = 0;
  timedOut = 0;
  running = 0;
  readonly #wait = new Float64Array(SAMPLES);
  readonly #run = new Float64Array(SAMPLES);
  #waitCount = 0;
  #runCount = 0;

  recordWait(ms: number): void {
    this.#wait[this.#waitCount++ & (SAMPLES - 1)] = Math.max(ms, 0);
  }

  recordRun(ms: number): void {
    this.#run[this.#runCount++ & (SAMPLES - 1)] = Math.max(ms, 0);
  }

  snapshot(): EntrypointStats {
    return {
      picked: this.picked,
      successful: this.successful,
      retried: this.retried,
      failed: this.failed,
      exception: this.exception,
      cancelled: this.cancelled,
      timedOut: this.timedOut,
      running: this.running,
      waitMs: percentiles(this.#wait, this.#waitCount),
      runMs: percentiles(this.#run, this.#runCount),
    };
  }
}

function percentiles(ring: Float64Array, count: number): { p50: number; p95: number } {
  const n = Math.min(count, SAMPLES);
  if (n === 0) return { p50: 0, p95: 0 };
  const sorted = ring.slice(0, n).sort();
  return { p50: sorted[Math.ceil(n * 0.5) - 1]!, p95: sorted[Math.ceil(n * 0.95) - 1]! };
}
