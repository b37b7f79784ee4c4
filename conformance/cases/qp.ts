// What an access error does to the queue pairs: flush order, ERR state on both ends, recovery, posting in ERR.
import { QpState } from "../../ffi/mod.ts";
import { BOGUS_KEY, T } from "../fixture/mod.ts";
import type { CaseDef } from "../model.ts";
import {
  all,
  FLUSH,
  granted,
  iwarpWriteRefused,
  NO_RESPONDER,
  OK,
  REM_ACCESS,
  unchanged,
  written,
} from "./shared.ts";

/**
 * The chain [refused WRITE, WRITE, WRITE] as iWARP completes it, in order: each WRITE the LLP took before the
 * Terminate ended the stream completes successfully, the rest flushed, the refused one maybe with its error
 * (RFC 5040 Ordering and Completions, RDMAP Error Management); nothing behind the refusal is placed.
 */
const IWARP_CHAIN = [
  [OK, OK, OK],
  [OK, OK, FLUSH],
  [OK, FLUSH, FLUSH],
  [REM_ACCESS, FLUSH, FLUSH],
  [FLUSH, FLUSH, FLUSH],
].map((wcs) => wcs.join(","));

/** How long a WR posted in ERR may take to complete flushed. */
const POST_IN_ERR_WAIT_MS = 2000;

/** What an access error does to the QPs: flush order, ERR on both ends, recovery, posting in ERR. */
export const qpCases: CaseDef[] = [
  {
    id: "qp.flush_in_order",
    title:
      "After an access error the WRs behind it complete with IBV_WC_WR_FLUSH_ERR, in order, and write nothing",
    rule: "vol1.error-flush",
    level: "must",
    setup: "a live target MR",
    provoke: "one post of [WRITE with an invalid rkey, WRITE with the MR's rkey, WRITE with the MR's rkey]",
    expect: all({
      "chain.ret": ["0"],
      "chain.wc": [`${REM_ACCESS},${FLUSH},${FLUSH}`],
      "chain.order": ["posted"],
    }, unchanged),
    iwarp: iwarpWriteRefused(
      { "chain.ret": ["0"], "chain.wc": IWARP_CHAIN, "chain.order": ["posted"] },
      unchanged,
    ),
    async run(f) {
      const key = f.targetMr().rkey;
      const ops = [f.writeOp({ key: BOGUS_KEY }), f.writeOp({ key }), f.writeOp({ key, off: T.mrOff + 64 })];
      await f.post("chain", ops, "A");
      f.data();
    },
  },
  {
    id: "qp.requester_error_state",
    title: "The requester QP reads ERR after a remote access error",
    rule: "vol1.error-flush",
    level: "must",
    setup: "a live target MR",
    provoke: "WRITE with an invalid rkey, then ibv_query_qp on qpA",
    expect: all({ "access.wc": [REM_ACCESS], qpA: ["ERR"] }),
    // On iWARP the requester learns of the refusal from the Terminate, which may come after the WRITE completed.
    iwarp: {
      ...iwarpWriteRefused(),
      expect: [
        { "access.wc": [REM_ACCESS, FLUSH], qpA: ["ERR"] },
        { "access.wc": [OK], qpA: ["RTS", "ERR"] },
      ],
    },
    async run(f) {
      f.targetMr();
      await f.write("access", { key: BOGUS_KEY });
      f.states();
    },
  },
  {
    id: "qp.responder_state_after_nak",
    title: "The responder QP's state after it NAKed a remote access error",
    rule: "vol1.error-flush",
    level: "observe",
    setup: "a live target MR",
    provoke: "WRITE with an invalid rkey, then ibv_query_qp on both QPs",
    async run(f) {
      f.targetMr();
      await f.write("access", { key: BOGUS_KEY });
      f.states();
    },
  },
  {
    id: "qp.recover_err_reset_rts",
    title: "ERR → RESET → RTS recovers the pair: traffic flows again",
    rule: "vol1.error-flush",
    level: "must",
    needs: ["IB_TRANSPORT"],
    setup: "a live target MR; an access error puts qpA in ERR",
    provoke: "both QPs to RESET, then INIT/RTR/RTS, then WRITE with the MR's rkey",
    expect: all(
      { "access.wc": [REM_ACCESS], "after.qpA": ["RTS"], "after.qpB": ["RTS"] },
      granted("again"),
      written,
    ),
    async run(f) {
      const key = f.targetMr().rkey;
      await f.write("access", { key: BOGUS_KEY });
      f.recover();
      f.states("after.");
      await f.write("again", { key });
      f.data();
    },
  },
  {
    id: "qp.post_in_err",
    title: "A WR posted on a QP in ERR completes with IBV_WC_WR_FLUSH_ERR and writes nothing",
    rule: "vol1.error-flush",
    level: "must",
    setup: "a live target MR; an access error puts qpA in ERR",
    provoke:
      `RDMA WRITE with the valid rkey posted on qpA in ERR; its completion awaited ${POST_IN_ERR_WAIT_MS} ms ` +
      "(a flush is immediate): none at all is recorded as post.wc=none",
    expect: all({ qpA: ["ERR"], "post.ret": ["0"], "post.wc": [FLUSH] }, unchanged),
    async run(f) {
      const key = f.targetMr().rkey;
      await f.write("access", { key: BOGUS_KEY });
      f.states();
      // Bounded: a provider that neither flushes nor runs the WR (siw's mapped SQ in ERR) is a finding, not a hang.
      await f.write("post", { key }, "A", { deadlineMs: POST_IN_ERR_WAIT_MS, missingOk: true });
      f.data();
    },
  },
  {
    id: "qp.receives_flush_on_err",
    title:
      "Receives outstanding when the responder QP goes to ERR complete with IBV_WC_WR_FLUSH_ERR, in order",
    rule: "vol1.error-flush",
    level: "must",
    setup: "three receives posted on qpB",
    provoke: "ibv_modify_qp(qpB → ERR)",
    expect: [{ "recv.wc": [`${FLUSH},${FLUSH},${FLUSH}`], "recv.order": ["posted"] }],
    async run(f) {
      const ids = [f.postRecv("B"), f.postRecv("B"), f.postRecv("B")];
      f.toState("B", QpState.ERR);
      await f.collect("recv", "B", ids);
    },
  },
  {
    id: "qp.access_to_err_responder",
    title: "An RDMA WRITE to a responder QP in ERR is not carried out and does not complete successfully",
    rule: "10.3.err-state",
    level: "must",
    setup: "a live target MR; the responder qpB moved to ERR (ibv_modify_qp)",
    provoke:
      "RDMA WRITE qpA → qpB with the MR's valid rkey; its completion is awaited 10 s (the transport timer, " +
      "4.096 µs × 2^14, times 7 tries with the fixture's retry count 6 is 0.47 s): none at all is recorded as " +
      "access.wc=none",
    expect: all({ "access.ret": ["0"], "access.wc": NO_RESPONDER }, unchanged),
    async run(f) {
      const key = f.targetMr().rkey;
      f.toState("B", QpState.ERR);
      await f.write("access", { key }, "A", { deadlineMs: 10_000, missingOk: true });
      f.data();
    },
  },
  {
    id: "qp.retry_count_seven",
    title:
      "Transport retry count 7 is finite: a request nobody answers completes in error (retries exceeded)",
    rule: "9.7.retry-cnt",
    also: ["10.3.err-state"],
    level: "must",
    needs: ["IB_TRANSPORT"],
    setup: "a live target MR; qpA ↔ qpB connected again with retry_cnt 7 (timeout 14); qpB moved to ERR",
    provoke: "RDMA WRITE qpA → qpB with the MR's valid rkey; its completion is awaited 10 s (8 tries of " +
      "4.096 µs × 2^14 take 0.54 s): none at all is recorded as access.wc=none (the requester retries forever)",
    expect: all({ "access.ret": ["0"], "access.wc": NO_RESPONDER }, unchanged),
    async run(f) {
      const key = f.targetMr().rkey;
      f.recover(["AB"], 7);
      f.toState("B", QpState.ERR);
      await f.write("access", { key }, "A", { deadlineMs: 10_000, missingOk: true });
      f.data();
    },
  },
];
