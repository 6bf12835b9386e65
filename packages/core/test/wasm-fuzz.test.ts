// The core never traps: every export is driven with random bytes, random lengths and random
// times. A rejected call must leave the state byte-for-byte unchanged (atomicity), and the
// instance must stay usable throughout.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Encoder, OP, RC } from '../src/wasm/codec.js';
import { type CoreExports, instantiateCore } from '../src/wasm/loader.js';

const NOW = 1_700_000_000_000;
const ALL_OPS = Object.values(OP) as number[];
// Ops that legitimately change or reset state while ignoring their input.
const RESETTING = new Set<number>([OP.UNINSTALL, OP.RESET_METRICS]);

let core: CoreExports;

function send(bytes: Uint8Array): number {
  const ptr = core.tq_in_reserve(bytes.length);
  new Uint8Array(core.memory.buffer, ptr, bytes.length).set(bytes);
  return bytes.length;
}

function call(op: number, bytes: Uint8Array, now = NOW): { rc: number; out: Uint8Array } {
  const len = send(bytes);
  const rc = core.tq_call(op, len, now);
  return { rc, out: new Uint8Array(core.memory.buffer, core.tq_out_ptr(), core.tq_out_len()).slice() };
}

function snapshot(): Uint8Array {
  const { rc, out } = call(OP.SNAPSHOT, new Uint8Array(0));
  expect(rc).toBe(RC.OK);
  return out;
}

/** RESTORE's request: the restoring store's limits (maxPayloadBytes, maxHeadersBytes, maxDedupeKeyLength), then the snapshot. */
function restoreRequest(bytes: Uint8Array): Uint8Array {
  const e = new Encoder();
  for (const limit of [1 << 20, 1 << 16, 512]) e.f64(limit);
  const out = new Uint8Array(24 + bytes.length);
  out.set(e.buf.subarray(0, 24), 0);
  out.set(bytes, 24);
  return out;
}

function restore(bytes: Uint8Array): void {
  expect(call(OP.RESTORE, restoreRequest(bytes)).rc).toBe(RC.OK);
}

/** Valid requests of every kind, to mutate (random bytes rarely get past the first count). */
function validRequests(): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  const add = (op: number, fill: (e: Encoder) => void) => {
    const e = new Encoder();
    fill(e);
    out.push([op, e.buf.slice(0, e.pos)]);
  };
  add(OP.ENQUEUE, (e) => {
    e.u8(1);
    e.u32(2);
    for (const p of [0, 3]) {
      e.u32(0);
      e.i32(p);
      e.f64(Number.NaN);
      e.bytes(new Uint8Array([1, 2, 3]));
      e.json({ a: 1 });
      e.str(`key${p}`);
    }
  });
  add(OP.DEQUEUE, (e) => {
    e.u32(3);
    e.f64(10);
    e.u32(1);
    e.u32(2);
    for (const ep of [0, 1]) {
      e.u32(ep);
      e.f64(1);
      e.f64(5);
      e.f64(100);
      e.f64(2);
    }
  });
  add(OP.COMPLETE, (e) => {
    e.u32(1); // fenced by manager handle 1
    e.u32(2);
    e.f64(1);
    e.u8(2);
    e.str(null);
    e.f64(2);
    e.u8(6);
    e.str('err');
  });
  add(OP.RETRY, (e) => {
    e.u32(0); // unfenced
    e.u32(1);
    e.f64(3);
    e.f64(NOW + 5);
    e.str('x');
  });
  for (const op of [OP.REQUEUE, OP.HEARTBEAT, OP.CANCEL, OP.JOB_STATUS, OP.GET_JOBS]) {
    add(op, (e) => {
      if (op === OP.HEARTBEAT) e.u32(1); // fenced by manager handle 1
      e.u32(3);
      e.f64(1);
      e.f64(2);
      e.f64(4);
    });
  }
  add(OP.CLEAR, (e) => {
    e.u8(0);
    e.u32(1);
    e.u32(1);
  });
  add(OP.NEXT_DUE, (e) => {
    e.u32(2);
    e.u32(0);
    e.u32(1);
  });
  add(OP.FAILED_JOBS, (e) => {
    e.f64(0);
    e.u32(10);
  });
  add(OP.LOG, (e) => {
    e.f64(0);
    e.u32(10);
  });
  add(OP.STATISTICS, (e) => e.f64(0));
  add(OP.UPSERT_SCHEDULES, (e) => {
    e.u32(1);
    e.str('s');
    e.str('a');
    e.str('* * * * *');
    e.str(null);
    e.f64(NOW);
  });
  add(OP.CLAIM_SCHEDULES, (e) => {
    e.str('c');
    e.f64(10);
    e.u32(5);
  });
  add(OP.MARK_RUNS, (e) => {
    e.u32(1);
    e.str('s');
    e.str('c');
    e.f64(NOW + 60_000);
  });
  add(OP.DELETE_SCHEDULES, (e) => {
    e.u32(1);
    e.str('s');
  });
  for (const op of [OP.SCAN, OP.COMPACT]) {
    add(op, (e) => {
      if (op === OP.SCAN) e.f64(10);
      e.u8(1);
      e.f64(5);
      e.u8(1);
      e.f64(1000);
    });
  }
  add(OP.RECOVER, (e) => e.f64(10));
  add(OP.INTERN_EP, (e) => e.ascii('fuzz.ep'));
  add(OP.INTERN_MGR, (e) => e.raw16('mgr'));
  return out;
}

beforeAll(async () => {
  core = await instantiateCore();
  // A known state: entrypoints, a manager, jobs in every held status, a schedule.
  for (const name of ['a', 'b']) call(OP.INTERN_EP, new TextEncoder().encode(name));
  const m = new Encoder();
  m.raw16('m1');
  call(OP.INTERN_MGR, m.buf.slice(0, m.pos));
  for (const [op, bytes] of validRequests()) {
    if (op === OP.ENQUEUE || op === OP.DEQUEUE || op === OP.UPSERT_SCHEDULES) call(op, bytes, NOW);
  }
  const more = validRequests().find(([op]) => op === OP.ENQUEUE)!;
  call(OP.ENQUEUE, new Uint8Array([0, ...more[1].slice(1)]), NOW + 1);
});

/** Run a call; on error the state must be unchanged; on success put the old state back. */
function probe(op: number, bytes: Uint8Array, now: number): void {
  const before = snapshot();
  const { rc, out } = call(op, bytes, now);
  expect([RC.OK, RC.INVALID, RC.DUPLICATE, RC.NOT_INSTALLED, RC.BAD_SNAPSHOT]).toContain(rc);
  if (rc !== RC.OK && !RESETTING.has(op)) {
    expect(snapshot()).toEqual(before);
    expect(out.length).toBeGreaterThanOrEqual(0);
  }
  if (rc === RC.OK || RESETTING.has(op)) restore(before);
}

describe('WASM core fuzz', () => {
  it('survives random bytes on every operation (and unknown ones)', { timeout: 30_000 }, () => {
    const opArb = fc.oneof(fc.constantFrom(...ALL_OPS), fc.integer({ min: 0, max: 0xffffffff }));
    const nowArb = fc.oneof(
      fc.constant(NOW + 10),
      fc.double(),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1e300, 8.64e15, -8.64e15, 0),
    );
    fc.assert(
      fc.property(opArb, fc.uint8Array({ maxLength: 96 }), nowArb, (op, bytes, now) => probe(op, bytes, now)),
      { numRuns: 3000 },
    );
  });

  it('survives mutated valid requests (flipped, truncated, extended bytes)', { timeout: 30_000 }, () => {
    const requests = validRequests();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: requests.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.integer({ min: -8, max: 8 }),
        (which, flips, resize) => {
          const [op, valid] = requests[which]!;
          let bytes = valid.slice();
          for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
          if (resize < 0) bytes = bytes.slice(0, Math.max(0, bytes.length + resize));
          else if (resize > 0) bytes = new Uint8Array([...bytes, ...new Uint8Array(resize).fill(0xff)]);
          probe(op, bytes, NOW + 20);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('survives restoring mutated snapshots that carry a valid checksum', { timeout: 30_000 }, () => {
    const good = snapshot();
    const body = good.length - 8;
    const followUps = validRequests();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        (flips) => {
          const bytes = good.slice();
          // keep the magic and version: get past the header into the body parser
          for (const [at, value] of flips) bytes[8 + (at % (body - 8))] = value;
          let h = 0xcbf29ce484222325n;
          for (let i = 0; i < body; i++) h = BigInt.asUintN(64, (h ^ BigInt(bytes[i]!)) * 0x100000001b3n);
          new DataView(bytes.buffer).setBigUint64(body, h, true);
          const { rc } = call(OP.RESTORE, restoreRequest(bytes));
          expect([RC.OK, RC.BAD_SNAPSHOT]).toContain(rc);
          if (rc === RC.OK) {
            // whatever was accepted must be a state every operation can run on
            for (const [op, req] of followUps) {
              expect([RC.OK, RC.INVALID, RC.DUPLICATE, RC.NOT_INSTALLED]).toContain(
                call(op, req, NOW + 50).rc,
              );
            }
            restore(good);
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(snapshot()).toEqual(good);
  });

  it('rejects lengths beyond the reserved buffer and absurd reservations without trapping', () => {
    const before = snapshot();
    expect(core.tq_in_reserve(0xffffffff)).toBe(0);
    expect(core.tq_in_reserve(0x7fffffff)).toBe(0);
    for (const len of [0x7fffffff, 0xffffffff, 1 << 30]) {
      expect(core.tq_call(OP.ENQUEUE, len, NOW)).toBe(RC.INVALID);
    }
    expect(snapshot()).toEqual(before);
  });

  it('stays usable: valid calls still work after the fuzzing', () => {
    const enq = validRequests().find(([op]) => op === OP.ENQUEUE)![1];
    const r = call(OP.ENQUEUE, new Uint8Array([1, ...enq.slice(1)]), NOW + 30);
    expect(r.rc).toBe(RC.OK);
    const info = call(OP.INFO, new Uint8Array(0));
    expect(info.rc).toBe(RC.OK);
    expect(info.out[0]).toBe(1);
  });
});
