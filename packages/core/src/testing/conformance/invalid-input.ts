import { describe, it } from 'vitest';
import type { TideqErrorCode } from '../../errors.js';
import type { DequeueOptions, QueueRepository } from '../../port.js';
import type { NewJob, ScheduleInput } from '../../types.js';
import type { Limits } from '../../validation.js';
import {
  dequeue,
  enqueueIds,
  expectRejectedUnchanged,
  job,
  type ScenarioGroup,
  useRepository,
} from './harness.js';

type Case = [
  name: string,
  code: TideqErrorCode,
  call: (repo: QueueRepository, now: number) => Promise<unknown>,
];

// Bad values reach the port from untyped callers (JSON over HTTP, Comlink), hence the casts.
const badJob = (fields: Record<string, unknown>): NewJob =>
  ({ entrypoint: 'a', ...fields }) as unknown as NewJob;
const enqueueBad = (fields: Record<string, unknown>) => (repo: QueueRepository) =>
  repo.enqueue([job('a'), badJob(fields)]);
const dequeueBad = (fields: Record<string, unknown>) => (repo: QueueRepository) =>
  dequeue(repo, fields as Partial<DequeueOptions>);
const limitBad = (limits: Record<string, unknown>) => (repo: QueueRepository) =>
  dequeue(repo, { entrypoints: { a: limits } } as Partial<DequeueOptions>);
const schedule = (fields: Record<string, unknown>, now: number) =>
  ({
    name: 's2',
    entrypoint: 'a',
    expression: '* * * * *',
    nextRunAt: now,
    ...fields,
  }) as unknown as ScheduleInput;

function cyclic(): Record<string, unknown> {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}

function cases(limits: Limits): Case[] {
  const badIds: [string, unknown][] = [
    ['0', 0],
    ['-1', -1],
    ['1.5', 1.5],
    ["'x'", 'x'],
    ['NaN', Number.NaN],
    ['2^53', 2 ** 53],
  ];
  const idMethods = ['requeue', 'heartbeat', 'cancel', 'jobStatus', 'getJobs'] as const;
  return [
    ['enqueue: empty entrypoint', 'INVALID_ARGUMENT', enqueueBad({ entrypoint: '' })],
    ['enqueue: entrypoint with a space', 'INVALID_ARGUMENT', enqueueBad({ entrypoint: 'a b' })],
    ['enqueue: entrypoint with a non-ASCII letter', 'INVALID_ARGUMENT', enqueueBad({ entrypoint: 'é' })],
    [
      'enqueue: entrypoint of 129 characters',
      'INVALID_ARGUMENT',
      enqueueBad({ entrypoint: 'x'.repeat(129) }),
    ],
    ['enqueue: entrypoint not a string', 'INVALID_ARGUMENT', enqueueBad({ entrypoint: 42 })],
    ['enqueue: missing entrypoint', 'INVALID_ARGUMENT', (repo) => repo.enqueue([{} as NewJob])],
    ['enqueue: fractional priority', 'INVALID_ARGUMENT', enqueueBad({ priority: 1.5 })],
    ['enqueue: priority above int32', 'INVALID_ARGUMENT', enqueueBad({ priority: 2 ** 31 })],
    ['enqueue: priority below int32', 'INVALID_ARGUMENT', enqueueBad({ priority: -(2 ** 31) - 1 })],
    ['enqueue: priority as a string', 'INVALID_ARGUMENT', enqueueBad({ priority: '1' })],
    ['enqueue: NaN priority', 'INVALID_ARGUMENT', enqueueBad({ priority: Number.NaN })],
    ['enqueue: NaN executeAfter', 'INVALID_ARGUMENT', enqueueBad({ executeAfter: Number.NaN })],
    [
      'enqueue: Infinity executeAfter',
      'INVALID_ARGUMENT',
      enqueueBad({ executeAfter: Number.POSITIVE_INFINITY }),
    ],
    [
      'enqueue: invalid Date executeAfter',
      'INVALID_ARGUMENT',
      enqueueBad({ executeAfter: new Date(Number.NaN) }),
    ],
    ['enqueue: executeAfter as a string', 'INVALID_ARGUMENT', enqueueBad({ executeAfter: '2026-01-01' })],
    ['enqueue: payload as a string', 'INVALID_ARGUMENT', enqueueBad({ payload: 'bytes' })],
    ['enqueue: payload as a number array', 'INVALID_ARGUMENT', enqueueBad({ payload: [1, 2, 3] })],
    ['enqueue: payload as an ArrayBuffer', 'INVALID_ARGUMENT', enqueueBad({ payload: new ArrayBuffer(4) })],
    [
      'enqueue: payload over maxPayloadBytes',
      'PAYLOAD_TOO_LARGE',
      enqueueBad({ payload: new Uint8Array(limits.maxPayloadBytes + 1) }),
    ],
    ['enqueue: headers holding a function', 'INVALID_ARGUMENT', enqueueBad({ headers: { f: () => 1 } })],
    ['enqueue: headers holding a BigInt', 'INVALID_ARGUMENT', enqueueBad({ headers: { n: 1n } })],
    ['enqueue: headers holding NaN', 'INVALID_ARGUMENT', enqueueBad({ headers: { n: Number.NaN } })],
    [
      'enqueue: headers holding undefined in an array',
      'INVALID_ARGUMENT',
      enqueueBad({ headers: { l: [undefined] } }),
    ],
    ['enqueue: cyclic headers', 'INVALID_ARGUMENT', enqueueBad({ headers: cyclic() })],
    ['enqueue: headers as a Map', 'INVALID_ARGUMENT', enqueueBad({ headers: new Map([['a', 1]]) })],
    ['enqueue: headers holding a Date', 'INVALID_ARGUMENT', enqueueBad({ headers: { d: new Date(0) } })],
    ['enqueue: headers as an array', 'INVALID_ARGUMENT', enqueueBad({ headers: [1, 2] })],
    ['enqueue: headers as a string', 'INVALID_ARGUMENT', enqueueBad({ headers: '{}' })],
    [
      'enqueue: headers over maxHeadersBytes',
      'PAYLOAD_TOO_LARGE',
      enqueueBad({ headers: { big: 'x'.repeat(limits.maxHeadersBytes) } }),
    ],
    ['enqueue: empty dedupe key', 'INVALID_ARGUMENT', enqueueBad({ dedupeKey: '' })],
    [
      'enqueue: dedupe key over maxDedupeKeyLength',
      'INVALID_ARGUMENT',
      enqueueBad({ dedupeKey: 'k'.repeat(limits.maxDedupeKeyLength + 1) }),
    ],
    ['enqueue: dedupe key not a string', 'INVALID_ARGUMENT', enqueueBad({ dedupeKey: 7 })],
    [
      'enqueue: a job that is not an object',
      'INVALID_ARGUMENT',
      (repo) => repo.enqueue([job(), null as unknown as NewJob]),
    ],
    ['enqueue: jobs not an array', 'INVALID_ARGUMENT', (repo) => repo.enqueue(job() as unknown as NewJob[])],
    [
      'enqueue: unknown onConflict',
      'INVALID_ARGUMENT',
      (repo) => repo.enqueue([job()], { onConflict: 'ignore' as 'skip' }),
    ],
    ['dequeue: batchSize 0', 'INVALID_ARGUMENT', dequeueBad({ batchSize: 0 })],
    [
      'dequeue: batchSize over maxDequeueBatch',
      'INVALID_ARGUMENT',
      dequeueBad({ batchSize: limits.maxDequeueBatch + 1 }),
    ],
    ['dequeue: fractional batchSize', 'INVALID_ARGUMENT', dequeueBad({ batchSize: 1.5 })],
    ['dequeue: no entrypoints', 'INVALID_ARGUMENT', dequeueBad({ entrypoints: {} })],
    ['dequeue: entrypoints as an array', 'INVALID_ARGUMENT', dequeueBad({ entrypoints: ['a'] })],
    ['dequeue: bad entrypoint name', 'INVALID_ARGUMENT', dequeueBad({ entrypoints: { 'a/b': {} } })],
    ['dequeue: empty queueManagerId', 'INVALID_ARGUMENT', dequeueBad({ queueManagerId: '' })],
    [
      'dequeue: queueManagerId of 129 characters',
      'INVALID_ARGUMENT',
      dequeueBad({ queueManagerId: 'm'.repeat(129) }),
    ],
    ['dequeue: queueManagerId not a string', 'INVALID_ARGUMENT', dequeueBad({ queueManagerId: 1 })],
    ['dequeue: queueManagerId with NUL', 'INVALID_ARGUMENT', dequeueBad({ queueManagerId: 'w\u0000' })],
    [
      'dequeue: queueManagerId with an unpaired surrogate',
      'INVALID_ARGUMENT',
      dequeueBad({ queueManagerId: 'w\uD800' }),
    ],
    ['dequeue: negative maxOwned', 'INVALID_ARGUMENT', dequeueBad({ maxOwned: -1 })],
    ['dequeue: negative concurrencyLimit', 'INVALID_ARGUMENT', limitBad({ concurrencyLimit: -1 })],
    ['dequeue: fractional concurrencyLimit', 'INVALID_ARGUMENT', limitBad({ concurrencyLimit: 0.5 })],
    ['dequeue: negative requestsPerSecond', 'INVALID_ARGUMENT', limitBad({ requestsPerSecond: -1 })],
    ['dequeue: NaN requestsPerSecond', 'INVALID_ARGUMENT', limitBad({ requestsPerSecond: Number.NaN })],
    [
      'dequeue: infinite requestsPerSecond',
      'INVALID_ARGUMENT',
      limitBad({ requestsPerSecond: Number.POSITIVE_INFINITY }),
    ],
    ['dequeue: negative retryTimer', 'INVALID_ARGUMENT', limitBad({ retryTimer: -1 })],
    ['dequeue: fractional maxAttempts', 'INVALID_ARGUMENT', limitBad({ maxAttempts: 1.5 })],
    [
      'complete: unknown status',
      'INVALID_ARGUMENT',
      (repo) => repo.complete([{ id: 1, status: 'done' as 'successful' }]),
    ],
    [
      "complete: status 'queued'",
      'INVALID_ARGUMENT',
      (repo) => repo.complete([{ id: 1, status: 'queued' as 'successful' }]),
    ],
    [
      'complete: bad id after a good result',
      'INVALID_ARGUMENT',
      (repo) =>
        repo.complete([
          { id: 2, status: 'successful' },
          { id: 0, status: 'successful' },
        ]),
    ],
    [
      'complete: error not a string',
      'INVALID_ARGUMENT',
      (repo) => repo.complete([{ id: 2, status: 'exception', error: 42 as unknown as string }]),
    ],
    [
      'retry: NaN executeAfter',
      'INVALID_ARGUMENT',
      (repo) => repo.retry([{ id: 2, executeAfter: Number.NaN }]),
    ],
    ['retry: id 1.5', 'INVALID_ARGUMENT', (repo, now) => repo.retry([{ id: 1.5, executeAfter: now }])],
    ...idMethods.flatMap((method) =>
      badIds.map(
        ([label, id]): Case => [
          `${method}: id ${label}`,
          'INVALID_ARGUMENT',
          (repo) => repo[method]([1, id as number]),
        ],
      ),
    ),
    ['cancel: ids not an array', 'INVALID_ARGUMENT', (repo) => repo.cancel(1 as unknown as number[])],
    ['clear: bad entrypoint', 'INVALID_ARGUMENT', (repo) => repo.clear(['a', 'no spaces'])],
    ['nextDueAt: bad entrypoint', 'INVALID_ARGUMENT', (repo) => repo.nextDueAt([''])],
    ['failedJobs: negative limit', 'INVALID_ARGUMENT', (repo) => repo.failedJobs({ limit: -1 })],
    ['failedJobs: fractional after', 'INVALID_ARGUMENT', (repo) => repo.failedJobs({ after: 0.5 })],
    ['log: negative limit', 'INVALID_ARGUMENT', (repo) => repo.log({ limit: -1 })],
    ['log: NaN after', 'INVALID_ARGUMENT', (repo) => repo.log({ after: Number.NaN })],
    ['statistics: negative limit', 'INVALID_ARGUMENT', (repo) => repo.statistics({ limit: -1 })],
    ['statistics: NaN since', 'INVALID_ARGUMENT', (repo) => repo.statistics({ since: Number.NaN })],
    [
      'upsertSchedules: name with NUL',
      'INVALID_ARGUMENT',
      (repo, now) => repo.upsertSchedules([schedule({ name: 'a\u0000b' }, now)]),
    ],
    [
      'claimDueSchedules: claimerId with an unpaired surrogate',
      'INVALID_ARGUMENT',
      (repo) => repo.claimDueSchedules({ claimerId: '\uDC00c', staleAfter: 1000 }),
    ],
    [
      'upsertSchedules: empty name',
      'INVALID_ARGUMENT',
      (repo, now) => repo.upsertSchedules([schedule({ name: '' }, now)]),
    ],
    [
      'upsertSchedules: a name twice in one call',
      'INVALID_ARGUMENT',
      (repo, now) => repo.upsertSchedules([schedule({}, now), schedule({}, now)]),
    ],
    [
      'upsertSchedules: bad entrypoint',
      'INVALID_ARGUMENT',
      (repo, now) =>
        repo.upsertSchedules([schedule({}, now), schedule({ name: 's3', entrypoint: 'x y' }, now)]),
    ],
    [
      'upsertSchedules: empty expression',
      'INVALID_ARGUMENT',
      (repo, now) => repo.upsertSchedules([schedule({ expression: ' ' }, now)]),
    ],
    [
      'upsertSchedules: NaN nextRunAt',
      'INVALID_ARGUMENT',
      (repo, now) => repo.upsertSchedules([schedule({ nextRunAt: Number.NaN }, now)]),
    ],
    [
      'upsertSchedules: empty timezone',
      'INVALID_ARGUMENT',
      (repo, now) => repo.upsertSchedules([schedule({ timezone: '' }, now)]),
    ],
    [
      'claimDueSchedules: empty claimerId',
      'INVALID_ARGUMENT',
      (repo) => repo.claimDueSchedules({ claimerId: '', staleAfter: 1000 }),
    ],
    [
      'claimDueSchedules: negative staleAfter',
      'INVALID_ARGUMENT',
      (repo) => repo.claimDueSchedules({ claimerId: 'c', staleAfter: -1 }),
    ],
    [
      'claimDueSchedules: negative limit',
      'INVALID_ARGUMENT',
      (repo) => repo.claimDueSchedules({ claimerId: 'c', staleAfter: 1000, limit: -1 }),
    ],
    [
      'markScheduleRun: NaN nextRunAt',
      'INVALID_ARGUMENT',
      (repo) => repo.markScheduleRun([{ name: 's', claimerId: 'c1', nextRunAt: Number.NaN }]),
    ],
    [
      'markScheduleRun: empty claimerId',
      'INVALID_ARGUMENT',
      (repo, now) => repo.markScheduleRun([{ name: 's', claimerId: '', nextRunAt: now }]),
    ],
    ['deleteSchedules: empty name', 'INVALID_ARGUMENT', (repo) => repo.deleteSchedules(['s', ''])],
    ['scan: negative staleAfter', 'INVALID_ARGUMENT', (repo) => repo.scan({ staleAfter: -1 })],
    ['recover: negative staleAfter', 'INVALID_ARGUMENT', (repo) => repo.recover({ staleAfter: -1 })],
    ['compact: negative maxRecords', 'INVALID_ARGUMENT', (repo) => repo.compact({ maxRecords: -1 })],
    ['compact: NaN maxAge', 'INVALID_ARGUMENT', (repo) => repo.compact({ maxAge: Number.NaN })],
  ];
}

export const invalidInputScenarios: ScenarioGroup = (factory, options) => {
  describe('invalid input is rejected with the right code and changes nothing', () => {
    const t = useRepository(factory, options);

    /** A store with something in every observable place: queued, picked, failed jobs, history, a claimed schedule. */
    async function populate(repo: QueueRepository, now: number): Promise<void> {
      await enqueueIds(repo, [
        job('a', { dedupeKey: 'k', payload: Uint8Array.from([1]) }),
        job('a'),
        job('a'),
        job('b'),
      ]);
      await dequeue(repo, { batchSize: 3 });
      await repo.complete([
        { id: 1, status: 'successful' },
        { id: 3, status: 'failed', error: 'dead' },
      ]);
      await repo.upsertSchedules([{ name: 's', entrypoint: 'a', expression: '* * * * *', nextRunAt: now }]);
      await repo.claimDueSchedules({ claimerId: 'c1', staleAfter: 60_000 });
    }

    for (const [name, code, call] of cases(options.limits)) {
      it(name, async () => {
        const { repo, clock } = t;
        await populate(repo, clock.now());
        await expectRejectedUnchanged(repo, code, () => call(repo, clock.now()));
      });
    }
  });
};
