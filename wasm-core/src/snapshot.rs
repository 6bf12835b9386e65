//! Whole-state snapshot: `"TQSN"`, format version, body, FNV-1a 64 checksum of everything before
//! it. Only primary data is stored; every index (ready queues, heaps, dedupe, counts) is rebuilt
//! on restore, so a snapshot cannot carry an inconsistent index.
use crate::io::{Reader, Writer};
use crate::state::*;

pub const MAGIC: &[u8; 4] = b"TQSN";
/// 2: the status horizon (`u64 status_base`) precedes the statuses. Format 1 is still read.
pub const FORMAT: u32 = 2;

pub fn fnv(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

pub fn write(s: &State, out: &mut Vec<u8>) {
    let start = out.len();
    let mut w = Writer { v: out };
    w.bytes(MAGIC);
    w.u32(FORMAT);
    w.u8(s.installed as u8);
    w.i64(s.last_now);
    w.u64(s.next_id);
    w.u32(s.eps.len() as u32);
    for e in &s.eps {
        w.blob(&e.name);
        match e.bucket {
            None => w.u8(0),
            Some((tk, at)) => {
                w.u8(1);
                w.f64(tk);
                w.f64(at);
            }
        }
    }
    w.u32(s.mgrs.len() as u32);
    for m in &s.mgrs {
        w.blob(m);
    }
    w.u64(s.status_base);
    w.blob(&s.statuses);
    let n = s.jobs.iter().count();
    w.u32(n as u32);
    for (id, j) in s.jobs.iter() {
        w.u64(id);
        w.u32(j.ep);
        w.i32(j.prio);
        w.i64(j.exec);
        w.i64(j.created);
        w.i64(j.updated);
        w.i64(j.hb);
        w.u32(j.attempts);
        w.u32(j.mgr);
        w.u8(j.status);
        w.opt_blob(j.payload());
        w.opt_blob(j.headers());
        w.opt_blob(j.dedupe());
        w.opt_blob(j.err.as_deref());
    }
    w.u64(s.log_first_seq);
    w.u32(s.log.len() as u32);
    for (i, r) in s.log.iter().enumerate() {
        w.u64(r.job);
        w.i64(r.at);
        w.u32(r.ep);
        w.i32(r.prio);
        w.u32(r.mgr);
        w.u8(r.kind & !ROW_ERR);
        w.u8(r.status);
        w.opt_blob(s.row_err(s.log_first_seq + i as u64, r));
    }
    w.u32(s.stats.len() as u32);
    for &((sec, ep, st, p), c) in &s.stats.v {
        w.i64(sec);
        w.u32(ep);
        w.u8(st);
        w.i32(p);
        w.u64(c);
    }
    w.u32(s.schedules.len() as u32);
    for (k, sc) in s.schedules.iter() {
        w.blob(&k.0);
        w.blob(&sc.ep);
        w.blob(&sc.expr);
        w.opt_blob(sc.tz.as_deref());
        w.i64(sc.next);
        opt_i64(&mut w, sc.last);
        w.opt_blob(sc.by.as_deref());
        opt_i64(&mut w, sc.at);
    }
    let m = s.m;
    for x in [
        m.records_written,
        m.bytes_written,
        m.scans,
        m.recoveries,
        m.compactions,
        m.compacted_records,
    ] {
        w.u64(x);
    }
    let h = fnv(&w.v[start..]);
    w.u64(h);
}

fn opt_i64(w: &mut Writer, x: Option<i64>) {
    match x {
        None => w.u8(0),
        Some(v) => {
            w.u8(1);
            w.i64(v);
        }
    }
}

fn r_opt_i64(r: &mut Reader) -> Option<Option<i64>> {
    match r.u8()? {
        0 => Some(None),
        1 => Some(Some(r.i64()?)),
        _ => None,
    }
}

fn even(b: &[u8]) -> Option<&[u8]> {
    if b.len() % 2 == 0 {
        Some(b)
    } else {
        None
    }
}

pub fn read(bytes: &[u8]) -> Result<State, &'static str> {
    if bytes.len() < 16 || &bytes[..4] != MAGIC {
        return Err("not a tideq core snapshot");
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut a = [0u8; 8];
    a.copy_from_slice(sum);
    if fnv(body) != u64::from_le_bytes(a) {
        return Err("snapshot checksum mismatch (corrupt or truncated)");
    }
    let mut r = Reader::new(&body[4..]);
    let format = r.u32();
    if format != Some(FORMAT) && format != Some(1) {
        return Err("unsupported snapshot format version");
    }
    parse(&mut r, format == Some(FORMAT)).ok_or("malformed snapshot")?
}

fn parse(r: &mut Reader, with_base: bool) -> Option<Result<State, &'static str>> {
    let mut s = State::default();
    s.installed = match r.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    s.last_now = r.i64()?;
    s.next_id = r.u64()?;
    if s.next_id == 0 || s.next_id > (1u64 << 53) + 1 {
        return None;
    }
    let ne = r.count(5)?;
    for _ in 0..ne {
        let name = r.blob()?;
        let i = s.intern_ep(name).ok()?;
        if i as usize != s.eps.len() - 1 {
            return None; // duplicate name
        }
        match r.u8()? {
            0 => {}
            1 => {
                let tk = r.f64()?;
                let at = r.f64()?;
                s.eps[i as usize].bucket = Some((tk, at));
            }
            _ => return None,
        }
    }
    let nm = r.count(4)?;
    for _ in 0..nm {
        let m = r.blob()?;
        let i = s.intern_mgr(m).ok()?;
        if i as usize != s.mgrs.len() {
            return None;
        }
    }
    s.status_base = if with_base { r.u64()? } else { 1 };
    let st = r.blob()?;
    if s.status_base == 0 || s.status_base > s.next_id || st.len() as u64 != s.next_id - s.status_base || st.iter().any(|&x| x > FAILED) {
        return None;
    }
    s.statuses = st.to_vec();
    let nj = r.count(60)?;
    let mut prev = 0u64;
    for _ in 0..nj {
        let id = r.u64()?;
        if id <= prev || id >= s.next_id {
            return None;
        }
        prev = id;
        let mut j = Job {
            ep: r.u32()?,
            prio: r.i32()?,
            exec: r.i64()?,
            created: r.i64()?,
            updated: r.i64()?,
            hb: r.i64()?,
            attempts: r.u32()?,
            mgr: r.u32()?,
            status: r.u8()?,
            ..Job::default()
        };
        let (p, h, d) = (r.opt_blob()?, r.opt_blob()?, r.opt_blob()?);
        let (flags, data) = pack(p, h, d);
        j.flags = flags;
        j.data = data;
        let err = r.opt_blob()?;
        if err.map_or(false, |e| e.len() % 2 != 0) {
            return None;
        }
        j.err = err.map(Into::into);
        let ok = (j.ep as usize) < s.eps.len()
            && (j.mgr as usize) <= s.mgrs.len()
            && (j.status == PICKED) == (j.mgr != 0)
            && matches!(j.status, QUEUED | PICKED | FAILED)
            && id >= s.status_base
            && s.statuses[(id - s.status_base) as usize] == j.status
            && d.map_or(true, |d| !d.is_empty() && d.len() % 2 == 0);
        if !ok {
            return None;
        }
        s.restore_job(id, j);
    }
    s.log_first_seq = r.u64()?;
    let nl = r.count(34)?;
    if s.log_first_seq == 0 || s.log_first_seq > u64::MAX / 2 {
        return None;
    }
    for _ in 0..nl {
        let row = Row {
            job: r.u64()?,
            at: r.i64()?,
            ep: r.u32()?,
            prio: r.i32()?,
            mgr: r.u32()?,
            kind: r.u8()?,
            status: r.u8()?,
        };
        let err = r.opt_blob()?;
        if row.job == 0
            || row.job >= s.next_id
            || row.ep as usize >= s.eps.len()
            || row.mgr as usize > s.mgrs.len()
            || row.kind > K_FAILED
            || row.status > FAILED
        {
            return None;
        }
        s.push_row(row, err);
    }
    let ns = r.count(25)?;
    for _ in 0..ns {
        let k = (r.i64()?, r.u32()?, r.u8()?, r.i32()?);
        let c = r.u64()?;
        if k.1 as usize >= s.eps.len() || k.2 < SUCCESSFUL || k.2 > FAILED {
            return None;
        }
        s.stats.insert(k, c);
    }
    let nsc = r.count(30)?;
    for _ in 0..nsc {
        let name = even(r.blob()?)?;
        let sc = Sched {
            ep: even(r.blob()?)?.into(),
            expr: even(r.blob()?)?.into(),
            tz: r.opt_blob()?.map(Into::into),
            next: r.i64()?,
            last: r_opt_i64(r)?,
            by: r.opt_blob()?.map(Into::into),
            at: r_opt_i64(r)?,
        };
        s.schedules.insert(Key16(name.into()), sc);
    }
    s.m = Metrics {
        records_written: r.u64()?,
        bytes_written: r.u64()?,
        scans: r.u64()?,
        recoveries: r.u64()?,
        compactions: r.u64()?,
        compacted_records: r.u64()?,
    };
    if !r.at_end() {
        return None;
    }
    Some(s.reindex().map(|_| s))
}

/// The restoring store's own limits: a snapshot taken by a store with larger ones (or crafted)
/// must not bring in values this store would refuse at enqueue.
pub struct Limits {
    payload: u64,
    headers: u64,
    /// Dedupe key length in UTF-16 code units.
    key: u64,
}

impl Limits {
    /// Request prefix of RESTORE: f64 maxPayloadBytes, f64 maxHeadersBytes, f64 maxDedupeKeyLength.
    pub fn read(r: &mut Reader) -> Result<Limits, Fail> {
        let mut one = || r.count_f().ok_or(Fail::Invalid("restore: bad limits"));
        Ok(Limits {
            payload: one()?,
            headers: one()?,
            key: one()?,
        })
    }

    pub fn check(&self, s: &State) -> Result<(), Fail> {
        for (_, j) in s.jobs.iter() {
            if j.payload().map_or(0, |p| p.len()) as u64 > self.payload {
                return Err(Fail::TooLarge(
                    0,
                    "restore: the snapshot holds a payload larger than maxPayloadBytes",
                ));
            }
            if j.headers().map_or(0, |h| h.len()) as u64 > self.headers {
                return Err(Fail::TooLarge(1, "restore: the snapshot holds headers larger than maxHeadersBytes"));
            }
            if j.dedupe().map_or(0, |d| d.len() / 2) as u64 > self.key {
                return Err(Fail::TooLarge(
                    2,
                    "restore: the snapshot holds a dedupe key longer than maxDedupeKeyLength",
                ));
            }
        }
        Ok(())
    }
}
