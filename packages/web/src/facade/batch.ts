/**
 * The enqueue batch on the wire: the page encodes the jobs ONCE, with the handlers' codecs, into
 * the WASM core's own enqueue request (`EnqueueBatchWriter` from @tideq/core/adapter: the same
 * writer the WASM store uses, validating every job as it goes), and transfers its one buffer to
 * the worker, which hands the bytes to the WASM store as they are (`enqueueEncoded`) or decodes
 * them for any other store.
 */
import type { Codec, NewJob } from '@tideq/core';
import { type EncodedEnqueue, EnqueueBatchWriter, type Limits } from '@tideq/core/adapter';

export type { EncodedEnqueue };

/** A job as the page passes it. */
export interface PageJob {
  entrypoint: string;
  payload?: unknown;
  priority?: number;
  executeAfter?: number | Date;
  dedupeKey?: string | null;
  headers?: NewJob['headers'];
}

/** Jobs written between two looks at the clock. */
const SLICE = 256;
/**
 * Most milliseconds of encoding in one task: a batch that takes longer (some 20,000+ jobs with a
 * JSON codec) goes on in later tasks, so the page never holds its main thread near the 50 ms of a
 * long task. A batch of 1,000 jobs x 256 bytes takes ~0.3 ms.
 */
const TASK_BUDGET_MS = 8;

function nextTask(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (typeof scheduler?.yield === 'function') return scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The page codec of each entrypoint, if every entrypoint the jobs name has one; else null (the
 * batch then goes as values and the worker's codecs encode it).
 */
export function pageCodecs(
  jobs: readonly PageJob[],
  codecs: Readonly<Record<string, Codec<unknown> | undefined>>,
): ((entrypoint: string) => Codec<unknown>) | null {
  let last: unknown;
  for (let i = 0; i < jobs.length; i++) {
    const name = jobs[i]?.entrypoint;
    if (name === last && i > 0) continue;
    if (typeof name !== 'string' || !Object.hasOwn(codecs, name) || codecs[name] === undefined) return null;
    last = name;
  }
  return (entrypoint) => codecs[entrypoint] as Codec<unknown>;
}

/**
 * Encodes a batch: in the caller's task for all but very large batches (the caller may change its
 * jobs once the call returns), then in further tasks of at most TASK_BUDGET_MS each.
 */
export async function encodeBatch(
  jobs: readonly PageJob[],
  onConflict: 'raise' | 'skip',
  options: {
    codec: (entrypoint: string) => Codec<unknown>;
    limits?: Partial<Limits>;
    capacity?: number;
    buffer?: ArrayBuffer;
  },
): Promise<EncodedEnqueue> {
  const n = jobs.length;
  const writer = new EnqueueBatchWriter(n, onConflict, options);
  let started = performance.now();
  for (let i = 0; i < n; ) {
    const to = Math.min(i + SLICE, n);
    writer.write(jobs as readonly NewJob[], i, to);
    i = to;
    if (i < n && performance.now() - started > TASK_BUDGET_MS) {
      await nextTask();
      started = performance.now();
    }
  }
  return writer.finish();
}

/**
 * Ids as they cross back: a run of consecutive ids (the usual answer) as its first id and count,
 * anything else as the array. Cloning a 1,000-number array cost ~0.3 ms of CPU per batch here.
 */
export type WireIds = (number | null)[] | { first: number; count: number };

/** @internal */
export function idsToWire(ids: (number | null)[]): WireIds {
  const first = ids[0];
  if (ids.length < 2 || typeof first !== 'number') return ids;
  for (let i = 1; i < ids.length; i++) if (ids[i] !== first + i) return ids;
  return { first, count: ids.length };
}

/** @internal */
export function idsFromWire(wire: WireIds): (number | null)[] {
  if (Array.isArray(wire)) return wire;
  const out = new Array<number>(wire.count);
  for (let i = 0; i < wire.count; i++) out[i] = wire.first + i;
  return out;
}
