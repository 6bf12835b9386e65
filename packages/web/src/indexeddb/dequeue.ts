/**
 * dequeue, rule by rule as in "Port semantics, precisely" (docs/ARCHITECTURE.md) and the
 * reference adapter: token buckets, exhausted stale jobs to dead letters, then picks in ONE order
 * (priority desc, id asc) merged from the stale candidates (read from the leases) and each
 * entrypoint's ready stream (passing over the leased jobs still in the `ready` index).
 * Runs inside the call's transaction and awaits only IndexedDB requests.
 */
import type { Job } from '@tideq/core';
import { bucketCapacity, type ValidDequeueOptions, type ValidEntrypointLimits } from '@tideq/core/adapter';
import type { JobChunk, JobRecord } from './schema.js';
import { before, byId, copyJob, HIGH, type StoreTx } from './transaction.js';

/** A position in one entrypoint's `ready` index: [-priority, id] (a chunk's: [-priority, chunk key]). */
export type ReadyKey = [number, number];

/** Where dequeue last left each entrypoint's `ready` indexes, as this repository saw it (hints checked against meta). */
export interface IndexHints {
  ready: Map<string, ReadyKey>;
  chunks: Map<string, ReadyKey>;
}

/** The two stores with a `ready` index: single job records, and chunks of fresh jobs. */
type Source = 'jobs' | 'chunks';

const below = (a: ReadyKey, b: ReadyKey): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

/**
 * One entrypoint's due queued jobs of one store in dequeue order, read from its `ready` index a
 * page at a time, starting at a lower bound (MetaState.readyFrom / chunkFrom) when there is one.
 * A chunk stream yields the jobs of each chunk in id order, every one at the chunk's index key.
 */
class ReadyStream {
  readonly name: string;
  readonly source: Source;
  readonly from: ReadyKey | undefined;
  excluded = false;
  #buf: JobRecord[] = [];
  #pos = 0;
  #done = false;
  #loaded = false;
  /** The index key of the last record read (reads go on after it). */
  #lastKey: [string, number, number] | undefined;
  /** Records to read next: a page of jobs, or of chunks (few first: each holds many jobs). */
  #count: number;
  /** The first job passed over that stays in the index, and the last one taken out. */
  #firstKept: ReadyKey | undefined;
  #lastTaken: ReadyKey | undefined;
  readonly #ctx: StoreTx;
  readonly #page: number;

  #first: Promise<JobRecord[]> | null = null;

  /** `readAhead`: issue the first page's read now (it is awaited with the rest of the call's reads). */
  constructor(
    ctx: StoreTx,
    source: Source,
    name: string,
    page: number,
    readAhead: boolean,
    from: ReadyKey | undefined,
  ) {
    this.#ctx = ctx;
    this.source = source;
    this.name = name;
    this.#page = page;
    this.#count = source === 'jobs' ? page : Math.min(page, 2);
    this.from = from;
    if (readAhead) {
      this.#first = this.#read();
      this.#first.catch(() => {});
    }
  }

  async #read(): Promise<JobRecord[]> {
    const last = this.#lastKey;
    const range =
      last !== undefined
        ? IDBKeyRange.bound(last, [this.name, HIGH], true)
        : this.from !== undefined
          ? IDBKeyRange.bound([this.name, ...this.from], [this.name, HIGH])
          : IDBKeyRange.bound([this.name], [this.name, HIGH]);
    const count = this.#count;
    if (this.source === 'chunks') this.#count = Math.min(this.#page, count * 4);
    const records =
      this.source === 'jobs'
        ? await this.#ctx.tx.objectStore('jobs').index('ready').getAll(range, count)
        : await this.#ctx.tx.objectStore('chunks').index('ready').getAll(range, count);
    if (records.length < count) this.#done = true;
    if (records.length > 0) this.#lastKey = records.at(-1)!.r;
    if (this.source === 'jobs') return records as JobRecord[];
    return (records as JobChunk[]).flatMap((chunk) => this.#ctx.register(chunk));
  }

  /**
   * The next due candidate, or undefined. Leased (picked) jobs are gone past like picked ones; jobs
   * whose executeAfter is ahead of now (the clock went back) are passed over and stay.
   */
  async head(now: number, leased: ReadonlySet<number>): Promise<JobRecord | undefined> {
    for (;;) {
      if (this.#pos < this.#buf.length) {
        const job = this.#buf[this.#pos]!;
        if (leased.has(job.id)) this.pop();
        else if (job.executeAfter <= now) return job;
        else this.skip();
        continue;
      }
      if (this.#done && this.#loaded) return undefined;
      const first = this.#first;
      this.#first = null;
      this.#buf = await (first ?? this.#read());
      this.#loaded = true;
      this.#pos = 0;
      if (this.#buf.length === 0 && this.#done) return undefined;
    }
  }

  /** The head was picked: it leaves the index. */
  pop(): void {
    const r = this.#buf[this.#pos++]!.r!;
    this.#lastTaken = [r[1], r[2]];
  }

  /** The head stays queued (in the index) but this pass goes past it. */
  skip(): void {
    const r = this.#buf[this.#pos++]!.r!;
    this.#firstKept ??= [r[1], r[2]];
  }

  /** A lower bound of this entrypoint's ready entries once the pass's picks left the index. */
  bound(): ReadyKey | undefined {
    if (this.#firstKept !== undefined) return this.#firstKept;
    const head = this.#buf[this.#pos]?.r;
    if (head !== undefined) return [head[1], head[2]];
    if (!this.#loaded) return this.from;
    if (this.#lastTaken === undefined) return this.from;
    // Every job read was taken: a chunk taken whole needs no second read (its jobs are leased, and
    // a leased job that goes back to queued leaves its chunk), so the bound goes past its key.
    return this.source === 'chunks' ? [this.#lastTaken[0], this.#lastTaken[1] + 1] : this.#lastTaken;
  }
}

/** Pick jobs for validated options `o` in the call's transaction `ctx`. */
export async function pickJobs(ctx: StoreTx, o: ValidDequeueOptions, hints: IndexHints): Promise<Job[]> {
  const { now } = ctx;
  const caller = o.queueManagerId;
  const jobs = ctx.tx.objectStore('jobs');
  // One round trip for the counters, the first page of every ready stream and the stale picks.
  // The ready reads start at the bounds this repository saw last (`hints`), checked against the
  // counters record below: a bound another tab lowered meanwhile means a second read.
  const page = o.batchSize + 8;
  const hinted = (source: Source) => (source === 'jobs' ? hints.ready : hints.chunks);
  const SOURCES: Source[] = ['jobs', 'chunks'];
  let streams = [...o.entrypoints.keys()].flatMap((name) =>
    SOURCES.map((source) => new ReadyStream(ctx, source, name, page, true, hinted(source).get(name))),
  );
  const [meta, leases] = await Promise.all([ctx.metaReady, ctx.loadLeases()]);
  // The jobs picked when the call started: their queued records stay in `ready` (or in their chunk),
  // and the streams pass them over (also once this call took them out of their lease, as dead
  // letters or re-picks).
  const leased = new Set(leases.keys());
  meta.readyFrom ??= new Map();
  meta.chunkFrom ??= new Map();
  const bounds = (source: Source) => (source === 'jobs' ? meta.readyFrom! : meta.chunkFrom!);
  const covers = (hint: ReadyKey | undefined, bound: ReadyKey | undefined): boolean =>
    hint === undefined || (bound !== undefined && !below(bound, hint));
  streams = streams.map((stream) => {
    const bound = bounds(stream.source).get(stream.name);
    return covers(stream.from, bound)
      ? stream
      : new ReadyStream(ctx, stream.source, stream.name, page, false, bound);
  });
  // Stale picks: leased jobs of the requested entrypoints with heartbeat older than retryTimer
  // (their records are read only when there are some).
  const staleIds: number[] = [];
  for (const [id, [lease, entry]] of leases) {
    const lim = o.entrypoints.get(entry.e);
    if (lim !== undefined && lim.retryTimer > 0 && lease.h < now - lim.retryTimer) staleIds.push(id);
  }
  const staleFound = staleIds.length === 0 ? [] : await ctx.getJobs(staleIds.sort((a, b) => a - b));

  // 1. Token buckets, refilled in exactly this arithmetic so every adapter agrees.
  for (const [name, lim] of o.entrypoints) {
    if (lim.requestsPerSecond <= 0) continue;
    const rps = lim.requestsPerSecond;
    const capacity = bucketCapacity(rps);
    const bucket = meta.buckets.get(name);
    if (bucket === undefined) {
      meta.buckets.set(name, { tokens: capacity, updatedAt: now });
    } else {
      bucket.tokens = Math.min(capacity, bucket.tokens + (Math.max(0, now - bucket.updatedAt) * rps) / 1000);
      bucket.updatedAt = now;
    }
    ctx.metaDirty = true;
  }

  // Promote waiting jobs that are due now into the ready index (no observable change); the
  // first pages read above miss them, so those streams read again.
  let promoted = false;
  for (const name of o.entrypoints.keys()) {
    if ((meta.waiting.get(name) ?? 0) === 0) continue;
    const due = await jobs.index('timed').getAll(IDBKeyRange.bound([name], [name, now, HIGH]));
    for (const job of due) {
      if (job.r !== undefined) continue;
      ctx.leave(job);
      ctx.enter(job);
      promoted = true;
    }
  }
  if (promoted)
    streams = streams.map((stream) =>
      stream.source === 'jobs'
        ? new ReadyStream(ctx, 'jobs', stream.name, page, false, meta.readyFrom!.get(stream.name))
        : stream,
    );

  // Stale picked jobs: exhausted ones become dead letters, the others are candidates.
  const lost: JobRecord[] = [];
  const stale: JobRecord[] = [];
  for (const job of staleFound) {
    if (job === undefined) continue;
    const lim = o.entrypoints.get(job.entrypoint)!;
    if (lim.maxAttempts > 0 && job.attempts >= lim.maxAttempts) lost.push(job);
    else stale.push(job);
  }

  // 2. Exhausted stale jobs become dead letters, in id order across entrypoints.
  lost.sort(byId);
  for (const job of lost) {
    const lim = o.entrypoints.get(job.entrypoint)!;
    const holder = job.queueManagerId;
    const error = `worker lost: no heartbeat for ${lim.retryTimer} ms after ${job.attempts} attempts`;
    ctx.leave(job);
    job.status = 'failed';
    job.lastError = error;
    job.queueManagerId = null;
    job.updated = now;
    ctx.enter(job);
    ctx.record(job, 'failed', holder, error);
  }

  // 3. Picks: merge the stale candidates with each entrypoint's ready stream, in one order.
  stale.sort((a, b) => (before(a, b) ? -1 : 1));
  const picked: Job[] = [];
  let staleIndex = 0;
  let lastVisited: JobRecord | undefined;
  while (picked.length < o.batchSize) {
    let candidate: JobRecord | undefined = stale[staleIndex];
    let from: ReadyStream | undefined;
    for (const stream of streams) {
      if (stream.excluded) continue;
      const head = await stream.head(now, leased);
      if (head !== undefined && (candidate === undefined || before(head, candidate))) {
        candidate = head;
        from = stream;
      }
    }
    if (candidate === undefined) break;
    const isStale = from === undefined;

    // maxOwned: stop, unless this is a stale re-pick of a job the caller already holds.
    if ((meta.owned.get(caller) ?? 0) >= o.maxOwned) {
      if (!isStale || candidate.queueManagerId !== caller) break;
      if (await excludedBetween(streams, lastVisited, candidate, now, leased)) break;
    }
    lastVisited = candidate;
    if (isStale) staleIndex++;

    const lim: ValidEntrypointLimits = o.entrypoints.get(candidate.entrypoint)!;
    const bucket = lim.requestsPerSecond > 0 ? meta.buckets.get(candidate.entrypoint) : undefined;
    // Rate: tokens only fall during a pass, so the rest of this entrypoint would be skipped too.
    const entrypoint = candidate.entrypoint;
    const exclude = () => {
      for (const stream of streams) if (stream.name === entrypoint) stream.excluded = true;
    };
    if (bucket !== undefined && bucket.tokens < 1) {
      if (from !== undefined) exclude();
      continue;
    }
    // Concurrency: picked counts only grow during a pass; stale re-picks pass the gate.
    if (
      from !== undefined &&
      lim.concurrencyLimit > 0 &&
      (meta.picked.get(candidate.entrypoint) ?? 0) >= lim.concurrencyLimit
    ) {
      exclude();
      continue;
    }

    if (from !== undefined) from.pop();
    if (bucket !== undefined) bucket.tokens -= 1;
    ctx.leave(candidate);
    candidate.status = 'picked';
    candidate.attempts += 1;
    candidate.heartbeat = now;
    candidate.updated = now;
    candidate.queueManagerId = caller;
    ctx.enter(candidate);
    ctx.record(candidate, 'picked', caller, null);
    picked.push(copyJob(candidate));
  }
  // Raise each entrypoint's bounds past the jobs this pass took out of the indexes.
  for (const stream of streams) {
    const bound = stream.bound();
    if (bound === undefined) continue;
    bounds(stream.source).set(stream.name, bound);
    hinted(stream.source).set(stream.name, bound);
    ctx.metaDirty = true;
  }
  return picked;
}

/**
 * Whether an excluded stream holds a candidate strictly between `after` and `until` in candidate
 * order: such a candidate would add to the caller's jobs, so at maxOwned it stops the pass.
 */
async function excludedBetween(
  streams: ReadyStream[],
  after: JobRecord | undefined,
  until: JobRecord,
  now: number,
  leased: ReadonlySet<number>,
): Promise<boolean> {
  for (const stream of streams) {
    if (!stream.excluded) continue;
    for (;;) {
      const head = await stream.head(now, leased);
      if (head === undefined || !before(head, until)) break;
      stream.skip();
      if (after === undefined || before(after, head)) return true;
    }
  }
  return false;
}
