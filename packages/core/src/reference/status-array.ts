import { JOB_STATUSES, type JobStatus } from '../types.js';

const CODE = new Map<JobStatus, number>(JOB_STATUSES.map((status, i) => [status, i + 1]));

/**
 * The latest status of every id from `base` on, one byte per id, indexed by `id - base` (0 = never
 * assigned). Ids are dense and small, so this is both the smallest and the fastest history:
 * `jobStatus` stays O(1) per id after the job itself has left the store. `forgetBelow` drops the
 * prefix that compaction made unreachable, so a long run keeps only recent history.
 */
export class StatusArray {
  #codes = new Uint8Array(1024);
  #base = 1;

  get(id: number): JobStatus | null {
    const i = id - this.#base;
    const code = i >= 0 && i < this.#codes.length ? this.#codes[i]! : 0;
    return code === 0 ? null : JOB_STATUSES[code - 1]!;
  }

  set(id: number, status: JobStatus): void {
    const i = id - this.#base;
    if (i < 0) return;
    if (i >= this.#codes.length) {
      let length = this.#codes.length * 2;
      while (length <= i) length *= 2;
      const grown = new Uint8Array(length);
      grown.set(this.#codes);
      this.#codes = grown;
    }
    this.#codes[i] = CODE.get(status)!;
  }

  /** Forget every id below `base` (they answer null from now on). */
  forgetBelow(base: number): void {
    if (base <= this.#base) return;
    const kept = this.#codes.subarray(Math.min(base - this.#base, this.#codes.length));
    const codes = new Uint8Array(Math.max(1024, kept.length));
    codes.set(kept);
    this.#codes = codes;
    this.#base = base;
  }

  /** Bytes held (for tests of memory use). */
  get byteLength(): number {
    return this.#codes.byteLength;
  }
}
