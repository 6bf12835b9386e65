//! Host unit tests (`RUSTC=/usr/bin/rustc /usr/bin/cargo test`). The full semantics are checked
//! from TypeScript against the reference adapter; these pin the core's own invariants.
use crate::io::Writer;
use crate::{op, Core, E_BAD_SNAPSHOT, E_DUPLICATE, E_FULL, E_INVALID, E_NOT_INSTALLED, E_TOO_LARGE, OK};

const NOW: f64 = 1_700_000_000_000.0;

fn call(c: &mut Core, opc: u32, req: &[u8], now: f64) -> (i32, Vec<u8>) {
    let p = c.reserve(req.len());
    assert!(p != 0 || req.is_empty());
    c.input[..req.len()].copy_from_slice(req);
    let rc = c.call(opc, req.len(), now);
    (rc, c.out.clone())
}

fn req(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut v = Vec::new();
    f(&mut Writer { v: &mut v });
    v
}

fn u16s(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// RESTORE's request: the restoring store's limits (generous here), then the snapshot.
fn restore_req(snap: &[u8]) -> Vec<u8> {
    restore_with(snap, 1e9, 1e9, 1e9)
}

fn restore_with(snap: &[u8], payload: f64, headers: f64, key: f64) -> Vec<u8> {
    let mut v = req(|w| {
        w.f64(payload);
        w.f64(headers);
        w.f64(key);
    });
    v.extend_from_slice(snap);
    v
}

fn setup() -> Core {
    let mut c = Core::default();
    assert_eq!(call(&mut c, op::INTERN_EP, b"a", NOW).0, OK);
    assert_eq!(call(&mut c, op::INTERN_MGR, &u16s("m"), NOW).0, OK);
    c
}

fn enqueue(c: &mut Core, jobs: &[(i32, Option<&str>)], skip: bool) -> (i32, Vec<u8>) {
    let r = req(|w| {
        w.u8(skip as u8);
        w.u32(jobs.len() as u32);
        for &(p, key) in jobs {
            w.u32(0);
            w.i32(p);
            w.f64(f64::NAN);
            w.opt_blob(Some(b"payload"));
            w.opt_blob(None);
            w.opt_blob(key.map(u16s).as_deref());
        }
    });
    call(c, op::ENQUEUE, &r, NOW)
}

fn dequeue_ids(c: &mut Core, batch: u32) -> Vec<f64> {
    let r = req(|w| {
        w.u32(batch);
        w.f64(1e9);
        w.u32(1);
        w.u32(1);
        w.u32(0);
        w.f64(0.0);
        w.f64(0.0);
        w.f64(0.0);
        w.f64(0.0);
    });
    let (rc, out) = call(c, op::DEQUEUE, &r, NOW);
    assert_eq!(rc, OK);
    let mut rd = crate::io::Reader::new(&out);
    let n = rd.u32().unwrap();
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(rd.f64().unwrap());
        rd.bytes(crate::abi::job::SIZE - 8).unwrap();
        for _ in 0..4 {
            rd.opt_blob().unwrap();
        }
    }
    ids
}

#[test]
fn dequeues_by_priority_then_id() {
    let mut c = setup();
    assert_eq!(
        enqueue(&mut c, &[(0, None), (5, None), (0, None), (5, None), (-1, None)], false).0,
        OK
    );
    assert_eq!(dequeue_ids(&mut c, 10), vec![2.0, 4.0, 1.0, 3.0, 5.0]);
    assert!(dequeue_ids(&mut c, 10).is_empty());
}

#[test]
fn dedupe_raise_is_atomic_and_skip_leaves_out() {
    let mut c = setup();
    assert_eq!(enqueue(&mut c, &[(0, Some("k"))], false).0, OK);
    let (rc, _) = enqueue(&mut c, &[(0, None), (0, Some("k"))], false);
    assert_eq!(rc, E_DUPLICATE);
    let (rc, out) = enqueue(&mut c, &[(0, None), (0, Some("k"))], true);
    assert_eq!(rc, OK);
    assert_eq!(&out[8..], &[1, 0]);
    // ids stay consecutive: the rejected batch stored nothing
    assert_eq!(f64::from_le_bytes(out[..8].try_into().unwrap()), 2.0);
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    let mut c = setup();
    enqueue(&mut c, &[(1, Some("x"))], false);
    let before = call(&mut c, op::SNAPSHOT, &[], NOW).1;
    let mut seed: u32 = 12345;
    for i in 0..20_000u32 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let len = (seed >> 16) as usize % 64;
        let bytes: Vec<u8> = (0..len).map(|k| (seed.rotate_left(k as u32) >> 3) as u8).collect();
        let opc = [
            op::ENQUEUE,
            op::DEQUEUE,
            op::COMPLETE,
            op::RETRY,
            op::REQUEUE,
            op::CANCEL,
            op::CLEAR,
            op::RESTORE,
            op::MARK_RUNS,
            i,
        ][(i % 10) as usize];
        let (rc, _) = call(&mut c, opc, &bytes, NOW);
        if rc != OK {
            assert!(rc == E_INVALID || rc == E_BAD_SNAPSHOT || rc == E_DUPLICATE, "op {opc} rc {rc}");
            assert_eq!(call(&mut c, op::SNAPSHOT, &[], NOW).1, before);
        } else {
            call(&mut c, op::RESTORE, &restore_req(&before), NOW);
        }
    }
    assert_eq!(c.call(op::ENQUEUE, usize::MAX, NOW), E_INVALID);
    assert_eq!(c.call(op::INFO, 0, f64::NAN), E_INVALID);
}

#[test]
fn snapshot_round_trip_and_corruption() {
    let mut c = setup();
    enqueue(&mut c, &[(0, Some("a")), (3, None), (1, Some("b"))], false);
    dequeue_ids(&mut c, 1);
    let snap = call(&mut c, op::SNAPSHOT, &[], NOW).1;
    let mut d = Core::default();
    assert_eq!(call(&mut d, op::RESTORE, &restore_req(&snap), NOW).0, OK);
    assert_eq!(call(&mut d, op::SNAPSHOT, &[], NOW).1, snap);
    assert_eq!(dequeue_ids(&mut d, 5), vec![3.0, 1.0]);
    for cut in [0, 1, 8, snap.len() / 2, snap.len() - 1] {
        assert_eq!(call(&mut d, op::RESTORE, &restore_req(&snap[..cut]), NOW).0, E_BAD_SNAPSHOT);
    }
    let mut bad = snap.clone();
    bad[30] ^= 1;
    assert_eq!(call(&mut d, op::RESTORE, &restore_req(&bad), NOW).0, E_BAD_SNAPSHOT);
}

#[test]
fn uninstall_gates_everything_but_install() {
    let mut c = setup();
    enqueue(&mut c, &[(0, None)], false);
    assert_eq!(call(&mut c, op::UNINSTALL, &[], NOW).0, OK);
    assert_eq!(enqueue(&mut c, &[(0, None)], false).0, E_NOT_INSTALLED);
    assert_eq!(call(&mut c, op::INSTALL, &[], NOW).0, OK);
    assert_eq!(call(&mut c, op::INTERN_EP, b"a", NOW).0, OK);
    assert_eq!(call(&mut c, op::INTERN_MGR, &u16s("m"), NOW).0, OK);
    let (rc, out) = enqueue(&mut c, &[(0, None)], false);
    assert_eq!(rc, OK);
    assert_eq!(f64::from_le_bytes(out[..8].try_into().unwrap()), 1.0);
}

#[test]
fn memory_is_released_when_jobs_leave() {
    let mut c = setup();
    for _ in 0..20 {
        enqueue(&mut c, &vec![(0, None); 1000], false);
        let ids = dequeue_ids(&mut c, 1000);
        let r = req(|w| {
            w.u32(0);
            w.u32(ids.len() as u32);
            for id in &ids {
                w.f64(*id);
                w.u8(crate::state::SUCCESSFUL);
                w.opt_blob(None);
            }
        });
        assert_eq!(call(&mut c, op::COMPLETE, &r, NOW).0, OK);
    }
    // every page but the current tail was freed
    assert!(c.st.jobs.iter().next().is_none());
    let live_pages = (0..20_001u64)
        .step_by(1024)
        .filter(|&id| c.st.jobs.get(id.max(1)).is_some())
        .count();
    assert_eq!(live_pages, 0);
}

/// complete/retry/heartbeat with a fence (manager handle) act only on jobs that manager holds.
fn fenced(c: &mut Core, opc: u32, mgr: u32, id: f64) -> u8 {
    let r = req(|w| {
        w.u32(mgr);
        w.u32(1);
        w.f64(id);
        if opc == op::COMPLETE {
            w.u8(crate::state::SUCCESSFUL);
            w.opt_blob(None);
        } else if opc == op::RETRY {
            w.f64(NOW);
            w.opt_blob(None);
        }
    });
    let (rc, out) = call(c, opc, &r, NOW);
    assert_eq!(rc, OK);
    out[0]
}

#[test]
fn fenced_calls_ignore_jobs_held_by_another_manager() {
    let mut c = setup();
    assert_eq!(call(&mut c, op::INTERN_MGR, &u16s("other"), NOW).0, OK);
    enqueue(&mut c, &[(0, None), (0, None)], false);
    assert_eq!(dequeue_ids(&mut c, 2), vec![1.0, 2.0]); // held by handle 1 ("m")
    let log_len = c.st.log.len();
    for opc in [op::HEARTBEAT, op::RETRY, op::COMPLETE] {
        assert_eq!(fenced(&mut c, opc, 2, 1.0), 0, "op {opc} by a manager that does not hold the job");
    }
    assert_eq!(c.st.log.len(), log_len, "ignored results write no log row");
    assert_eq!(fenced(&mut c, op::HEARTBEAT, 1, 1.0), 1);
    assert_eq!(fenced(&mut c, op::COMPLETE, 1, 1.0), 1);
    // unfenced (0) keeps the old meaning: any caller
    assert_eq!(fenced(&mut c, op::COMPLETE, 0, 2.0), 1);
    // an unknown handle is an error, not a silent no-op
    let r = req(|w| {
        w.u32(9);
        w.u32(0);
    });
    assert_eq!(call(&mut c, op::HEARTBEAT, &r, NOW).0, E_INVALID);
}

#[test]
fn a_full_core_refuses_the_batch_and_keeps_what_it_has() {
    let mut c = setup();
    enqueue(&mut c, &[(0, None)], false);
    let snap = call(&mut c, op::SNAPSHOT, &[], NOW).1;
    c.budget = crate::alloc::live_bytes() + 64 * 1024;
    let mut stored = 0;
    let mut full = false;
    for _ in 0..10_000 {
        let (rc, out) = enqueue(&mut c, &vec![(0, None); 100], false);
        if rc == E_FULL {
            assert_eq!(out.len(), 24, "used, needed and budget bytes");
            full = true;
            break;
        }
        assert_eq!(rc, OK);
        stored += 100;
    }
    assert!(full, "the budget must be reached");
    assert!(stored > 0);
    assert!(crate::alloc::live_bytes() <= c.budget);
    // the state is unchanged by the refused batch and still readable
    let info = call(&mut c, op::INFO, &[], NOW).1;
    assert_eq!(f64::from_le_bytes(info[13..21].try_into().unwrap()), (stored + 2) as f64);
    assert_eq!(dequeue_ids(&mut c, 10_000).len(), stored + 1);
    assert!(call(&mut c, op::SNAPSHOT, &[], NOW).1.len() > snap.len());
    // no budget: no limit
    c.budget = 0;
    assert_eq!(enqueue(&mut c, &vec![(0, None); 100], false).0, OK);
}

#[test]
fn restore_refuses_values_beyond_the_store_limits() {
    let mut c = setup();
    enqueue(&mut c, &[(0, Some("a-long-key"))], false);
    let snap = call(&mut c, op::SNAPSHOT, &[], NOW).1;
    let mut d = setup();
    enqueue(&mut d, &[(0, None)], false);
    let before = call(&mut d, op::SNAPSHOT, &[], NOW).1;
    // payloads are b"payload" (7 bytes), the key 10 UTF-16 units
    assert_eq!(call(&mut d, op::RESTORE, &restore_with(&snap, 6.0, 1e9, 1e9), NOW).0, E_TOO_LARGE);
    assert_eq!(call(&mut d, op::RESTORE, &restore_with(&snap, 1e9, 1e9, 9.0), NOW).0, E_TOO_LARGE);
    assert_eq!(call(&mut d, op::SNAPSHOT, &[], NOW).1, before, "nothing replaced");
    assert_eq!(call(&mut d, op::RESTORE, &restore_with(&snap, 7.0, 0.0, 10.0), NOW).0, OK);
}

#[test]
fn compaction_forgets_old_statuses_but_not_held_jobs() {
    let mut c = setup();
    // job 1 stays a dead letter; jobs 2..=2001 finish
    enqueue(&mut c, &vec![(0, None); 2001], false);
    let ids = dequeue_ids(&mut c, 2001);
    let r = req(|w| {
        w.u32(0);
        w.u32(ids.len() as u32);
        for (i, id) in ids.iter().enumerate() {
            w.f64(*id);
            w.u8(if i == 0 { crate::state::FAILED } else { crate::state::SUCCESSFUL });
            w.opt_blob(None);
        }
    });
    assert_eq!(call(&mut c, op::COMPLETE, &r, NOW).0, OK);
    let compact = |c: &mut Core, rec: f64| {
        let r = req(|w| {
            w.u8(1);
            w.f64(rec);
            w.u8(0);
            w.f64(0.0);
        });
        assert_eq!(call(c, op::COMPACT, &r, NOW).0, OK);
    };
    let status = |c: &mut Core, id: f64| {
        let r = req(|w| {
            w.u32(1);
            w.f64(id);
        });
        call(c, op::JOB_STATUS, &r, NOW).1[0]
    };
    compact(&mut c, 0.0);
    // the dead letter (id 1) holds the horizon: nothing forgotten yet
    assert_eq!(c.st.status_base, 1);
    assert_eq!(status(&mut c, 2.0), crate::state::SUCCESSFUL);
    // requeued and cancelled, it no longer holds it back
    let r = req(|w| {
        w.u32(1);
        w.f64(1.0);
    });
    assert_eq!(call(&mut c, op::CANCEL, &r, NOW).0, OK);
    compact(&mut c, 0.0);
    assert_eq!(c.st.status_base, 2002);
    assert!(c.st.statuses.is_empty());
    assert_eq!(status(&mut c, 1.0), 255);
    assert_eq!(status(&mut c, 2001.0), 255);
    // new jobs are tracked again, and the horizon survives a snapshot
    enqueue(&mut c, &[(0, None)], false);
    assert_eq!(status(&mut c, 2002.0), crate::state::QUEUED);
    let snap = call(&mut c, op::SNAPSHOT, &[], NOW).1;
    let mut d = Core::default();
    assert_eq!(call(&mut d, op::RESTORE, &restore_req(&snap), NOW).0, OK);
    assert_eq!(d.st.status_base, 2002);
    assert_eq!(status(&mut d, 2002.0), crate::state::QUEUED);
    assert_eq!(status(&mut d, 5.0), 255);
}
