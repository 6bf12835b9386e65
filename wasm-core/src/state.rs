//! All queue state and the port operations over it. The semantics are those of
//! docs/ARCHITECTURE.md "Port semantics, precisely"; the TypeScript reference adapter is the oracle.
//!
//! Layout, chosen for the access paths:
//! - jobs: pages of 1024 slots indexed by `id - 1` (ids are dense); a page is freed when all
//!   its jobs have left, so a long-lived dead letter pins one page, not the whole history.
//! - ready jobs: per entrypoint, per priority level (a sorted Vec, priority desc) a FIFO ring of ids
//!   (fresh ids only grow, so appends stay sorted) plus a min-heap for late arrivals (retried,
//!   requeued, promoted delayed jobs). Entries are removed lazily: an entry is live while its job
//!   is `queued` with the READY flag.
//! - delayed jobs: per entrypoint, a min-heap by (executeAfter, id), lazily invalidated.
//! - picked jobs: per entrypoint, a FIFO of (heartbeat, id): time never runs backwards (`now` is
//!   clamped to the last one seen), so appends keep it sorted by heartbeat for the stale scan.
use crate::hash::FxMap;
use crate::io::{Reader, Writer};
use crate::vecmap::VecMap;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

// Status and event-kind bytes are ABI (abi.json, generated into crate::abi).
pub use crate::abi::status::{CANCELED, DELETED, EXCEPTION, FAILED, PICKED, QUEUED, SUCCESSFUL};
const EMPTY: u8 = crate::abi::status::NONE;
/// Set on `Row::kind` when the row has an error text in `log_errs`.
pub const ROW_ERR: u8 = 0x80;

pub use crate::abi::kind::{
    CANCELLED as K_CANCELLED, COMPLETED as K_COMPLETED, ENQUEUED as K_ENQUEUED, FAILED as K_FAILED, PICKED as K_PICKED,
    REQUEUED as K_REQUEUED, RETRIED as K_RETRIED,
};

// Storage flags of a held job (which parts its data blob holds): internal, not ABI.
pub const F_PAYLOAD: u8 = 1;
pub const F_HEADERS: u8 = 2;
pub const F_DEDUPE: u8 = 4;
const F_READY: u8 = 8;
const F_STORED: u8 = F_PAYLOAD | F_HEADERS | F_DEDUPE;

const PAGE_BITS: u32 = 10;
const PAGE: usize = 1 << PAGE_BITS;

/// Result of an operation: Ok, or an error code with a message written to the output.
pub enum Fail {
    Invalid(&'static str),
    /// Dedupe conflict: the keys (UTF-16LE bytes) in first-seen order.
    Duplicate(Vec<Box<[u8]>>),
    NotInstalled,
    BadSnapshot(&'static str),
    /// The batch needs about this many more heap bytes than the budget leaves.
    Full(usize),
    /// A snapshot value beyond the store's limits (restore): which limit (0 maxPayloadBytes,
    /// 1 maxHeadersBytes, 2 maxDedupeKeyLength) and a message.
    TooLarge(u8, &'static str),
}
pub type Res = Result<(), Fail>;

pub fn bad<T>(msg: &'static str) -> Result<T, Fail> {
    Err(Fail::Invalid(msg))
}

#[derive(Clone, Default)]
pub struct Job {
    pub exec: i64,
    pub created: i64,
    pub updated: i64,
    pub hb: i64,
    /// varint(payload len) ++ varint(headers len) ++ payload ++ headers (UTF-8 JSON) ++ dedupe
    /// key (UTF-16LE): one allocation, and the lengths cost no bytes in the job itself (the
    /// allocator's 8-byte rounding absorbs them). None when all three are absent or empty.
    pub data: Option<Box<[u8]>>,
    pub err: Option<Box<[u8]>>,
    pub ep: u32,
    pub prio: i32,
    pub attempts: u32,
    /// Interned manager index + 1; 0 = none.
    pub mgr: u32,
    pub status: u8,
    pub flags: u8,
}

fn varint(b: &[u8], pos: &mut usize) -> usize {
    let mut x = 0usize;
    let mut shift = 0;
    while let Some(&c) = b.get(*pos) {
        *pos += 1;
        x |= ((c & 0x7f) as usize) << shift;
        shift += 7;
        if c & 0x80 == 0 || shift > 28 {
            break;
        }
    }
    x
}

fn varint_len(mut x: usize) -> usize {
    let mut n = 1;
    while x >= 0x80 {
        x >>= 7;
        n += 1;
    }
    n
}

fn put_varint(v: &mut Vec<u8>, mut x: usize) {
    while x >= 0x80 {
        v.push((x as u8) | 0x80);
        x >>= 7;
    }
    v.push(x as u8);
}

/// Pack a job's payload, headers and dedupe key into its flags and data blob.
pub fn pack(p: Option<&[u8]>, h: Option<&[u8]>, d: Option<&[u8]>) -> (u8, Option<Box<[u8]>>) {
    let flags = (p.is_some() as u8) * F_PAYLOAD | (h.is_some() as u8) * F_HEADERS | (d.is_some() as u8) * F_DEDUPE;
    let (pb, hb, db) = (p.unwrap_or(&[]), h.unwrap_or(&[]), d.unwrap_or(&[]));
    if pb.is_empty() && h.is_none() && d.is_none() {
        return (flags, None);
    }
    // Exact capacity: `into_boxed_slice` then reallocates nothing (a spare byte would make it
    // shrink the block: a second allocator call per job).
    let mut v = Vec::with_capacity(varint_len(pb.len()) + varint_len(hb.len()) + pb.len() + hb.len() + db.len());
    put_varint(&mut v, pb.len());
    put_varint(&mut v, hb.len());
    v.extend_from_slice(pb);
    v.extend_from_slice(hb);
    v.extend_from_slice(db);
    (flags, Some(v.into_boxed_slice()))
}

impl Job {
    /// (payload, headers, dedupe) slices of the data blob; bounds-checked, never panics.
    #[inline]
    fn parts(&self) -> (&[u8], &[u8], &[u8]) {
        let d = match self.data.as_deref() {
            Some(d) => d,
            None => return (&[], &[], &[]),
        };
        let mut pos = 0;
        let pl = varint(d, &mut pos);
        let hl = varint(d, &mut pos);
        let a = pos.min(d.len());
        let b = a.saturating_add(pl).min(d.len());
        let c = b.saturating_add(hl).min(d.len());
        (&d[a..b], &d[b..c], &d[c..])
    }
    pub fn payload(&self) -> Option<&[u8]> {
        if self.flags & F_PAYLOAD == 0 {
            return None;
        }
        Some(self.parts().0)
    }
    pub fn headers(&self) -> Option<&[u8]> {
        if self.flags & F_HEADERS == 0 {
            return None;
        }
        Some(self.parts().1)
    }
    pub fn dedupe(&self) -> Option<&[u8]> {
        if self.flags & F_DEDUPE == 0 {
            return None;
        }
        Some(self.parts().2)
    }
}

struct Page {
    jobs: Vec<Job>,
    live: u32,
}

#[derive(Default)]
pub struct Jobs {
    pages: Vec<Option<Box<Page>>>,
}

impl Jobs {
    #[inline]
    pub fn get(&self, id: u64) -> Option<&Job> {
        let i = id.checked_sub(1)?;
        let page = self.pages.get((i >> PAGE_BITS) as usize)?.as_ref()?;
        let j = &page.jobs[(i as usize) & (PAGE - 1)];
        if j.status == EMPTY {
            None
        } else {
            Some(j)
        }
    }
    #[inline]
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Job> {
        let i = id.checked_sub(1)?;
        let page = self.pages.get_mut((i >> PAGE_BITS) as usize)?.as_mut()?;
        let j = &mut page.jobs[(i as usize) & (PAGE - 1)];
        if j.status == EMPTY {
            None
        } else {
            Some(j)
        }
    }
    fn insert(&mut self, id: u64, job: Job) {
        let i = (id - 1) as usize;
        let pi = i >> PAGE_BITS;
        while self.pages.len() <= pi {
            self.pages.push(None);
        }
        let page = self.pages[pi].get_or_insert_with(|| {
            let mut jobs = Vec::with_capacity(PAGE);
            jobs.resize(
                PAGE,
                Job {
                    status: EMPTY,
                    ..Job::default()
                },
            );
            Box::new(Page { jobs, live: 0 })
        });
        page.jobs[i & (PAGE - 1)] = job;
        page.live += 1;
    }
    /// Empty a slot; frees the page when all its ids are assigned (`next_id` past it) and gone.
    fn remove(&mut self, id: u64, next_id: u64) {
        let i = (id - 1) as usize;
        let pi = i >> PAGE_BITS;
        let mut free = false;
        if let Some(Some(page)) = self.pages.get_mut(pi) {
            page.jobs[i & (PAGE - 1)] = Job {
                status: EMPTY,
                ..Job::default()
            };
            page.live -= 1;
            free = page.live == 0 && ((pi as u64 + 1) << PAGE_BITS) < next_id;
        }
        if free {
            self.pages[pi] = None;
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Job)> + '_ {
        self.pages.iter().enumerate().flat_map(|(pi, p)| {
            p.iter().flat_map(move |p| {
                p.jobs
                    .iter()
                    .enumerate()
                    .filter(|(_, j)| j.status != EMPTY)
                    .map(move |(k, j)| (((pi << PAGE_BITS) + k + 1) as u64, j))
            })
        })
    }
}

#[derive(Default)]
struct Level {
    ring: VecDeque<u64>,
    late: BinaryHeap<Reverse<u64>>,
}

#[inline]
fn ready_live(jobs: &Jobs, id: u64) -> bool {
    match jobs.get(id) {
        Some(j) => j.status == QUEUED && j.flags & F_READY != 0,
        None => false,
    }
}

impl Level {
    /// The lowest live id, dropping dead entries on the way.
    fn head(&mut self, jobs: &Jobs) -> Option<(u64, bool)> {
        loop {
            let r = self.ring.front().copied();
            let l = self.late.peek().map(|x| x.0);
            let (id, from_ring) = match (r, l) {
                (None, None) => return None,
                (Some(a), None) => (a, true),
                (None, Some(b)) => (b, false),
                (Some(a), Some(b)) => {
                    if a <= b {
                        (a, true)
                    } else {
                        (b, false)
                    }
                }
            };
            if ready_live(jobs, id) {
                return Some((id, from_ring));
            }
            if from_ring {
                self.ring.pop_front();
            } else {
                self.late.pop();
            }
        }
    }
    fn pop(&mut self, from_ring: bool) {
        if from_ring {
            self.ring.pop_front();
            if self.ring.capacity() > 4096 && self.ring.len() < self.ring.capacity() / 4 {
                self.ring.shrink_to(self.ring.len() * 2);
            }
        } else {
            self.late.pop();
        }
    }
    fn push(&mut self, id: u64) {
        match self.ring.back() {
            Some(&b) if b >= id => self.late.push(Reverse(id)),
            _ => self.ring.push_back(id),
        }
    }
}

#[derive(Default)]
pub struct Ep {
    pub name: Box<[u8]>,
    levels: VecMap<Reverse<i32>, Level>,
    delayed: BinaryHeap<Reverse<(i64, u64)>>,
    fifo: VecDeque<(i64, u64)>,
    /// Picked jobs of this entrypoint (all managers).
    picked: u64,
    /// Token bucket: (tokens, updatedAt).
    pub bucket: Option<(f64, f64)>,
    /// Held jobs per (status, priority desc), for queueSize.
    /// (status, priority, count): a handful of rows, a Vec beats a map here.
    sizes: Vec<(u8, i32, u64)>,
    /// Cached min executeAfter of ready jobs (None = unknown, recompute).
    ready_min: Option<i64>,
    ready_count: u64,
}

impl Ep {
    fn size(&mut self, status: u8, prio: i32, delta: i64) {
        match self.sizes.iter().position(|x| x.0 == status && x.1 == prio) {
            Some(i) => {
                let c = (self.sizes[i].2 as i64 + delta) as u64;
                if c == 0 {
                    self.sizes.swap_remove(i);
                } else {
                    self.sizes[i].2 = c;
                }
            }
            None => self.sizes.push((status, prio, delta as u64)),
        }
    }
    fn best_ready(&mut self, jobs: &Jobs) -> Option<(i32, u64, bool)> {
        loop {
            let (Reverse(p), lvl) = self.levels.v.first_mut()?;
            if let Some((id, r)) = lvl.head(jobs) {
                return Some((*p, id, r));
            }
            self.levels.v.remove(0);
        }
    }
}

/// The store counters, counted by the metrics rules of @tideq/core/adapter (envelope.ts): per log
/// row 2 records (3 when it ends a job or makes a dead letter: its statistics bucket), 1 per
/// heartbeat and per schedule written; bytes = payload + headers JSON (UTF-8). The conformance
/// suite checks them exactly; they are part of snapshots.
#[derive(Default, Clone, Copy)]
pub struct Metrics {
    pub records_written: u64,
    pub bytes_written: u64,
    pub scans: u64,
    pub recoveries: u64,
    pub compactions: u64,
    pub compacted_records: u64,
}

/// One log row (32 bytes). Its error text, if any, lives in `State::log_errs` by seq: errors
/// are rare and an inline pointer would cost 8 bytes on every row.
pub struct Row {
    pub job: u64,
    pub at: i64,
    pub ep: u32,
    pub prio: i32,
    pub mgr: u32,
    pub kind: u8,
    pub status: u8,
}

/// A schedule name (UTF-16LE bytes) ordered by UTF-16 code units, as JS `<` orders strings.
#[derive(PartialEq, Eq, Clone)]
pub struct Key16(pub Box<[u8]>);

impl Ord for Key16 {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        let a = self.0.chunks(2).map(|c| (c[c.len() - 1], c[0]));
        let b = o.0.chunks(2).map(|c| (c[c.len() - 1], c[0]));
        a.cmp(b)
    }
}
impl PartialOrd for Key16 {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

#[derive(Clone)]
pub struct Sched {
    pub ep: Box<[u8]>,
    pub expr: Box<[u8]>,
    pub tz: Option<Box<[u8]>>,
    pub next: i64,
    pub last: Option<i64>,
    pub by: Option<Box<[u8]>>,
    pub at: Option<i64>,
}

pub struct State {
    pub installed: bool,
    pub last_now: i64,
    pub next_id: u64,
    pub jobs: Jobs,
    /// Latest status of every id from `status_base` on (index id - status_base). Ids below it
    /// have no log row left and no held job: compaction forgot them (jobStatus answers null), so
    /// a long run keeps only the recent history, not one byte per job forever.
    pub statuses: Vec<u8>,
    pub status_base: u64,
    pub eps: Vec<Ep>,
    pub ep_index: FxMap<Box<[u8]>, u64>,
    /// Interned manager ids (UTF-16LE); index + 1 is the handle.
    pub mgrs: Vec<Box<[u8]>>,
    pub mgr_index: FxMap<Box<[u8]>, u64>,
    /// Picked jobs per manager handle.
    owned: Vec<u64>,
    dedupe: FxMap<Box<[u8]>, u64>,
    /// Dead letters by id (failures mostly arrive in id order, so appends dominate).
    failed: VecMap<u64, ()>,
    pub log: VecDeque<Row>,
    pub log_first_seq: u64,
    pub log_errs: VecMap<u64, Box<[u8]>>,
    pub stats: VecMap<(i64, u32, u8, i32), u64>,
    stat_pending: Option<((i64, u32, u8, i32), u64)>,
    pub schedules: VecMap<Key16, Sched>,
    pub m: Metrics,
}

impl Default for State {
    fn default() -> Self {
        State {
            installed: true,
            last_now: i64::MIN,
            next_id: 1,
            jobs: Jobs::default(),
            statuses: Vec::new(),
            status_base: 1,
            eps: Vec::new(),
            ep_index: FxMap::default(),
            mgrs: Vec::new(),
            mgr_index: FxMap::default(),
            owned: vec![0],
            dedupe: FxMap::default(),
            failed: VecMap::default(),
            log: VecDeque::new(),
            log_first_seq: 1,
            log_errs: VecMap::default(),
            stats: VecMap::default(),
            stat_pending: None,
            schedules: VecMap::default(),
            m: Metrics::default(),
        }
    }
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// Make the allocator grow linear memory in few large steps instead of one `memory.grow` per
/// 64 KiB: each grow is expensive for the JS engine (new ArrayBuffer, external-memory GC
/// pressure); measured 40% of a deep enqueue with 256-byte payloads. Allocating and freeing one
/// block of at least 1/32 of the current memory leaves it free for the allocations that follow.
fn reserve_heap(bytes: usize) {
    #[cfg(target_arch = "wasm32")]
    {
        // (memory size after our last pre-grow, bytes of it not yet promised to a batch)
        static mut LAST: (usize, usize) = (0, 0);
        let cur = core::arch::wasm32::memory_size(0) * 65536;
        // Single-threaded instance: no concurrent access to LAST.
        let (last, headroom) = unsafe { LAST };
        if cur == last && headroom >= bytes {
            unsafe { LAST = (last, headroom - bytes) };
            return;
        }
        let chunk = bytes.max(cur / 32).min(1 << 28);
        let mut v: Vec<u8> = Vec::new();
        if v.try_reserve_exact(chunk).is_ok() {
            drop(v);
            unsafe { LAST = (core::arch::wasm32::memory_size(0) * 65536, chunk - bytes) };
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = bytes;
}

/// Every sort in the crate goes through this one instantiation: each extra `sort_unstable`
/// monomorphisation costs ~4 KB of wasm.
#[inline(never)]
pub fn sort_pairs(v: &mut [(i64, u64)]) {
    v.sort_unstable();
}

/// The one candidate order: priority desc, then id asc.
#[inline]
fn before(a: (i32, u64), b: (i32, u64)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

/// "worker lost: ..." without core::fmt (keeps the module small).
fn format_lost(retry: u64, attempts: u64) -> String {
    let mut s = String::from("worker lost: no heartbeat for ");
    push_u64(&mut s, retry);
    s.push_str(" ms after ");
    push_u64(&mut s, attempts);
    s.push_str(" attempts");
    s
}

fn push_u64(s: &mut String, mut x: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (x % 10) as u8;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    for &c in &buf[i..] {
        s.push(c as char);
    }
}

fn valid_ep_name(b: &[u8]) -> bool {
    !b.is_empty()
        && b.len() <= 128
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-'))
}

/// Reads a job record field for encode: f64 of an integer time/id.
#[inline]
fn t(x: i64) -> f64 {
    x as f64
}

/// ABI.md: a request is consumed exactly; bytes left over reject the call (before any change).
pub fn at_end(r: &Reader, trailing: &'static str) -> Res {
    if r.at_end() {
        Ok(())
    } else {
        Err(Fail::Invalid(trailing))
    }
}

/// Copy `bytes` into a record head at `offset` (offsets and sizes from abi.json).
#[inline(always)]
fn put(head: &mut [u8], offset: usize, bytes: &[u8]) {
    head[offset..offset + bytes.len()].copy_from_slice(bytes);
}

pub fn write_job(w: &mut Writer, id: u64, j: &Job) {
    // The fixed part in one stack buffer and one append; the data blob parsed once.
    use crate::abi::job as o;
    let mut head = [0u8; o::SIZE];
    put(&mut head, o::ID, &(id as f64).to_le_bytes());
    put(&mut head, o::ENTRYPOINT, &j.ep.to_le_bytes());
    put(&mut head, o::PRIORITY, &j.prio.to_le_bytes());
    put(&mut head, o::EXECUTE_AFTER, &t(j.exec).to_le_bytes());
    put(&mut head, o::ATTEMPTS, &j.attempts.to_le_bytes());
    put(&mut head, o::HEARTBEAT, &t(j.hb).to_le_bytes());
    put(&mut head, o::CREATED, &t(j.created).to_le_bytes());
    put(&mut head, o::UPDATED, &t(j.updated).to_le_bytes());
    head[o::STATUS] = j.status;
    put(&mut head, o::MANAGER, &j.mgr.to_le_bytes());
    let (p, h, d) = j.parts();
    let err = j.err.as_deref();
    w.v.reserve(head.len() + 16 + p.len() + h.len() + d.len() + err.map_or(0, |e| e.len()));
    w.v.extend_from_slice(&head);
    let f = j.flags;
    w.opt_blob(if f & F_PAYLOAD != 0 { Some(p) } else { None });
    w.opt_blob(if f & F_HEADERS != 0 { Some(h) } else { None });
    w.opt_blob(if f & F_DEDUPE != 0 { Some(d) } else { None });
    w.opt_blob(err);
}

impl State {
    pub fn push_row(&mut self, mut row: Row, err: Option<&[u8]>) {
        if let Some(e) = err {
            row.kind |= ROW_ERR;
            self.log_errs.insert(self.log_first_seq + self.log.len() as u64, e.into());
        }
        self.log.push_back(row);
    }

    pub fn row_err(&self, seq: u64, row: &Row) -> Option<&[u8]> {
        if row.kind & ROW_ERR == 0 {
            return None;
        }
        self.log_errs.get(&seq).map(|e| &e[..])
    }

    pub fn flush_stats(&mut self) {
        if let Some((k, c)) = self.stat_pending.take() {
            *self.stats.entry_or(k, || 0) += c;
        }
    }

    pub fn ep_count(&self) -> u32 {
        self.eps.len() as u32
    }

    pub fn intern_ep(&mut self, name: &[u8]) -> Result<u32, Fail> {
        if !valid_ep_name(name) {
            return bad("entrypoint name must be 1..128 characters of [A-Za-z0-9_.:-]");
        }
        if let Some(&i) = self.ep_index.get(name) {
            return Ok(i as u32);
        }
        let i = self.eps.len() as u32;
        self.eps.push(Ep {
            name: name.into(),
            ..Ep::default()
        });
        self.ep_index.insert(name.into(), i as u64);
        Ok(i)
    }

    pub fn intern_mgr(&mut self, name: &[u8]) -> Result<u32, Fail> {
        if name.is_empty() || name.len() % 2 != 0 || name.len() > 1024 {
            return bad("manager id must be 1..512 UTF-16 code units");
        }
        if let Some(&i) = self.mgr_index.get(name) {
            return Ok(i as u32);
        }
        self.mgrs.push(name.into());
        let i = self.mgrs.len() as u32;
        self.mgr_index.insert(name.into(), i as u64);
        self.owned.push(0);
        Ok(i)
    }

    fn ep_of(&self, i: u32) -> Result<u32, Fail> {
        if (i as usize) < self.eps.len() {
            Ok(i)
        } else {
            bad("unknown entrypoint handle")
        }
    }

    // ---- bookkeeping ------------------------------------------------------------------------

    fn push_log(&mut self, kind: u8, id: u64, j: &Job, status: u8, at: i64, mgr: u32, err: Option<&[u8]>) {
        let row = Row {
            job: id,
            at,
            ep: j.ep,
            prio: j.prio,
            mgr,
            kind,
            status,
        };
        self.push_row(row, err);
        self.m.records_written += 1;
    }

    fn stat(&mut self, ep: u32, status: u8, prio: i32, now: i64) {
        let second = now.div_euclid(1000) * 1000;
        let key = (second, ep, status, prio);
        // Consecutive transitions usually hit the same bucket: count them before touching the map.
        match &mut self.stat_pending {
            Some((k, c)) if *k == key => *c += 1,
            _ => {
                self.flush_stats();
                self.stat_pending = Some((key, 1));
            }
        }
        self.m.records_written += 1;
    }

    fn set_status(&mut self, id: u64, status: u8) {
        // One job record written per status change (as the reference counts).
        self.m.records_written += 1;
        if let Some(s) = id.checked_sub(self.status_base).and_then(|i| self.statuses.get_mut(i as usize)) {
            *s = status;
        }
    }

    /// Queue a job that is `queued` (status already set): ready when due, else delayed.
    fn enqueue_ready(&mut self, id: u64, now: i64) {
        let (ep, prio, exec) = match self.jobs.get(id) {
            Some(j) => (j.ep as usize, j.prio, j.exec),
            None => return,
        };
        let e = &mut self.eps[ep];
        if exec <= now {
            if let Some(j) = self.jobs.get_mut(id) {
                j.flags |= F_READY;
            }
            e.levels.entry_or(Reverse(prio), Level::default).push(id);
            e.ready_count += 1;
            if let Some(m) = e.ready_min {
                e.ready_min = Some(m.min(exec));
            } else if e.ready_count == 1 {
                e.ready_min = Some(exec);
            }
        } else {
            e.delayed.push(Reverse((exec, id)));
        }
    }

    /// A queued job leaves the ready set (picked, completed, cancelled, cleared).
    fn unready(&mut self, id: u64) {
        if let Some(j) = self.jobs.get_mut(id) {
            if j.flags & F_READY != 0 {
                j.flags &= !F_READY;
                let e = &mut self.eps[j.ep as usize];
                e.ready_count -= 1;
                if e.ready_min == Some(j.exec) || e.ready_count == 0 {
                    e.ready_min = None;
                }
            }
        }
    }

    fn promote(&mut self, ep: usize, now: i64) {
        loop {
            let (exec, id) = match self.eps[ep].delayed.peek() {
                Some(&Reverse(x)) if x.0 <= now => x,
                _ => return,
            };
            self.eps[ep].delayed.pop();
            let live = match self.jobs.get(id) {
                Some(j) => j.status == QUEUED && j.flags & F_READY == 0 && j.exec == exec,
                None => false,
            };
            if live {
                self.enqueue_ready(id, now);
            }
        }
    }

    fn release_key(&mut self, id: u64) {
        let key = match self.jobs.get(id).and_then(|j| j.dedupe()) {
            Some(k) => k,
            None => return,
        };
        if self.dedupe.get(key) == Some(&id) {
            self.dedupe.remove(key);
        }
    }

    fn hold_key(&mut self, id: u64) {
        if let Some(k) = self.jobs.get(id).and_then(|j| j.dedupe()) {
            self.dedupe.insert(k.into(), id);
        }
    }

    /// picked -> anything else: counts.
    fn unpick(&mut self, id: u64) {
        if let Some(j) = self.jobs.get(id) {
            if j.status == PICKED {
                let (ep, mgr) = (j.ep as usize, j.mgr as usize);
                self.eps[ep].picked -= 1;
                if let Some(o) = self.owned.get_mut(mgr) {
                    *o -= 1;
                }
            }
        }
    }

    /// The job leaves the store with a terminal status, logging `kind`.
    fn finish(&mut self, id: u64, status: u8, kind: u8, err: Option<&[u8]>, now: i64) {
        let (old, ep, prio, mgr) = match self.jobs.get(id) {
            Some(j) => (j.status, j.ep, j.prio, j.mgr),
            None => return,
        };
        if old == QUEUED || old == PICKED {
            self.release_key(id);
        }
        if old == QUEUED {
            self.unready(id);
        }
        if old == PICKED {
            self.unpick(id);
        }
        if old == FAILED {
            self.failed.remove(&id);
        }
        self.eps[ep as usize].size(old, prio, -1);
        self.set_status(id, status);
        let row = Row {
            job: id,
            at: now,
            ep,
            prio,
            mgr,
            kind,
            status,
        };
        self.push_row(row, err);
        self.m.records_written += 1;
        self.stat(ep, status, prio, now);
        self.jobs.remove(id, self.next_id);
    }

    /// queued|picked -> failed (dead letter) with `err` as lastError.
    fn fail(&mut self, id: u64, err: Option<&[u8]>, now: i64) {
        let (old, prio, ep, holder) = match self.jobs.get(id) {
            Some(j) => (j.status, j.prio, j.ep, j.mgr),
            None => return,
        };
        self.release_key(id);
        if old == QUEUED {
            self.unready(id);
        }
        self.unpick(id);
        if let Some(j) = self.jobs.get_mut(id) {
            j.status = FAILED;
            j.mgr = 0;
            j.err = err.map(Into::into);
            j.updated = now;
        }
        let e = &mut self.eps[ep as usize];
        e.size(old, prio, -1);
        e.size(FAILED, prio, 1);
        self.failed.insert(id, ());
        self.set_status(id, FAILED);
        let j = self.jobs.get(id).cloned().unwrap_or_default();
        self.push_log(K_FAILED, id, &j, FAILED, now, holder, err);
        self.stat(ep, FAILED, prio, now);
    }

    fn to_queued(&mut self, id: u64, now: i64) {
        let (old, prio, ep) = match self.jobs.get(id) {
            Some(j) => (j.status, j.prio, j.ep),
            None => return,
        };
        self.unpick(id);
        if let Some(j) = self.jobs.get_mut(id) {
            j.status = QUEUED;
            j.mgr = 0;
            j.updated = now;
        }
        let e = &mut self.eps[ep as usize];
        e.size(old, prio, -1);
        e.size(QUEUED, prio, 1);
        self.set_status(id, QUEUED);
        self.enqueue_ready(id, now);
    }

    // ---- producing --------------------------------------------------------------------------

    /// Request: u8 skip, count, then per job: ep u32, prio i32, exec f64 (NaN = now),
    /// payload opt_blob, headers opt_blob, dedupe opt_blob (ABI.md, op ENQUEUE).
    /// Response: f64 first id, then one u8 per job (1 stored, 0 skipped).
    pub fn enqueue(&mut self, r: &mut Reader, w: &mut Writer, now: i64, budget: usize) -> Res {
        struct In<'a> {
            ep: u32,
            prio: i32,
            exec: i64,
            p: Option<&'a [u8]>,
            h: Option<&'a [u8]>,
            d: Option<&'a [u8]>,
        }
        let skip = match r.u8() {
            Some(0) => false,
            Some(1) => true,
            _ => return bad("enqueue: bad onConflict"),
        };
        let n = r.count(4 + 4 + 8 + 12).ok_or(Fail::Invalid("enqueue: bad count"))?;
        let mut ins: Vec<In> = Vec::with_capacity(n);
        for _ in 0..n {
            let ep = self.ep_of(r.u32().ok_or(Fail::Invalid("enqueue: truncated"))?)?;
            let prio = r.i32().ok_or(Fail::Invalid("enqueue: truncated"))?;
            let ex = r.f64().ok_or(Fail::Invalid("enqueue: truncated"))?;
            let exec = if ex.is_nan() {
                now
            } else {
                crate::io::to_time(ex).ok_or(Fail::Invalid("enqueue: bad executeAfter"))?
            };
            let p = r.opt_blob().ok_or(Fail::Invalid("enqueue: truncated payload"))?;
            let h = r.opt_blob().ok_or(Fail::Invalid("enqueue: truncated headers"))?;
            let d = r.opt_blob().ok_or(Fail::Invalid("enqueue: truncated dedupe key"))?;
            if let Some(d) = d {
                if d.is_empty() || d.len() % 2 != 0 {
                    return bad("enqueue: dedupe key must be UTF-16LE, non-empty");
                }
            }
            ins.push(In { ep, prio, exec, p, h, d });
        }
        if !r.at_end() {
            return bad("enqueue: trailing bytes");
        }
        let need: usize = ins
            .iter()
            .map(|j| 64 + j.p.map_or(0, |x| x.len()) + j.h.map_or(0, |x| x.len()) + j.d.map_or(0, |x| x.len()))
            .sum();
        // The budget is checked before anything grows; a Vec that must grow briefly holds its old
        // and its new (doubled) buffer, so count that too.
        if budget > 0 {
            let grow = |len: usize, cap: usize, elem: usize| if len + n > cap { (cap + n) * 2 * elem } else { 0 };
            let more = need
                + grow(self.log.len(), self.log.capacity(), std::mem::size_of::<Row>())
                + grow(self.statuses.len(), self.statuses.capacity(), 1)
                + grow(self.dedupe.len(), self.dedupe.capacity(), 48);
            if !crate::alloc::fits(budget, more) {
                return Err(Fail::Full(more));
            }
        }
        reserve_heap(need);
        // Decide every position before storing anything (atomic).
        let mut take = vec![true; n];
        let mut seen: FxMap<Box<[u8]>, u64> = FxMap::default();
        let mut dups: Vec<Box<[u8]>> = Vec::new();
        for (i, j) in ins.iter().enumerate() {
            if let Some(k) = j.d {
                let clash = self.dedupe.contains_key(k) || seen.contains_key(k);
                if clash {
                    take[i] = false;
                    if !skip && !dups.iter().any(|x| &x[..] == k) {
                        dups.push(k.into());
                    }
                }
                seen.insert(k.into(), 0);
            }
        }
        if !dups.is_empty() {
            return Err(Fail::Duplicate(dups));
        }
        let first = self.next_id;
        w.f64(first as f64);
        for (i, j) in ins.iter().enumerate() {
            w.u8(take[i] as u8);
            if !take[i] {
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            let (plen, hlen) = (j.p.map_or(0, |x| x.len()), j.h.map_or(0, |x| x.len()));
            let (flags, data) = pack(j.p, j.h, j.d);
            let job = Job {
                exec: j.exec,
                created: now,
                updated: now,
                hb: now,
                data,
                err: None,
                ep: j.ep,
                prio: j.prio,
                attempts: 0,
                mgr: 0,
                status: QUEUED,
                flags,
            };
            self.statuses.push(QUEUED);
            self.jobs.insert(id, job);
            self.m.records_written += 1;
            self.m.bytes_written += (plen + hlen) as u64;
            if let Some(k) = j.d {
                self.dedupe.insert(k.into(), id);
            }
            self.eps[j.ep as usize].size(QUEUED, j.prio, 1);
            self.enqueue_ready(id, now);
            self.log.push_back(Row {
                job: id,
                at: now,
                ep: j.ep,
                prio: j.prio,
                mgr: 0,
                kind: K_ENQUEUED,
                status: QUEUED,
            });
            self.m.records_written += 1;
        }
        Ok(())
    }

    // ---- consuming --------------------------------------------------------------------------

    /// Request: batch u32, maxOwned f64, manager handle u32, count, per entrypoint: handle u32,
    /// concurrencyLimit f64, requestsPerSecond f64, retryTimer f64, maxAttempts f64.
    /// Response: count u32, then job records in pick order.
    pub fn dequeue(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        struct Req {
            ep: usize,
            conc: u64,
            rps: f64,
            retry: u64,
            max_att: u64,
            /// Once a fresh candidate of it is skipped by rate or concurrency, the rest would be too.
            excluded: bool,
        }
        let batch = r.u32().ok_or(Fail::Invalid("dequeue: truncated"))? as usize;
        let max_owned = r.count_f().ok_or(Fail::Invalid("dequeue: bad maxOwned"))?;
        let mgr = r.u32().ok_or(Fail::Invalid("dequeue: truncated"))?;
        if mgr == 0 || mgr as usize > self.mgrs.len() {
            return bad("dequeue: unknown manager handle");
        }
        if batch == 0 {
            return bad("dequeue: batchSize must be >= 1");
        }
        let n = r.count(36).ok_or(Fail::Invalid("dequeue: bad entrypoint count"))?;
        if n == 0 {
            return bad("dequeue: no entrypoints");
        }
        let mut reqs: Vec<Req> = Vec::with_capacity(n);
        for _ in 0..n {
            let ep = self.ep_of(r.u32().ok_or(Fail::Invalid("dequeue: truncated"))?)? as usize;
            let conc = r.count_f().ok_or(Fail::Invalid("dequeue: bad concurrencyLimit"))?;
            let rps = r.f64().ok_or(Fail::Invalid("dequeue: truncated"))?;
            if !(rps >= 0.0) || !rps.is_finite() {
                return bad("dequeue: bad requestsPerSecond");
            }
            let retry = r.count_f().ok_or(Fail::Invalid("dequeue: bad retryTimer"))?;
            let max_att = r.count_f().ok_or(Fail::Invalid("dequeue: bad maxAttempts"))?;
            if reqs.iter().any(|q| q.ep == ep) {
                return bad("dequeue: entrypoint named twice");
            }
            reqs.push(Req {
                ep,
                conc,
                rps,
                retry,
                max_att,
                excluded: false,
            });
        }
        if !r.at_end() {
            return bad("dequeue: trailing bytes");
        }
        let nowf = now as f64;
        // 1. token buckets (exactly the reference's IEEE arithmetic)
        for q in &reqs {
            if q.rps > 0.0 {
                let cap = f64::max(1.0, q.rps / 10.0);
                let e = &mut self.eps[q.ep];
                let tokens = match e.bucket {
                    None => cap,
                    Some((tk, at)) => f64::min(cap, tk + f64::max(0.0, nowf - at) * q.rps / 1000.0),
                };
                e.bucket = Some((tokens, nowf));
            }
        }
        // Stale picked jobs: an ordered prefix of each heartbeat FIFO.
        let mut exhausted: Vec<u64> = Vec::new();
        let mut stale: Vec<(i32, u64)> = Vec::new();
        for q in reqs.iter() {
            if q.retry == 0 {
                continue;
            }
            let thr = now.saturating_sub(q.retry.min(i64::MAX as u64) as i64);
            let jobs = &self.jobs;
            let e = &mut self.eps[q.ep];
            while let Some(&(hb, id)) = e.fifo.front() {
                if matches!(jobs.get(id), Some(j) if j.status == PICKED && j.hb == hb) {
                    break;
                }
                e.fifo.pop_front();
            }
            for &(hb, id) in e.fifo.iter() {
                if hb >= thr {
                    break;
                }
                if let Some(j) = jobs.get(id) {
                    if j.status == PICKED && j.hb == hb {
                        if q.max_att > 0 && j.attempts as u64 >= q.max_att {
                            exhausted.push(id);
                        } else {
                            stale.push((j.prio, id));
                        }
                    }
                }
            }
        }
        let mut keyed: Vec<(i64, u64)> = stale.iter().map(|&(p, id)| (-(p as i64), id)).collect();
        sort_pairs(&mut keyed);
        let mut stale: Vec<(i32, u64)> = keyed.iter().map(|&(p, id)| ((-p) as i32, id)).collect();
        stale.dedup();
        // 2. exhausted stale jobs -> failed, in id order
        let mut keyed: Vec<(i64, u64)> = exhausted.iter().map(|&id| (0, id)).collect();
        sort_pairs(&mut keyed);
        let mut exhausted: Vec<u64> = keyed.iter().map(|x| x.1).collect();
        exhausted.dedup();
        for &id in &exhausted {
            let (ep, att) = match self.jobs.get(id) {
                Some(j) => (j.ep as usize, j.attempts),
                None => continue,
            };
            let rt = reqs.iter().find(|q| q.ep == ep).map_or(0, |q| q.retry);
            let msg = utf16(&format_lost(rt, att as u64));
            self.fail(id, Some(&msg), now);
        }
        for q in reqs.iter() {
            self.promote(q.ep, now);
        }
        // 3. picks, one order across entrypoints: priority desc, id asc
        let count_at = w.v.len();
        w.u32(0);
        let mut picked = 0usize;
        let mgr_i = mgr as usize;
        let mut si = 0usize;
        let mut last: Option<(i32, u64)> = None;
        while picked < batch {
            // (prio, id, ready stream index or None for stale, from_ring)
            let mut best: Option<(i32, u64, Option<usize>, bool)> = stale.get(si).map(|&(p, id)| (p, id, None, false));
            for (qi, q) in reqs.iter().enumerate() {
                if q.excluded {
                    continue;
                }
                if let Some((p, id, fr)) = self.eps[q.ep].best_ready(&self.jobs) {
                    if best.map_or(true, |b| before((p, id), (b.0, b.1))) {
                        best = Some((p, id, Some(qi), fr));
                    }
                }
            }
            let (prio, id, from, from_ring) = match best {
                Some(b) => b,
                None => break,
            };
            let (holder, ep) = match self.jobs.get(id) {
                Some(j) => (j.mgr, j.ep as usize),
                None => break,
            };
            if self.owned[mgr_i] >= max_owned {
                if from.is_some() || holder != mgr {
                    break;
                }
                // Fresh candidates of excluded streams are still visited (and stop the pass) in order.
                if self.excluded_between(
                    &reqs.iter().filter(|q| q.excluded).map(|q| q.ep).collect::<Vec<_>>(),
                    last,
                    (prio, id),
                ) {
                    break;
                }
            }
            last = Some((prio, id));
            if from.is_none() {
                si += 1;
            }
            let qi = match reqs.iter().position(|q| q.ep == ep) {
                Some(x) => x,
                None => break,
            };
            let has_bucket = reqs[qi].rps > 0.0 && self.eps[ep].bucket.is_some();
            if has_bucket && self.eps[ep].bucket.map_or(0.0, |b| b.0) < 1.0 {
                if from.is_some() {
                    reqs[qi].excluded = true;
                }
                continue;
            }
            if from.is_some() && reqs[qi].conc > 0 && self.eps[ep].picked >= reqs[qi].conc {
                reqs[qi].excluded = true;
                continue;
            }
            if from.is_none() {
                // stale re-pick: the job moves from its holder to the caller
                self.owned[holder as usize] -= 1;
                self.owned[mgr_i] += 1;
                self.m.records_written += 1;
            } else {
                if let Some(l) = self.eps[ep].levels.get_mut(&Reverse(prio)) {
                    l.pop(from_ring);
                }
                self.unready(id);
                let e = &mut self.eps[ep];
                e.picked += 1;
                e.size(QUEUED, prio, -1);
                e.size(PICKED, prio, 1);
                self.owned[mgr_i] += 1;
                self.set_status(id, PICKED);
            }
            let e = &mut self.eps[ep];
            if has_bucket {
                if let Some((tk, at)) = e.bucket {
                    e.bucket = Some((tk - 1.0, at));
                }
            }
            e.fifo.push_back((now, id));
            let j = match self.jobs.get_mut(id) {
                Some(j) => j,
                None => break,
            };
            j.status = PICKED;
            j.attempts = j.attempts.saturating_add(1);
            j.hb = now;
            j.updated = now;
            j.mgr = mgr;
            write_job(w, id, j);
            let (jep, jprio) = (j.ep, j.prio);
            self.log.push_back(Row {
                job: id,
                at: now,
                ep: jep,
                prio: jprio,
                mgr,
                kind: K_PICKED,
                status: PICKED,
            });
            self.m.records_written += 1;
            picked += 1;
        }
        for q in &reqs {
            self.compact_fifo(q.ep);
        }
        w.v[count_at..count_at + 4].copy_from_slice(&(picked as u32).to_le_bytes());
        Ok(())
    }

    /// Whether a live ready job of one of `eps` lies strictly between `after` and `until` in
    /// candidate order. Only runs when the caller is at maxOwned and re-picks its own stale jobs.
    fn excluded_between(&self, eps: &[usize], after: Option<(i32, u64)>, until: (i32, u64)) -> bool {
        let hi = after.map_or(i32::MAX, |a| a.0);
        if hi < until.0 {
            return false;
        }
        for &ep in eps {
            for (&Reverse(p), l) in self.eps[ep].levels.iter().filter(|(&Reverse(p), _)| p <= hi && p >= until.0) {
                for &id in l.ring.iter().chain(l.late.iter().map(|x| &x.0)) {
                    if ready_live(&self.jobs, id) && before((p, id), until) && after.map_or(true, |a| before(a, (p, id))) {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Keep the heartbeat FIFO within 2x its live entries.
    fn compact_fifo(&mut self, ep: usize) {
        let jobs = &self.jobs;
        let e = &mut self.eps[ep];
        if e.fifo.len() as u64 > 2 * e.picked + 64 {
            e.fifo
                .retain(|&(hb, id)| matches!(jobs.get(id), Some(j) if j.status == PICKED && j.hb == hb));
            // A job can appear twice with the same heartbeat (picked, retried, picked at one `now`).
            let mut last: Option<(i64, u64)> = None;
            let mut seen = FxMap::<u64, u64>::default();
            e.fifo.retain(|&x| {
                let keep = Some(x) != last && seen.insert(x.1, 0).is_none();
                last = Some(x);
                keep
            });
            if e.fifo.capacity() > 4 * e.fifo.len() + 64 {
                e.fifo.shrink_to_fit();
            }
        }
    }

    /// Reads `count` ids; marks repeats (a repeated id applies once).
    fn ids(r: &mut Reader) -> Result<Vec<u64>, Fail> {
        let n = r.count(8).ok_or(Fail::Invalid("bad id count"))?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(r.id().ok_or(Fail::Invalid("bad job id"))?);
        }
        if !r.at_end() {
            return bad("trailing bytes");
        }
        Ok(v)
    }

    /// The fencing prefix of complete/retry/heartbeat: u32 manager handle, 0 = any caller.
    fn fence(&self, r: &mut Reader) -> Result<u32, Fail> {
        let m = r.u32().ok_or(Fail::Invalid("truncated manager handle"))?;
        if m as usize > self.mgrs.len() {
            return bad("unknown manager handle");
        }
        Ok(m)
    }

    /// Whether a fenced call by `mgr` may touch job `j`: a manager only acts on jobs it holds
    /// (a late result after a stale re-pick by another manager, or after recover, is ignored).
    #[inline]
    fn holds(j: &Job, mgr: u32) -> bool {
        mgr == 0 || (j.status == PICKED && j.mgr == mgr)
    }

    /// Request: fence, count, per result: id f64, status u8, error opt_blob. Response: u8 per result.
    pub fn complete(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let mgr = self.fence(r)?;
        let n = r.count(13).ok_or(Fail::Invalid("complete: bad count"))?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let id = r.id().ok_or(Fail::Invalid("complete: bad id"))?;
            let st = r.u8().ok_or(Fail::Invalid("complete: truncated"))?;
            if !(SUCCESSFUL..=FAILED).contains(&st) {
                return bad("complete: bad status");
            }
            let err = r.opt_blob().ok_or(Fail::Invalid("complete: truncated error"))?;
            if err.map_or(false, |e| e.len() % 2 != 0) {
                return bad("complete: error must be UTF-16LE");
            }
            v.push((id, st, err));
        }
        if !r.at_end() {
            return bad("complete: trailing bytes");
        }
        for (id, st, err) in v {
            let ok = matches!(self.jobs.get(id), Some(j) if (j.status == QUEUED || j.status == PICKED) && Self::holds(j, mgr));
            w.u8(ok as u8);
            if !ok {
                continue;
            }
            if st == FAILED {
                self.fail(id, err, now);
            } else {
                let kind = if st == CANCELED { K_CANCELLED } else { K_COMPLETED };
                self.finish(id, st, kind, err, now);
            }
        }
        Ok(())
    }

    /// Request: fence, count, per request: id f64, executeAfter f64, error opt_blob. Response: u8 each.
    pub fn retry(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let mgr = self.fence(r)?;
        let n = r.count(20).ok_or(Fail::Invalid("retry: bad count"))?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let id = r.id().ok_or(Fail::Invalid("retry: bad id"))?;
            let exec = r.time().ok_or(Fail::Invalid("retry: bad executeAfter"))?;
            let err = r.opt_blob().ok_or(Fail::Invalid("retry: truncated error"))?;
            if err.map_or(false, |e| e.len() % 2 != 0) {
                return bad("retry: error must be UTF-16LE");
            }
            v.push((id, exec, err));
        }
        if !r.at_end() {
            return bad("retry: trailing bytes");
        }
        for (id, exec, err) in v {
            let ok = matches!(self.jobs.get(id), Some(j) if j.status == PICKED && Self::holds(j, mgr));
            w.u8(ok as u8);
            if !ok {
                continue;
            }
            let holder = match self.jobs.get_mut(id) {
                Some(j) => {
                    j.exec = exec;
                    j.err = err.map(Into::into);
                    j.mgr
                }
                None => 0,
            };
            self.to_queued(id, now);
            let j = self.jobs.get(id).cloned().unwrap_or_default();
            self.push_log(K_RETRIED, id, &j, QUEUED, now, holder, err);
        }
        Ok(())
    }

    /// Request: ids. Response: u8 each, or Duplicate.
    pub fn requeue(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let ids = Self::ids(r)?;
        let mut take = vec![false; ids.len()];
        let mut seen_ids = FxMap::<u64, u64>::default();
        let mut keys: FxMap<Box<[u8]>, u64> = FxMap::default();
        let mut dups: Vec<Box<[u8]>> = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            let j = match self.jobs.get(id) {
                Some(j) if j.status == FAILED => j,
                _ => continue,
            };
            if seen_ids.insert(id, 0).is_some() {
                continue;
            }
            take[i] = true;
            if let Some(k) = j.dedupe() {
                *keys.entry(k.into()).or_insert(0) += 1;
            }
        }
        for (i, &id) in ids.iter().enumerate() {
            if !take[i] {
                continue;
            }
            if let Some(k) = self.jobs.get(id).and_then(|j| j.dedupe()) {
                let clash = self.dedupe.contains_key(k) || keys.get(k).copied().unwrap_or(0) > 1;
                if clash && !dups.iter().any(|x| &x[..] == k) {
                    dups.push(k.into());
                }
            }
        }
        if !dups.is_empty() {
            return Err(Fail::Duplicate(dups));
        }
        for (i, &id) in ids.iter().enumerate() {
            w.u8(take[i] as u8);
            if !take[i] {
                continue;
            }
            self.failed.remove(&id);
            if let Some(j) = self.jobs.get_mut(id) {
                j.attempts = 0;
                j.exec = now;
            }
            self.hold_key(id);
            self.to_queued(id, now);
            let j = self.jobs.get(id).cloned().unwrap_or_default();
            self.push_log(K_REQUEUED, id, &j, QUEUED, now, 0, None);
        }
        Ok(())
    }

    /// Request: fence, ids. Response: u8 each.
    pub fn heartbeat(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let mgr = self.fence(r)?;
        let ids = Self::ids(r)?;
        let mut seen = FxMap::<u64, u64>::default();
        for id in ids {
            let j = match self.jobs.get_mut(id) {
                Some(j) if j.status == PICKED && Self::holds(j, mgr) && seen.insert(id, 0).is_none() => j,
                _ => {
                    w.u8(0);
                    continue;
                }
            };
            w.u8(1);
            self.m.records_written += 1;
            j.updated = now;
            if j.hb != now {
                j.hb = now;
                let ep = j.ep as usize;
                self.eps[ep].fifo.push_back((now, id));
            }
        }
        for i in 0..self.eps.len() {
            self.compact_fifo(i);
        }
        Ok(())
    }

    pub fn cancel(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let ids = Self::ids(r)?;
        for id in ids {
            let ok = self.jobs.get(id).is_some();
            w.u8(ok as u8);
            if ok {
                self.finish(id, CANCELED, K_CANCELLED, None, now);
            }
        }
        Ok(())
    }

    /// Request: u8 all, count, entrypoint handles. Response: f64 count.
    pub fn clear(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let all = r.u8().ok_or(Fail::Invalid("clear: truncated"))? != 0;
        let n = r.count(4).ok_or(Fail::Invalid("clear: bad count"))?;
        let mut sel = vec![all; self.eps.len()];
        for _ in 0..n {
            let e = self.ep_of(r.u32().ok_or(Fail::Invalid("clear: truncated"))?)?;
            sel[e as usize] = true;
        }
        if !r.at_end() {
            return bad("clear: trailing bytes");
        }
        let ids: Vec<u64> = self.jobs.iter().filter(|(_, j)| sel[j.ep as usize]).map(|(id, _)| id).collect();
        for &id in &ids {
            self.finish(id, DELETED, K_COMPLETED, None, now);
        }
        w.f64(ids.len() as f64);
        Ok(())
    }

    // ---- reads ------------------------------------------------------------------------------

    pub fn job_status(&mut self, r: &mut Reader, w: &mut Writer) -> Res {
        let n = r.count(8).ok_or(Fail::Invalid("jobStatus: bad count"))?;
        if r.remaining() != n * 8 {
            return bad("jobStatus: trailing bytes");
        }
        for _ in 0..n {
            let x = r.f64().ok_or(Fail::Invalid("jobStatus: truncated"))?;
            let s = match crate::io::to_id(x) {
                Some(id) if id < self.next_id && id >= self.status_base => {
                    self.statuses.get((id - self.status_base) as usize).copied().unwrap_or(255)
                }
                _ => 255,
            };
            w.u8(s);
        }
        Ok(())
    }

    pub fn get_jobs(&mut self, r: &mut Reader, w: &mut Writer) -> Res {
        let n = r.count(8).ok_or(Fail::Invalid("getJobs: bad count"))?;
        if r.remaining() != n * 8 {
            return bad("getJobs: trailing bytes");
        }
        for _ in 0..n {
            let x = r.f64().ok_or(Fail::Invalid("getJobs: truncated"))?;
            match crate::io::to_id(x).and_then(|id| self.jobs.get(id).map(|j| (id, j))) {
                Some((id, j)) => {
                    w.u8(1);
                    write_job(w, id, j);
                }
                None => w.u8(0),
            }
        }
        Ok(())
    }

    /// Response: count, rows (ep u32, status u8, priority i32, count f64), unsorted by name.
    pub fn queue_size(&mut self, w: &mut Writer) -> Res {
        let at = w.v.len();
        w.u32(0);
        let mut n = 0u32;
        for (i, e) in self.eps.iter().enumerate() {
            for &(st, p, c) in &e.sizes {
                w.u32(i as u32);
                w.u8(st);
                w.i32(p);
                w.f64(c as f64);
                n += 1;
            }
        }
        w.v[at..at + 4].copy_from_slice(&n.to_le_bytes());
        Ok(())
    }

    /// Request: after f64, limit u32. Response: count, job records.
    pub fn failed_jobs(&mut self, r: &mut Reader, w: &mut Writer) -> Res {
        let after = r.count_f().ok_or(Fail::Invalid("failedJobs: bad after"))?;
        let limit = r.u32().ok_or(Fail::Invalid("failedJobs: truncated"))? as usize;
        at_end(r, "failedJobs: trailing bytes")?;
        let from = self.failed.lower_bound(&after.saturating_add(1));
        let ids: Vec<u64> = self.failed.v[from..].iter().take(limit).map(|x| x.0).collect();
        w.u32(ids.len() as u32);
        for id in ids {
            if let Some(j) = self.jobs.get(id) {
                write_job(w, id, j);
            }
        }
        Ok(())
    }

    /// Request: after f64, limit u32. Response: count, rows.
    pub fn read_log(&mut self, r: &mut Reader, w: &mut Writer) -> Res {
        let after = r.count_f().ok_or(Fail::Invalid("log: bad after"))?;
        let limit = r.u32().ok_or(Fail::Invalid("log: truncated"))? as usize;
        at_end(r, "log: trailing bytes")?;
        let start = after.saturating_add(1).max(self.log_first_seq) - self.log_first_seq;
        let start = start.min(self.log.len() as u64) as usize;
        let end = start + limit.min(self.log.len() - start);
        w.u32((end - start) as u32);
        for i in start..end {
            let row = &self.log[i];
            let seq = self.log_first_seq + i as u64;
            use crate::abi::log_row as o;
            let mut head = [0u8; o::SIZE];
            put(&mut head, o::SEQ, &(seq as f64).to_le_bytes());
            head[o::KIND] = row.kind & !ROW_ERR;
            head[o::STATUS] = row.status;
            put(&mut head, o::JOB_ID, &(row.job as f64).to_le_bytes());
            put(&mut head, o::ENTRYPOINT, &row.ep.to_le_bytes());
            put(&mut head, o::PRIORITY, &row.prio.to_le_bytes());
            put(&mut head, o::AT, &t(row.at).to_le_bytes());
            put(&mut head, o::MANAGER, &row.mgr.to_le_bytes());
            w.v.extend_from_slice(&head);
            w.opt_blob(self.row_err(seq, row));
        }
        Ok(())
    }

    pub fn last_seq(&self) -> u64 {
        self.log_first_seq + self.log.len() as u64 - 1
    }

    /// Request: since f64. Response: count, rows (second f64, ep u32, status u8, prio i32, count f64), unsorted.
    pub fn statistics(&mut self, r: &mut Reader, w: &mut Writer) -> Res {
        let since = r.f64().ok_or(Fail::Invalid("statistics: truncated"))?;
        let since = if since.is_nan() {
            i64::MIN
        } else {
            crate::io::to_time(since).ok_or(Fail::Invalid("statistics: bad since"))?
        };
        at_end(r, "statistics: trailing bytes")?;
        self.flush_stats();
        let from = self.stats.lower_bound(&(since, 0, 0, i32::MIN));
        let rows = &self.stats.v[from..];
        w.u32(rows.len() as u32);
        for &((s, ep, st, p), c) in rows {
            w.f64(t(s));
            w.u32(ep);
            w.u8(st);
            w.i32(p);
            w.f64(c as f64);
        }
        Ok(())
    }

    /// Request: count, entrypoint handles. Response: f64 (NaN = none).
    pub fn next_due(&mut self, r: &mut Reader, w: &mut Writer) -> Res {
        let n = r.count(4).ok_or(Fail::Invalid("nextDueAt: bad count"))?;
        if r.remaining() != n * 4 {
            return bad("nextDueAt: trailing bytes");
        }
        let mut best: Option<i64> = None;
        for _ in 0..n {
            let e = self.ep_of(r.u32().ok_or(Fail::Invalid("nextDueAt: truncated"))?)? as usize;
            let jobs = &self.jobs;
            let ep = &mut self.eps[e];
            // delayed heap: drop dead tops
            while let Some(&Reverse((ex, id))) = ep.delayed.peek() {
                if matches!(jobs.get(id), Some(j) if j.status == QUEUED && j.flags & F_READY == 0 && j.exec == ex) {
                    break;
                }
                ep.delayed.pop();
            }
            let mut m = ep.delayed.peek().map(|x| (x.0).0);
            if ep.ready_count > 0 {
                if ep.ready_min.is_none() {
                    let mut rm: Option<i64> = None;
                    for (_, l) in ep.levels.iter() {
                        for &id in l.ring.iter().chain(l.late.iter().map(|x| &x.0)) {
                            if let Some(j) = jobs.get(id) {
                                if j.status == QUEUED && j.flags & F_READY != 0 {
                                    rm = Some(rm.map_or(j.exec, |x: i64| x.min(j.exec)));
                                }
                            }
                        }
                    }
                    ep.ready_min = rm;
                }
                if let Some(rm) = ep.ready_min {
                    m = Some(m.map_or(rm, |x| x.min(rm)));
                }
            }
            if let Some(m) = m {
                best = Some(best.map_or(m, |b| b.min(m)));
            }
        }
        w.f64(best.map_or(f64::NAN, t));
        Ok(())
    }

    // ---- schedules --------------------------------------------------------------------------

    fn write_sched(w: &mut Writer, k: &Key16, s: &Sched) {
        w.blob(&k.0);
        w.blob(&s.ep);
        w.blob(&s.expr);
        w.opt_blob(s.tz.as_deref());
        w.f64(t(s.next));
        w.f64(s.last.map_or(f64::NAN, t));
        w.opt_blob(s.by.as_deref());
        w.f64(s.at.map_or(f64::NAN, t));
    }

    fn str16<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], Fail> {
        let b = r.blob().ok_or(Fail::Invalid("truncated string"))?;
        if b.len() % 2 != 0 {
            return bad("strings must be UTF-16LE");
        }
        Ok(b)
    }

    pub fn upsert_schedules(&mut self, r: &mut Reader, now: i64) -> Res {
        let _ = now;
        let n = r.count(20).ok_or(Fail::Invalid("upsertSchedules: bad count"))?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let name = Self::str16(r)?;
            let ep = Self::str16(r)?;
            let expr = Self::str16(r)?;
            let tz = r.opt_blob().ok_or(Fail::Invalid("upsertSchedules: truncated"))?;
            let next = r.time().ok_or(Fail::Invalid("upsertSchedules: bad nextRunAt"))?;
            if name.is_empty() || tz.map_or(false, |z| z.len() % 2 != 0) {
                return bad("upsertSchedules: bad name or timezone");
            }
            v.push((name, ep, expr, tz, next));
        }
        if !r.at_end() {
            return bad("upsertSchedules: trailing bytes");
        }
        for (name, ep, expr, tz, next) in v {
            let key = Key16(name.into());
            let (last, by, at) = match self.schedules.get(&key) {
                Some(s) => (s.last, s.by.clone(), s.at),
                None => (None, None, None),
            };
            self.schedules.insert(
                key,
                Sched {
                    ep: ep.into(),
                    expr: expr.into(),
                    tz: tz.map(Into::into),
                    next,
                    last,
                    by,
                    at,
                },
            );
            self.m.records_written += 1;
        }
        Ok(())
    }

    /// Request: claimer str16, staleAfter f64, limit u32. Response: count, schedules.
    pub fn claim_schedules(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let by = Self::str16(r)?;
        let stale = r.count_f().ok_or(Fail::Invalid("claimDueSchedules: bad staleAfter"))?;
        let limit = r.u32().ok_or(Fail::Invalid("claimDueSchedules: truncated"))? as usize;
        at_end(r, "claimDueSchedules: trailing bytes")?;
        let thr = now.saturating_sub(stale.min(i64::MAX as u64) as i64);
        // (nextRunAt, index): the map is in name order, so the index breaks ties by name.
        let mut due: Vec<(i64, u64)> = self
            .schedules
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| s.next <= now && (s.by.is_none() || s.at.map_or(true, |a| a < thr)))
            .map(|(i, (_, s))| (s.next, i as u64))
            .collect();
        sort_pairs(&mut due);
        due.truncate(limit);
        w.u32(due.len() as u32);
        for (_, i) in due {
            if let Some((k, s)) = self.schedules.v.get_mut(i as usize) {
                s.by = Some(by.into());
                s.at = Some(now);
                self.m.records_written += 1;
                Self::write_sched(w, k, s);
            }
        }
        Ok(())
    }

    /// Request: count, per run: name str16, claimer str16, nextRunAt f64. Response: u8 each.
    pub fn mark_runs(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let n = r.count(16).ok_or(Fail::Invalid("markScheduleRun: bad count"))?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let name = Self::str16(r)?;
            let by = Self::str16(r)?;
            let next = r.time().ok_or(Fail::Invalid("markScheduleRun: bad nextRunAt"))?;
            v.push((name, by, next));
        }
        if !r.at_end() {
            return bad("markScheduleRun: trailing bytes");
        }
        for (name, by, next) in v {
            let ok = match self.schedules.get_mut(&Key16(name.into())) {
                Some(s) if s.by.as_deref() == Some(by) => {
                    s.last = Some(now);
                    s.next = next;
                    s.by = None;
                    s.at = None;
                    self.m.records_written += 1;
                    true
                }
                _ => false,
            };
            w.u8(ok as u8);
        }
        Ok(())
    }

    pub fn delete_schedules(&mut self, r: &mut Reader, w: &mut Writer) -> Res {
        let n = r.count(4).ok_or(Fail::Invalid("deleteSchedules: bad count"))?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(Self::str16(r)?);
        }
        at_end(r, "deleteSchedules: trailing bytes")?;
        let mut c = 0u32;
        for name in v {
            if self.schedules.remove(&Key16(name.into())).is_some() {
                c += 1;
            }
        }
        self.m.records_written += c as u64;
        w.u32(c);
        Ok(())
    }

    pub fn list_schedules(&mut self, w: &mut Writer) -> Res {
        w.u32(self.schedules.len() as u32);
        for (k, s) in self.schedules.iter() {
            Self::write_sched(w, k, s);
        }
        Ok(())
    }

    // ---- maintenance ------------------------------------------------------------------------

    fn stale_all(&self, thr: i64) -> Vec<u64> {
        let mut v = Vec::new();
        for e in &self.eps {
            for &(hb, id) in &e.fifo {
                if hb >= thr {
                    break;
                }
                if matches!(self.jobs.get(id), Some(j) if j.status == PICKED && j.hb == hb) {
                    v.push((0, id));
                }
            }
        }
        sort_pairs(&mut v);
        let mut v: Vec<u64> = v.iter().map(|x| x.1).collect();
        v.dedup();
        v
    }

    fn read_retention(r: &mut Reader) -> Result<(Option<u64>, Option<u64>), Fail> {
        let has_rec = r.u8().ok_or(Fail::Invalid("retention: truncated"))? != 0;
        let rec = r.count_f().ok_or(Fail::Invalid("retention: bad maxRecords"))?;
        let has_age = r.u8().ok_or(Fail::Invalid("retention: truncated"))? != 0;
        let age = r.count_f().ok_or(Fail::Invalid("retention: bad maxAge"))?;
        Ok((if has_rec { Some(rec) } else { None }, if has_age { Some(age) } else { None }))
    }

    fn beyond(&self, rec: Option<u64>, age: Option<u64>, now: i64) -> usize {
        let mut drop = 0usize;
        if let Some(age) = age {
            let thr = now.saturating_sub(age.min(i64::MAX as u64) as i64);
            // `at` never decreases along the log (now is clamped), so old rows are a prefix.
            drop = self.log.partition_point(|row| row.at < thr);
        }
        if let Some(rec) = rec {
            let over = (self.log.len() as u64).saturating_sub(rec) as usize;
            drop = drop.max(over);
        }
        drop
    }

    /// Request: staleAfter f64, retention. Response: count+ids (stale), count+ids (orphans), f64 beyond.
    pub fn scan(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let stale = r.count_f().ok_or(Fail::Invalid("scan: bad staleAfter"))?;
        let (rec, age) = Self::read_retention(r)?;
        at_end(r, "scan: trailing bytes")?;
        let ids = self.stale_all(now.saturating_sub(stale.min(i64::MAX as u64) as i64));
        w.u32(ids.len() as u32);
        for id in ids {
            w.f64(id as f64);
        }
        w.u32(0);
        w.f64(self.beyond(rec, age, now) as f64);
        self.m.scans += 1;
        Ok(())
    }

    pub fn recover(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let stale = r.count_f().ok_or(Fail::Invalid("recover: bad staleAfter"))?;
        at_end(r, "recover: trailing bytes")?;
        let ids = self.stale_all(now.saturating_sub(stale.min(i64::MAX as u64) as i64));
        w.u32(ids.len() as u32);
        for &id in &ids {
            w.f64(id as f64);
            let holder = self.jobs.get(id).map_or(0, |j| j.mgr);
            self.to_queued(id, now);
            let j = self.jobs.get(id).cloned().unwrap_or_default();
            self.push_log(K_REQUEUED, id, &j, QUEUED, now, holder, None);
        }
        self.m.recoveries += ids.len() as u64;
        for i in 0..self.eps.len() {
            self.compact_fifo(i);
        }
        Ok(())
    }

    pub fn compact(&mut self, r: &mut Reader, w: &mut Writer, now: i64) -> Res {
        let (rec, age) = Self::read_retention(r)?;
        at_end(r, "compact: trailing bytes")?;
        let drop = self.beyond(rec, age, now);
        self.log.drain(..drop);
        self.log_first_seq += drop as u64;
        self.log_errs.drop_before(&self.log_first_seq);
        if self.log.capacity() > 2 * self.log.len() + 1024 {
            self.log.shrink_to_fit();
        }
        if let Some(age) = age {
            let thr = now.saturating_sub(age.min(i64::MAX as u64) as i64);
            self.flush_stats();
            self.stats.drop_before(&(thr, 0, 0, i32::MIN));
        }
        if drop > 0 {
            self.forget_statuses();
        }
        self.m.compactions += 1;
        self.m.compacted_records += drop as u64;
        w.f64(drop as f64);
        Ok(())
    }

    /// Move the status horizon up to the oldest id still referenced: by a retained log row or by a
    /// held job (a held job's status must stay answerable, so an old dead letter holds it back).
    fn forget_statuses(&mut self) {
        let mut base = self.next_id;
        for row in self.log.iter() {
            base = base.min(row.job);
        }
        if let Some((id, _)) = self.jobs.iter().next() {
            base = base.min(id);
        }
        if base <= self.status_base {
            return;
        }
        let n = ((base - self.status_base) as usize).min(self.statuses.len());
        self.statuses.drain(..n);
        self.status_base += n as u64;
        if self.statuses.capacity() > 2 * self.statuses.len() + 4096 {
            self.statuses.shrink_to_fit();
        }
    }

    pub fn metrics(&self, w: &mut Writer) {
        let m = self.m;
        for x in [
            m.records_written,
            m.bytes_written,
            m.scans,
            m.recoveries,
            m.compactions,
            m.compacted_records,
        ] {
            w.f64(x as f64);
        }
    }

    // ---- snapshot support: rebuild indexes from stored jobs ---------------------------------

    /// Insert a job read from a snapshot (indexes rebuilt by the caller with `reindex`).
    pub fn restore_job(&mut self, id: u64, job: Job) {
        self.jobs.insert(id, job);
    }

    pub fn reindex(&mut self) -> Result<(), &'static str> {
        self.owned = vec![0; self.mgrs.len() + 1];
        let now = self.last_now;
        let mut ids: Vec<(i64, u64)> = Vec::new();
        let all: Vec<u64> = self.jobs.iter().map(|(id, _)| id).collect();
        for id in all {
            let j = self.jobs.get(id).cloned().ok_or("job vanished")?;
            let e = &mut self.eps[j.ep as usize];
            e.size(j.status, j.prio, 1);
            match j.status {
                QUEUED | PICKED => {
                    if let Some(k) = j.dedupe() {
                        if self.dedupe.insert(k.into(), id).is_some() {
                            return Err("two held jobs share a dedupe key");
                        }
                    }
                    if j.status == QUEUED {
                        if let Some(jm) = self.jobs.get_mut(id) {
                            jm.flags &= F_STORED;
                        }
                        self.enqueue_ready(id, now);
                    } else {
                        self.eps[j.ep as usize].picked += 1;
                        self.owned[j.mgr as usize] += 1;
                        ids.push((j.hb, id));
                    }
                }
                FAILED => {
                    self.failed.insert(id, ());
                }
                _ => return Err("stored job with a terminal status"),
            }
        }
        sort_pairs(&mut ids);
        for (hb, id) in ids {
            let ep = self.jobs.get(id).map_or(0, |j| j.ep as usize);
            self.eps[ep].fifo.push_back((hb, id));
        }
        Ok(())
    }
}
