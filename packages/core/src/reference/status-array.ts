import { JOB_STATUSES, type JobStatus } from '../types.js';

const CODE = new Map<JobStatus, number>(JOB_STATUSES.map((status, i) => [status, i + 1]));

/**
 * The latest status of every id ever assigned, one byte per id, indexed by id (0 = never
 * assigned). Ids are dense and small, so this is both the smallest and the fastest history:
 * `jobStatus` stays O(1) per id after the job itself has left the store.
 */
export class StatusArray {
  #codes = new Uint8Array(1024);

  get(id: number): JobStatus | null {
    const code = id < this.#codes.length ? this.#codes[id]! : 0;
    return code === 0 ? null : JOB_STATUSES[code - 1]!;
  }

  set(id: number, status: JobStatus): void {
    if (id >= this.#codes.length) {
      let length = this.#codes.length * 2;
      while (length <= id) length *= 2;
      const grown = new Uint8Array(length);
      grown.set(this.#codes);
      this.#codes = grown;
    }
    this.#codes[id] = CODE.get(status)!;
  }

  /** Bytes held (for tests of memory use). */
  get byteLength(): number {
    return this.#codes.byteLength;
  }
}
