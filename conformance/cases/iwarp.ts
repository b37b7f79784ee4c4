// Rules only iWARP has (RDMAP, RFC 5040, over DDP, RFC 5041): a refused STag ends the stream with a Terminate
// and both QPs go to Error; the error a Terminate carries reaches the requester's WR; the sink of an RDMA READ is
// named by STag; Send with Invalidate names an STag the responder must be able to invalidate. Each case needs the
// iWARP transport, so it is `unsupported` on IB and RoCE with the device's transport as the reason.
import { Access } from "../../ffi/mod.ts";
import { BOGUS_KEY, type Fixture, OK, RW } from "../fixture/mod.ts";
import type { CaseDef } from "../model.ts";
import { all, FLUSH, REM_ACCESS, REM_INV_REQ, unchanged } from "./shared.ts";

/** How long the receives of a terminated stream may take to complete flushed. */
const FLUSH_WAIT_MS = 2000;
const WAIT = { deadlineMs: FLUSH_WAIT_MS, missingOk: true } as const;
/** A responder's completion that was seen and is no success. */
const NOT_OK_WC = { not: [OK, "none"] } as const;

/**
 * A receive on each QP before the step `label` that `provoke` posts, then both receives' completions as facts
 * recvA.wc and recvB.wc. After a failed step the fixture drains the responder's CQ into `${label}.resp`: a
 * receive of qpB found there is not waited for again.
 */
async function withReceives(f: Fixture, label: string, provoke: () => Promise<unknown>): Promise<void> {
  const a = f.postRecv("A");
  const b = f.postRecv("B");
  await provoke();
  await f.collect("recvA", "A", [a], WAIT);
  const drained = f.facts[`${label}.resp`];
  if (drained !== undefined && drained !== "none") f.fact("recvB.wc", drained);
  else await f.collect("recvB", "B", [b], WAIT);
}

/** iWARP's own cases. */
export const iwarpCases: CaseDef[] = [
  {
    id: "iwarp.write_bad_stag_terminates",
    title: "An RDMA WRITE to an invalid STag is not placed; the Terminate ends the stream and both QPs flush",
    rule: "rfc5040.terminate",
    level: "must",
    needs: ["IWARP"],
    setup: "a live target MR; a receive posted on qpA and one on qpB",
    provoke: `one post of [RDMA WRITE of 64 bytes to STag 0x${
      BOGUS_KEY.toString(16)
    } (never issued), RDMA READ of 64 bytes with the MR's valid STag]; completions and qpA's receive awaited ${FLUSH_WAIT_MS} ms`,
    // The WRITE has no response in RDMAP: it may complete once the LLP took it, or with the Terminate's error.
    expect: all({
      "chain.ret": ["0"],
      "chain.wc": [`${OK},${FLUSH}`, `${REM_ACCESS},${FLUSH}`],
      "recvA.wc": [FLUSH],
      "recvB.wc": [FLUSH],
    }, unchanged),
    async run(f) {
      const key = f.targetMr(RW).rkey;
      await withReceives(
        f,
        "chain",
        () => f.post("chain", [f.writeOp({ key: BOGUS_KEY }), f.readOp({ key })], "A", WAIT),
      );
      f.data();
    },
  },
  {
    id: "iwarp.read_bad_stag_error",
    title:
      "An RDMA READ of an invalid STag completes with the Terminate's error (remote access), both QPs flush",
    rule: "rfc5040.terminate-surfaced",
    also: ["rfc5040.terminate"],
    level: "must",
    needs: ["IWARP"],
    setup: "a live target MR; a receive posted on qpA and one on qpB",
    provoke: `RDMA READ of 64 bytes from STag 0x${
      BOGUS_KEY.toString(16)
    } (never issued); its completion and qpA's receive awaited ${FLUSH_WAIT_MS} ms`,
    expect: [{
      "access.ret": ["0"],
      "access.wc": [REM_ACCESS],
      "access.data": ["unchanged"],
      "recvA.wc": [FLUSH],
      "recvB.wc": [FLUSH],
    }],
    async run(f) {
      f.targetMr(RW);
      await withReceives(f, "access", () => f.post("access", [f.readOp({ key: BOGUS_KEY })], "A", WAIT));
    },
  },
  {
    id: "iwarp.read_sink_without_remote_write",
    title: "An RDMA READ into a sink registered without REMOTE_WRITE: does the Read Response land?",
    rule: "rfc5040.read-sink",
    level: "observe",
    needs: ["IWARP"],
    setup: "a live target MR; the READ's sink registered with LOCAL_WRITE only",
    provoke: "RDMA READ of 64 bytes with the MR's STag into that sink",
    async run(f) {
      const key = f.targetMr(RW).rkey;
      await f.post("access", [f.readOp({ key, landingAccess: Access.LOCAL_WRITE })], "A", WAIT);
    },
  },
  {
    id: "iwarp.send_inv_unknown_stag",
    title: "Send with Invalidate naming an STag the responder never issued is refused and ends the stream",
    rule: "rfc5040.send-inv",
    also: ["rfc5040.terminate"],
    level: "must",
    needs: ["IWARP", "SEND_WITH_INV"],
    setup: "a live target MR; a receive posted on qpA and one on qpB",
    provoke: `IBV_WR_SEND_WITH_INV of 32 bytes with invalidate_rkey 0x${
      BOGUS_KEY.toString(16)
    }; its completion and qpA's receive awaited ${FLUSH_WAIT_MS} ms`,
    // The Send completes locally or with the Terminate's error; the responder's receive must not succeed.
    expect: [{
      "inv.ret": ["0"],
      "inv.wc": [OK, REM_INV_REQ, "IBV_WC_REM_OP_ERR", REM_ACCESS],
      "inv.resp": NOT_OK_WC,
      "recvA.wc": [FLUSH],
    }],
    async run(f) {
      f.targetMr(RW);
      const a = f.postRecv("A");
      // sendInvOp posts the responder's receive itself.
      await f.post("inv", [f.sendInvOp(BOGUS_KEY)], "A", WAIT);
      await f.collect("recvA", "A", [a], WAIT);
    },
  },
];
