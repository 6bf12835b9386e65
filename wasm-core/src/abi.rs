//! auto-generated from wasm-core/abi.json by wasm-core/scripts/gen-abi.mjs; DO NOT EDIT.
//! The core ABI (ABI.md): every number the Rust core and the TypeScript adapter must agree on.

pub const ABI_VERSION: u32 = 2;
/// Length prefix meaning null (`opt`, `str`).
pub const NULL_LEN: u32 = 0xFFFFFFFF;

/// Operation codes (`tq_call`).
pub mod op {
    pub const INTERN_EP: u32 = 1;
    pub const INTERN_MGR: u32 = 2;
    pub const LIST_INTERNS: u32 = 3;
    pub const ENQUEUE: u32 = 10;
    pub const DEQUEUE: u32 = 11;
    pub const COMPLETE: u32 = 12;
    pub const RETRY: u32 = 13;
    pub const REQUEUE: u32 = 14;
    pub const HEARTBEAT: u32 = 15;
    pub const CANCEL: u32 = 16;
    pub const CLEAR: u32 = 17;
    pub const JOB_STATUS: u32 = 20;
    pub const GET_JOBS: u32 = 21;
    pub const QUEUE_SIZE: u32 = 22;
    pub const FAILED_JOBS: u32 = 23;
    pub const LOG: u32 = 24;
    pub const STATISTICS: u32 = 25;
    pub const NEXT_DUE: u32 = 26;
    pub const UPSERT_SCHEDULES: u32 = 30;
    pub const CLAIM_SCHEDULES: u32 = 31;
    pub const MARK_RUNS: u32 = 32;
    pub const DELETE_SCHEDULES: u32 = 33;
    pub const LIST_SCHEDULES: u32 = 34;
    pub const INSTALL: u32 = 40;
    pub const UNINSTALL: u32 = 41;
    pub const INFO: u32 = 42;
    pub const SCAN: u32 = 43;
    pub const RECOVER: u32 = 44;
    pub const COMPACT: u32 = 45;
    pub const METRICS: u32 = 46;
    pub const RESET_METRICS: u32 = 47;
    pub const SNAPSHOT: u32 = 50;
    pub const RESTORE: u32 = 51;
}

/// Result codes of `tq_call`.
pub mod rc {
    /// done
    pub const OK: i32 = 0;
    /// malformed request
    pub const INVALID: i32 = 1;
    /// dedupe conflict; nothing stored
    pub const DUPLICATE: i32 = 2;
    /// the store was uninstalled
    pub const NOT_INSTALLED: i32 = 3;
    /// restore got corrupt, truncated or foreign bytes
    pub const BAD_SNAPSHOT: i32 = 4;
    /// the batch would pass the memory budget; nothing stored
    pub const FULL: i32 = 5;
    /// restore: a snapshot value beyond the given limits; nothing replaced
    pub const TOO_LARGE: i32 = 6;
}

/// Job status bytes.
pub mod status {
    pub const QUEUED: u8 = 0;
    pub const PICKED: u8 = 1;
    pub const SUCCESSFUL: u8 = 2;
    pub const EXCEPTION: u8 = 3;
    pub const CANCELED: u8 = 4;
    pub const DELETED: u8 = 5;
    pub const FAILED: u8 = 6;
    /// `JOB_STATUS` of an id never assigned.
    pub const NONE: u8 = 255;
}

/// Event kind bytes of log rows.
pub mod kind {
    pub const ENQUEUED: u8 = 0;
    pub const PICKED: u8 = 1;
    pub const RETRIED: u8 = 2;
    pub const REQUEUED: u8 = 3;
    pub const COMPLETED: u8 = 4;
    pub const CANCELLED: u8 = 5;
    pub const FAILED: u8 = 6;
}

/// Byte offsets of the fixed part of a job record; `SIZE` bytes, then opt payload, opt headers, str dedupeKey, str lastError.
pub mod job {
    pub const ID: usize = 0;
    pub const ENTRYPOINT: usize = 8;
    pub const PRIORITY: usize = 12;
    pub const EXECUTE_AFTER: usize = 16;
    pub const ATTEMPTS: usize = 24;
    pub const HEARTBEAT: usize = 28;
    pub const CREATED: usize = 36;
    pub const UPDATED: usize = 44;
    pub const STATUS: usize = 52;
    pub const MANAGER: usize = 53;
    pub const SIZE: usize = 57;
}

/// Byte offsets of the fixed part of a log row; `SIZE` bytes, then str error.
pub mod log_row {
    pub const SEQ: usize = 0;
    pub const KIND: usize = 8;
    pub const STATUS: usize = 9;
    pub const JOB_ID: usize = 10;
    pub const ENTRYPOINT: usize = 18;
    pub const PRIORITY: usize = 22;
    pub const AT: usize = 26;
    pub const MANAGER: usize = 34;
    pub const SIZE: usize = 38;
}
