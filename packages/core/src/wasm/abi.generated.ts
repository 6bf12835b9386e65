// auto-generated from wasm-core/abi.json by wasm-core/scripts/gen-abi.mjs; DO NOT EDIT.
/** The core ABI (wasm-core/ABI.md): every number the adapter and the Rust core agree on. @internal */

import type { JobEventKind, JobStatus } from '../types.js';

export const ABI_VERSION = 2;
/** Length prefix meaning null (`opt`, `str`). */
export const NULL_LEN = 0xffffffff;

export const OP = {
  INTERN_EP: 1,
  INTERN_MGR: 2,
  LIST_INTERNS: 3,
  ENQUEUE: 10,
  DEQUEUE: 11,
  COMPLETE: 12,
  RETRY: 13,
  REQUEUE: 14,
  HEARTBEAT: 15,
  CANCEL: 16,
  CLEAR: 17,
  JOB_STATUS: 20,
  GET_JOBS: 21,
  QUEUE_SIZE: 22,
  FAILED_JOBS: 23,
  LOG: 24,
  STATISTICS: 25,
  NEXT_DUE: 26,
  UPSERT_SCHEDULES: 30,
  CLAIM_SCHEDULES: 31,
  MARK_RUNS: 32,
  DELETE_SCHEDULES: 33,
  LIST_SCHEDULES: 34,
  INSTALL: 40,
  UNINSTALL: 41,
  INFO: 42,
  SCAN: 43,
  RECOVER: 44,
  COMPACT: 45,
  METRICS: 46,
  RESET_METRICS: 47,
  SNAPSHOT: 50,
  RESTORE: 51,
} as const;

export const RC = {
  /** done */
  OK: 0,
  /** malformed request */
  INVALID: 1,
  /** dedupe conflict; nothing stored */
  DUPLICATE: 2,
  /** the store was uninstalled */
  NOT_INSTALLED: 3,
  /** restore got corrupt, truncated or foreign bytes */
  BAD_SNAPSHOT: 4,
  /** the batch would pass the memory budget; nothing stored */
  FULL: 5,
  /** restore: a snapshot value beyond the given limits; nothing replaced */
  TOO_LARGE: 6,
} as const;

/** Status byte -> status. */
export const STATUS: readonly JobStatus[] = [
  'queued',
  'picked',
  'successful',
  'exception',
  'canceled',
  'deleted',
  'failed',
];
/** `JOB_STATUS` of an id never assigned. */
export const NO_STATUS = 255;

/** Kind byte -> event kind. */
export const KIND: readonly JobEventKind[] = [
  'enqueued',
  'picked',
  'retried',
  'requeued',
  'completed',
  'cancelled',
  'failed',
];

/** Byte offsets of the fixed part of a job record; `SIZE` bytes, then opt payload, opt headers, str dedupeKey, str lastError. */
export const JOB = {
  ID: 0,
  ENTRYPOINT: 8,
  PRIORITY: 12,
  EXECUTE_AFTER: 16,
  ATTEMPTS: 24,
  HEARTBEAT: 28,
  CREATED: 36,
  UPDATED: 44,
  STATUS: 52,
  MANAGER: 53,
  SIZE: 57,
} as const;

/** Byte offsets of the fixed part of a log row; `SIZE` bytes, then str error. */
export const LOG_ROW = {
  SEQ: 0,
  KIND: 8,
  STATUS: 9,
  JOB_ID: 10,
  ENTRYPOINT: 18,
  PRIORITY: 22,
  AT: 26,
  MANAGER: 34,
  SIZE: 38,
} as const;
