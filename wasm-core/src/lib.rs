//! tideq core: all queue state of one queue, behind a batch C ABI over linear memory.
//! See ABI.md. One WASM instance = one queue. Nothing here reads a clock or randomness:
//! `now` is an argument of every call.
#![allow(clippy::missing_safety_doc)]

pub mod abi;
pub mod alloc;
pub mod hash;
pub mod io;
pub mod snapshot;
pub mod state;
pub mod vecmap;

use io::{Reader, Writer};
use state::{Fail, State};

// Every ABI number comes from abi.json through the generated `abi` module.
pub use abi::{op, ABI_VERSION};

pub const OK: i32 = abi::rc::OK;
pub const E_INVALID: i32 = abi::rc::INVALID;
pub const E_DUPLICATE: i32 = abi::rc::DUPLICATE;
pub const E_NOT_INSTALLED: i32 = abi::rc::NOT_INSTALLED;
pub const E_BAD_SNAPSHOT: i32 = abi::rc::BAD_SNAPSHOT;
/// The batch would take the core past its memory budget: nothing stored (QUEUE_FULL).
pub const E_FULL: i32 = abi::rc::FULL;
/// A restored snapshot holds a value beyond the store's limits: nothing replaced.
pub const E_TOO_LARGE: i32 = abi::rc::TOO_LARGE;

/// The input buffer is capped so a bogus reserve cannot eat the whole address space.
const MAX_INPUT: usize = 1 << 30;

/// Result buffer capacity kept between calls.
const OUT_KEEP: usize = 1 << 20;

#[derive(Default)]
pub struct Core {
    pub st: State,
    /// Most heap bytes the core may hold after a batch that adds jobs; 0 = no budget.
    pub budget: usize,
    pub input: Vec<u8>,
    pub out: Vec<u8>,
}

impl Core {
    /// Make the input buffer at least `size` bytes; returns its address (0 if impossible).
    pub fn reserve(&mut self, size: usize) -> usize {
        if size > MAX_INPUT {
            return 0;
        }
        if self.input.len() < size {
            if self.input.try_reserve_exact(size - self.input.len()).is_err() {
                return 0;
            }
            self.input.resize(size, 0);
        }
        self.input.as_ptr() as usize
    }

    /// Run one operation on `input[..len]`; the result (or an error message) is left in `out`.
    pub fn call(&mut self, opc: u32, len: usize, now: f64) -> i32 {
        self.out.clear();
        // A big result (a dequeue of many large payloads, a snapshot) must not stay allocated:
        // it would count against the memory budget for the rest of the queue's life.
        if self.out.capacity() > OUT_KEEP {
            self.out.shrink_to(OUT_KEEP);
        }
        if len > self.input.len() {
            return self.fail(Fail::Invalid("input length beyond the reserved buffer"));
        }
        let now = match io::to_time(now) {
            Some(t) => t,
            None => return self.fail(Fail::Invalid("now must be a finite epoch-ms time")),
        };
        // Time never runs backwards inside the core (keeps the heartbeat FIFO sorted).
        let now = now.max(self.st.last_now);
        let input = std::mem::take(&mut self.input);
        let mut out = std::mem::take(&mut self.out);
        let res = {
            let mut r = Reader::new(&input[..len]);
            let mut w = Writer { v: &mut out };
            self.dispatch(opc, &mut r, &mut w, now)
        };
        self.input = input;
        self.out = out;
        match res {
            Ok(()) => {
                self.st.last_now = now;
                OK
            }
            Err(f) => {
                self.out.clear();
                self.fail(f)
            }
        }
    }

    fn fail(&mut self, f: Fail) -> i32 {
        let mut w = Writer { v: &mut self.out };
        match f {
            Fail::Invalid(m) => {
                w.bytes(m.as_bytes());
                E_INVALID
            }
            Fail::Duplicate(keys) => {
                w.u32(keys.len() as u32);
                for k in keys {
                    w.blob(&k);
                }
                E_DUPLICATE
            }
            Fail::NotInstalled => E_NOT_INSTALLED,
            Fail::Full(need) => {
                w.f64(alloc::live_bytes() as f64);
                w.f64(need as f64);
                w.f64(self.budget as f64);
                E_FULL
            }
            Fail::TooLarge(which, m) => {
                w.u8(which);
                w.bytes(m.as_bytes());
                E_TOO_LARGE
            }
            Fail::BadSnapshot(m) => {
                w.bytes(m.as_bytes());
                E_BAD_SNAPSHOT
            }
        }
    }

    fn dispatch(&mut self, opc: u32, r: &mut Reader, w: &mut Writer, now: i64) -> Result<(), Fail> {
        let budget = self.budget;
        let st = &mut self.st;
        // Operations without a request take none: bytes there are an error (ABI.md), before any change.
        if matches!(
            opc,
            op::LIST_INTERNS
                | op::QUEUE_SIZE
                | op::LIST_SCHEDULES
                | op::INSTALL
                | op::UNINSTALL
                | op::INFO
                | op::METRICS
                | op::RESET_METRICS
                | op::SNAPSHOT
        ) && !r.at_end()
        {
            return Err(Fail::Invalid("this operation takes no request bytes"));
        }
        match opc {
            op::INSTALL => {
                if !st.installed {
                    *st = State::default();
                }
                return Ok(());
            }
            op::UNINSTALL => {
                *st = State::default();
                st.installed = false;
                return Ok(());
            }
            op::INFO => {
                w.u8(st.installed as u8);
                w.u32(ABI_VERSION);
                w.f64(st.last_seq() as f64);
                w.f64(st.next_id as f64);
                return Ok(());
            }
            op::SNAPSHOT => {
                st.flush_stats();
                snapshot::write(st, w.v);
                return Ok(());
            }
            op::RESTORE => {
                let lim = snapshot::Limits::read(r)?;
                let b = r.bytes(r.remaining()).unwrap_or(&[]);
                let s = snapshot::read(b).map_err(Fail::BadSnapshot)?;
                lim.check(&s)?;
                *st = s;
                return Ok(());
            }
            _ => {}
        }
        if !st.installed {
            return Err(Fail::NotInstalled);
        }
        match opc {
            op::INTERN_EP => {
                let b = r.bytes(r.remaining()).unwrap_or(&[]);
                let i = st.intern_ep(b)?;
                w.u32(i);
            }
            op::INTERN_MGR => {
                let b = r.bytes(r.remaining()).unwrap_or(&[]);
                let i = st.intern_mgr(b)?;
                w.u32(i);
            }
            op::LIST_INTERNS => {
                w.u32(st.eps.len() as u32);
                for e in &st.eps {
                    w.blob(&e.name);
                }
                w.u32(st.mgrs.len() as u32);
                for m in &st.mgrs {
                    w.blob(m);
                }
            }
            op::ENQUEUE => st.enqueue(r, w, now, budget)?,
            op::DEQUEUE => st.dequeue(r, w, now)?,
            op::COMPLETE => st.complete(r, w, now)?,
            op::RETRY => st.retry(r, w, now)?,
            op::REQUEUE => st.requeue(r, w, now)?,
            op::HEARTBEAT => st.heartbeat(r, w, now)?,
            op::CANCEL => st.cancel(r, w, now)?,
            op::CLEAR => st.clear(r, w, now)?,
            op::JOB_STATUS => st.job_status(r, w)?,
            op::GET_JOBS => st.get_jobs(r, w)?,
            op::QUEUE_SIZE => st.queue_size(w)?,
            op::FAILED_JOBS => st.failed_jobs(r, w)?,
            op::LOG => st.read_log(r, w)?,
            op::STATISTICS => st.statistics(r, w)?,
            op::NEXT_DUE => st.next_due(r, w)?,
            op::UPSERT_SCHEDULES => st.upsert_schedules(r, now)?,
            op::CLAIM_SCHEDULES => st.claim_schedules(r, w, now)?,
            op::MARK_RUNS => st.mark_runs(r, w, now)?,
            op::DELETE_SCHEDULES => st.delete_schedules(r, w)?,
            op::LIST_SCHEDULES => st.list_schedules(w)?,
            op::SCAN => st.scan(r, w, now)?,
            op::RECOVER => st.recover(r, w, now)?,
            op::COMPACT => st.compact(r, w, now)?,
            op::METRICS => st.metrics(w),
            op::RESET_METRICS => st.m = state::Metrics::default(),
            _ => return Err(Fail::Invalid("unknown operation")),
        }
        Ok(())
    }
}

// ---- the C ABI (wasm32) -------------------------------------------------------------------------

static mut CORE: Option<Core> = None;

fn core() -> &'static mut Core {
    // Single-threaded wasm instance: exclusive access is guaranteed by the embedding.
    unsafe { CORE.get_or_insert_with(Core::default) }
}

#[no_mangle]
pub extern "C" fn tq_abi_version() -> u32 {
    ABI_VERSION
}

#[no_mangle]
pub extern "C" fn tq_in_reserve(size: u32) -> u32 {
    core().reserve(size as usize) as u32
}

#[no_mangle]
pub extern "C" fn tq_call(opc: u32, len: u32, now: f64) -> i32 {
    core().call(opc, len as usize, now)
}

/// Set the memory budget in bytes (0 = none); batches that add jobs are refused beyond it.
#[no_mangle]
pub extern "C" fn tq_set_budget(bytes: f64) {
    core().budget = if bytes.is_finite() && bytes >= 1.0 {
        bytes.min(usize::MAX as f64) as usize
    } else {
        0
    };
}

/// Heap bytes the core holds now (what the budget is checked against).
#[no_mangle]
pub extern "C" fn tq_heap_bytes() -> f64 {
    alloc::live_bytes() as f64
}

#[no_mangle]
pub extern "C" fn tq_out_ptr() -> u32 {
    core().out.as_ptr() as usize as u32
}

#[no_mangle]
pub extern "C" fn tq_out_len() -> u32 {
    core().out.len() as u32
}

#[cfg(test)]
mod abi_tests;
#[cfg(test)]
mod tests;
