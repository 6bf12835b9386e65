/**
 * A snapshot of everything a QueueRepository lets a caller observe, taken through public reads
 * only. Two dumps compare equal with `toEqual` exactly when no observable state changed.
 */
import type { QueueRepository } from '../port.js';
import type { Job, JobEvent, JobStatus, QueueSizeRow, Schedule, StatisticsRow } from '../types.js';

/** Everything a store shows through its read methods, for comparing a store before and after a call. */
export interface RepositoryDump {
  /** The highest job id found (0 for a store that never assigned one). */
  maxId: number;
  queueSize: QueueSizeRow[];
  /** `getJobs` over ids 1..maxId (index i holds id i + 1). */
  jobs: (Job | null)[];
  /** `jobStatus` over ids 1..maxId. */
  statuses: (JobStatus | null)[];
  log: JobEvent[];
  /** The newest 1000 statistics buckets (the port has no cursor to page further). */
  statistics: StatisticsRow[];
  failedJobs: Job[];
  schedules: Schedule[];
}

/** Options of `dumpRepository`. */
export interface DumpOptions {
  /** A known lower bound of the highest assigned id (e.g. the last id `enqueue` returned). */
  maxId?: number;
}

// How far past the highest id seen in the log we probe with jobStatus: the log may have been
// compacted, so the newest ids can be missing from it.
const PROBE = 64;
const MAX_PROBED_ID = 1 << 20;
// Ids per read call, well under the default maxBatch.
const CHUNK = 4096;

/**
 * Capture the full observable state of `repo` using only public reads: queueSize, getJobs and
 * jobStatus over ids 1..maxId, the whole log, statistics, failedJobs and listSchedules.
 *
 * @param repo the repository to read (never written to)
 * @param options.maxId a known lower bound of the highest assigned id
 * @example
 * const before = await dumpRepository(repo);
 * await expect(repo.enqueue([{ entrypoint: '' }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
 * expect(await dumpRepository(repo)).toEqual(before);
 */
export async function dumpRepository(
  repo: QueueRepository,
  options: DumpOptions = {},
): Promise<RepositoryDump> {
  const log: JobEvent[] = [];
  for (let after = 0; ; ) {
    const page = await repo.log({ after, limit: 1000 });
    log.push(...page);
    if (page.length < 1000) break;
    after = page[page.length - 1]!.seq;
  }
  const failedJobs: Job[] = [];
  for (let after = 0; ; ) {
    const page = await repo.failedJobs({ after, limit: 100 });
    failedJobs.push(...page);
    if (page.length < 100) break;
    after = page[page.length - 1]!.id;
  }
  const queueSize = await repo.queueSize();
  const statistics = await repo.statistics({ limit: 1000 });
  const schedules = await repo.listSchedules();

  let maxId = options.maxId ?? 0;
  for (const e of log) maxId = Math.max(maxId, e.jobId);
  for (const j of failedJobs) maxId = Math.max(maxId, j.id);
  // Blocks double in size, so a store whose log was compacted away is still found quickly; the
  // cap stops a store that reports statuses for ids it never assigned from looping forever.
  for (let block = PROBE; ; block = Math.min(block * 2, CHUNK)) {
    if (maxId > MAX_PROBED_ID) {
      throw new Error(
        `dumpRepository: jobStatus reports statuses beyond id ${MAX_PROBED_ID}; ids never assigned must be null`,
      );
    }
    const probe = Array.from({ length: block }, (_, i) => maxId + 1 + i);
    const found = await repo.jobStatus(probe);
    const last = found.findLastIndex((s) => s !== null);
    if (last < 0) break;
    maxId = probe[last]!;
  }
  const jobs: (Job | null)[] = [];
  const statuses: (JobStatus | null)[] = [];
  for (let from = 1; from <= maxId; from += CHUNK) {
    const ids = Array.from({ length: Math.min(CHUNK, maxId - from + 1) }, (_, i) => from + i);
    jobs.push(...(await repo.getJobs(ids)));
    statuses.push(...(await repo.jobStatus(ids)));
  }
  return { maxId, queueSize, jobs, statuses, log, statistics, failedJobs, schedules };
}
