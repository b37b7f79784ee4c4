// Ordering and exhaustion: what one send queue's order promises about binds and invalidations (a key sent
// after its bind works at once; an access after a fenced invalidation is refused), and keys under churn (a
// recycled index must never hand out a key that a live MR still holds).
import { incRkey, type MR, QpState } from "../../ffi/mod.ts";
import { type Fixture, RW } from "../fixture/mod.ts";
import type { CaseDef } from "../model.ts";
import {
  all,
  ATOMIC_RW,
  denied,
  granted,
  NO_RESPONDER,
  OK,
  REM_ACCESS,
  unchanged,
  WIN,
  writeChecked,
  written,
} from "./shared.ts";

/** MRs the churn case keeps registered while it churns (their keys must never come back). */
const LIVE = 8;
/**
 * Registrations the churn case makes: bounded by count, not time. It reaches an index wrap only on a device
 * whose MR index space is smaller (rxe's is 2^19: the case then says the wrap was not reached).
 */
export const CHURN_TRIALS = 2000;

/** How long a fenced WR with nothing to wait for may take to complete (a hang is a fact, not a timeout). */
const FENCE_WAIT_MS = 2000;

/** How long a READ to a responder that answers nothing may take to exhaust its retries (0.47 s due, 0.55 s seen). */
const RETRANSMIT_WAIT_MS = 2000;

/** A type 2 window over WIN in PD B, allocated; the key its bind will take (key1 = ibv_inc_rkey). */
function window2(f: Fixture) {
  const mr = f.targetMr();
  const mw = f.mw(2);
  const key = f.name(incRkey(mw.rkey), "key1");
  return { mr, mw, key, spec: { mw, mr, key, off: WIN.off, len: WIN.len, access: RW } };
}

/** Ordering on one send queue, and keys under churn. */
export const ordCases: CaseDef[] = [
  {
    id: "ord.bind_then_send",
    title:
      "A key sent right after its type 2 bind on the same QP (no wait for the bind) grants access on arrival",
    rule: "man.ibv_bind_mw.order",
    also: ["man.ibv_post_send"],
    level: "must",
    needs: ["MW2"],
    setup: "the target MR (MW_BIND) and a type 2 window in PD B; a receive posted on qpA",
    provoke:
      "one post on qpB: IBV_WR_BIND_MW with key1 = ibv_inc_rkey(key), then a SEND to qpA (the bind's " +
      "completion not awaited in between); on the SEND's arrival qpA does an RDMA WRITE with key1",
    expect: all(
      { "chain.ret": ["0"], "chain.wc": [`${OK},${OK}`], "chain.order": ["posted"], "chain.resp": [OK] },
      granted("access"),
      written,
    ),
    async run(f) {
      const w = window2(f);
      f.postRecv("A");
      const wcs = await f.post("chain", [f.bindOp(w.spec), f.sendOp()], "B");
      if (wcs[0]?.status === 0) w.mw.rkey = w.key;
      await writeChecked(f, { key: w.key });
    },
  },
  {
    id: "ord.local_inv_fenced_send",
    title: "A LOCAL_INV, then a fenced SEND on the same QP: the peer's access after the SEND is refused",
    rule: "vol1.fence",
    also: ["vol1.invalidate", "9.9.3.class-c"],
    level: "must",
    needs: ["MW2", "MGT_EXT"],
    setup: "a type 2 window bound on qpB over the target (key1); a receive posted on qpA",
    provoke:
      "one post on qpB: LOCAL_INV of key1, then a SEND to qpA with IBV_SEND_FENCE; on the SEND's arrival " +
      "qpA does an RDMA WRITE with key1",
    expect: all(
      { "chain.ret": ["0"], "chain.wc": [`${OK},${OK}`], "chain.order": ["posted"], "chain.resp": [OK] },
      denied("access"),
      unchanged,
    ),
    async run(f) {
      const w = window2(f);
      await f.bind2("setup.bind", w.spec, { must: true });
      f.postRecv("A");
      await f.post("chain", [f.localInvOp(w.key), f.fenced(f.sendOp())], "B");
      await writeChecked(f, { key: w.key });
    },
  },
  {
    id: "ord.read_fenced_send_inv_write",
    title:
      "READ, fenced SEND_WITH_INV, WRITE with one key in one post: the READ completes, the WRITE meets the key revoked",
    rule: "vol1.fence",
    also: ["vol1.invalidate", "9.9.3.class-c"],
    level: "must",
    needs: ["MW2", "MGT_EXT"],
    setup: "a type 2 window bound on qpB over the target (key1)",
    provoke: "one post on qpA: RDMA READ of 64 bytes with key1, SEND_WITH_INV of key1 with IBV_SEND_FENCE, " +
      "RDMA WRITE of 64 bytes with key1",
    expect: all(
      {
        "chain.ret": ["0"],
        "chain.wc": [`${OK},${OK},${REM_ACCESS}`],
        "chain.order": ["posted"],
        "chain.data": ["current"],
      },
      unchanged,
    ),
    async run(f) {
      const w = window2(f);
      await f.bind2("setup.bind", w.spec, { must: true });
      const ops = [f.readOp({ key: w.key }), f.fenced(f.sendInvOp(w.key)), f.writeOp({ key: w.key })];
      await f.post("chain", ops, "A");
      f.data();
    },
  },
  fenceAfterRecovery("read"),
  fenceAfterRecovery("atomic"),
  {
    // What ord.fence_after_recovery hangs on when its READ's response comes after the transport timer: a
    // retransmission of a fenced READ. Here every try goes unanswered, so it is one on every run.
    id: "ord.fenced_read_retransmitted",
    title: "A fenced RDMA READ that gets no response is retransmitted until the retry count runs out",
    rule: "vol1.fence",
    also: ["9.7.retry-cnt", "10.3.err-state"],
    level: "must",
    needs: ["IB_TRANSPORT"],
    setup: "a live target MR; the responder qpB moved to ERR (it answers no request, so the requester's " +
      "transport timer must retransmit); the control: the same READ without the fence, then both QPs recovered " +
      "and qpB moved to ERR again",
    provoke:
      "RDMA READ of 64 bytes qpA → qpB with the MR's rkey, posted with IBV_SEND_FENCE (nothing before it: " +
      `the fence has nothing to wait for); each completion awaited ${RETRANSMIT_WAIT_MS} ms (7 tries of ` +
      "4.096 µs × 2^14 with the fixture's retry count 6 take 0.47 s): none at all is recorded as access.wc=none",
    expect: all({ "control.wc": NO_RESPONDER, "access.ret": ["0"], "access.wc": NO_RESPONDER }),
    async run(f) {
      const key = f.targetMr().rkey;
      const wait = { missingOk: true, deadlineMs: RETRANSMIT_WAIT_MS };
      f.toState("B", QpState.ERR);
      await f.post("control", [f.readOp({ key })], "A", wait);
      f.recover();
      f.toState("B", QpState.ERR);
      await f.post("access", [f.fenced(f.readOp({ key }))], "A", wait);
    },
  },
  {
    id: "ord.key_churn",
    title: `${CHURN_TRIALS} registrations and deregistrations never hand out a key that a live MR holds`,
    rule: "vol1.key-unique",
    level: "must",
    setup: `${LIVE} MRs over the target's middle, registered and kept`,
    provoke:
      `${CHURN_TRIALS} times: register an MR of 4 KiB over the same memory, compare its lkey and rkey with ` +
      `the ${LIVE} live MRs' keys, deregister it; then RDMA WRITE through the first live MR's rkey`,
    expect: all({ "churn.trials": [CHURN_TRIALS], "churn.collisions": [0] }, granted("access"), written),
    async run(f) {
      const live: MR[] = [];
      for (let i = 0; i < LIVE; i++) live.push(f.regMr("setup.live", RW, { must: true })!);
      f.keyChurn("churn", live, CHURN_TRIALS);
      const wrapped = Number(f.facts["churn.wrapped"]);
      f.note(
        wrapped
          ? `the MR index allocator came round ${wrapped} time(s) during the churn: recycled indexes were met`
          : `the MR index never came round in ${CHURN_TRIALS} registrations (cyclic allocation over a larger ` +
            "index space): no recycled index was met, so only keys of fresh indexes were compared",
      );
      await writeChecked(f, { key: live[0].rkey });
    },
  },
];

/**
 * A fenced RDMA READ or FETCH_AND_ADD after an error and the QPs' recovery: the fence has nothing to wait for
 * (the failed WR was flushed and the QP reset), so it must complete (the fuzzer's seed 1 sequence 464 on 6.12:
 * a READ with a wrong key, then a fenced atomic that never completed).
 */
function fenceAfterRecovery(op: "read" | "atomic"): CaseDef {
  const what = op === "read" ? "RDMA READ of 64 bytes" : "FETCH_AND_ADD of 1";
  return {
    id: op === "read" ? "ord.fence_after_recovery" : "ord.fenced_atomic_after_recovery",
    title:
      `After an error and the QP's recovery (RESET → RTS), a fenced ${
        op === "read" ? "RDMA READ" : "atomic"
      } ` +
      "completes",
    rule: "vol1.fence",
    also: ["vol1.error-flush"],
    level: "must",
    ...(op === "atomic" ? { needs: ["ATOMIC"] as const } : {}),
    setup:
      `the target MR${
        op === "atomic" ? " with REMOTE_ATOMIC" : ""
      }; an RDMA READ with the MR's key, its key ` +
      "byte advanced (Remote Access Error: qpA and qpB go to ERR), then both QPs recovered through RESET to RTS",
    provoke:
      `${what} with the MR's rkey, posted with IBV_SEND_FENCE (nothing is outstanding: the fence has ` +
      `nothing to wait for); its completion awaited ${FENCE_WAIT_MS} ms; where the post is refused, the same ` +
      "READ unfenced (next.*: does the send queue still run?)",
    expect: all(
      { "bad.wc": [REM_ACCESS] },
      granted("access"),
      { "access.data": ["current"] },
      op === "atomic" ? written : {},
    ),
    async run(f) {
      const mr = f.targetMr(op === "atomic" ? ATOMIC_RW : RW);
      await f.read("bad", { key: incRkey(mr.rkey) });
      f.recover();
      const wait = { missingOk: true, deadlineMs: FENCE_WAIT_MS };
      const access = op === "read"
        ? f.readOp({ key: mr.rkey })
        : f.atomicOp({ key: mr.rkey, op: "fadd", compareAdd: 1n });
      await f.post("access", [f.fenced(access)], "A", wait);
      // Refused at the post: does the same READ unfenced still run (or did the refusal wedge the send queue)?
      if (f.facts["access.ret"] !== "0") await f.post("next", [f.readOp({ key: mr.rkey })], "A", wait);
      if (op === "atomic") f.data();
    },
  };
}
