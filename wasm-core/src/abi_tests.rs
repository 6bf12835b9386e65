//! The ABI's promises beyond its numbers: every request is consumed exactly (ABI.md), and a
//! request rejected for trailing bytes changes nothing.
use crate::io::Writer;
use crate::{abi, op, Core, E_INVALID, OK};

const NOW: f64 = 1_700_000_000_000.0;

fn call(c: &mut Core, opc: u32, req: &[u8]) -> (i32, Vec<u8>) {
    let p = c.reserve(req.len());
    assert!(p != 0 || req.is_empty());
    c.input[..req.len()].copy_from_slice(req);
    let rc = c.call(opc, req.len(), NOW);
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

fn ids(ids: &[f64]) -> Vec<u8> {
    req(|w| {
        w.u32(ids.len() as u32);
        for &id in ids {
            w.f64(id);
        }
    })
}

fn retention(w: &mut Writer) {
    w.u8(1);
    w.f64(1e9);
    w.u8(0);
    w.f64(0.0);
}

/// A core with jobs (queued, picked, failed), log rows, statistics and a schedule.
fn populated() -> Core {
    let mut c = Core::default();
    assert_eq!(call(&mut c, op::INTERN_EP, b"a").0, OK);
    assert_eq!(call(&mut c, op::INTERN_MGR, &u16s("m")).0, OK);
    let enqueue = req(|w| {
        w.u8(0);
        w.u32(3);
        for _ in 0..3 {
            w.u32(0);
            w.i32(0);
            w.f64(f64::NAN);
            w.opt_blob(Some(b"payload"));
            w.opt_blob(None);
            w.opt_blob(None);
        }
    });
    assert_eq!(call(&mut c, op::ENQUEUE, &enqueue).0, OK);
    let dequeue = req(|w| {
        w.u32(2);
        w.f64(1e9);
        w.u32(1);
        w.u32(1);
        w.u32(0);
        for _ in 0..4 {
            w.f64(0.0);
        }
    });
    assert_eq!(call(&mut c, op::DEQUEUE, &dequeue).0, OK);
    let complete = req(|w| {
        w.u32(0);
        w.u32(1);
        w.f64(1.0);
        w.u8(abi::status::FAILED);
        w.opt_blob(Some(&u16s("boom")));
    });
    assert_eq!(call(&mut c, op::COMPLETE, &complete).0, OK);
    let upsert = req(|w| {
        w.u32(1);
        for field in ["s", "a", "* * * * *"] {
            w.opt_blob(Some(&u16s(field)));
        }
        w.opt_blob(None);
        w.f64(NOW);
    });
    assert_eq!(call(&mut c, op::UPSERT_SCHEDULES, &upsert).0, OK);
    c
}

#[test]
fn every_request_is_consumed_exactly() {
    let mut c = populated();
    let cases: Vec<(u32, Vec<u8>)> = vec![
        (op::JOB_STATUS, ids(&[1.0, 2.0, 99.0])),
        (op::GET_JOBS, ids(&[1.0, 2.0])),
        (op::QUEUE_SIZE, vec![]),
        (
            op::FAILED_JOBS,
            req(|w| {
                w.f64(0.0);
                w.u32(10);
            }),
        ),
        (
            op::LOG,
            req(|w| {
                w.f64(0.0);
                w.u32(10);
            }),
        ),
        (op::STATISTICS, req(|w| w.f64(f64::NAN))),
        (
            op::NEXT_DUE,
            req(|w| {
                w.u32(1);
                w.u32(0);
            }),
        ),
        (op::LIST_SCHEDULES, vec![]),
        (op::LIST_INTERNS, vec![]),
        (op::INFO, vec![]),
        (op::METRICS, vec![]),
        (op::SNAPSHOT, vec![]),
        (
            op::SCAN,
            req(|w| {
                w.f64(1000.0);
                retention(w);
            }),
        ),
        (op::COMPACT, req(retention)),
        (op::RECOVER, req(|w| w.f64(1e12))),
        (
            op::CLAIM_SCHEDULES,
            req(|w| {
                w.opt_blob(Some(&u16s("c")));
                w.f64(1000.0);
                w.u32(10);
            }),
        ),
        (
            op::DELETE_SCHEDULES,
            req(|w| {
                w.u32(1);
                w.opt_blob(Some(&u16s("s")));
            }),
        ),
        (op::RESET_METRICS, vec![]),
    ];
    for (opc, good) in cases {
        let before = call(&mut c, op::SNAPSHOT, &[]).1;
        let mut bad = good.clone();
        bad.push(0);
        let (rc, message) = call(&mut c, opc, &bad);
        assert_eq!(rc, E_INVALID, "op {opc} accepted a trailing byte");
        let message = String::from_utf8_lossy(&message).into_owned();
        assert!(
            message.contains("trailing") || message.contains("no request"),
            "op {opc}: {message}"
        );
        assert_eq!(
            call(&mut c, op::SNAPSHOT, &[]).1,
            before,
            "op {opc}: a rejected call changed the state"
        );
        assert_eq!(call(&mut c, opc, &good).0, OK, "op {opc} refused its exact request");
    }
}

#[test]
fn records_have_the_generated_layout() {
    let mut c = populated();
    let (rc, out) = call(&mut c, op::GET_JOBS, &ids(&[2.0]));
    assert_eq!(rc, OK);
    // u8 present, the fixed part, then payload "payload", null headers, null key, null error.
    assert_eq!(out.len(), 1 + abi::job::SIZE + (4 + 7) + 4 + 4 + 4);
    let f64_at = |o: usize| f64::from_le_bytes(out[1 + o..1 + o + 8].try_into().unwrap());
    assert_eq!(f64_at(abi::job::ID), 2.0);
    assert_eq!(out[1 + abi::job::STATUS], abi::status::PICKED);
    assert_eq!(f64_at(abi::job::HEARTBEAT), NOW);
    let (rc, out) = call(
        &mut c,
        op::LOG,
        &req(|w| {
            w.f64(0.0);
            w.u32(1);
        }),
    );
    assert_eq!(rc, OK);
    assert_eq!(out.len(), 4 + abi::log_row::SIZE + 4);
    assert_eq!(out[4 + abi::log_row::KIND], abi::kind::ENQUEUED);
    assert_eq!(out[4 + abi::log_row::STATUS], abi::status::QUEUED);
}
