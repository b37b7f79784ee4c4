// Local protection: L_Keys checked on the requester's SGEs (PD, bounds) and on the responder's receive WQEs
// (access, validity). Each failure must touch no memory; the facts record who saw which status.
import { Access } from "../../ffi/mod.ts";
import { BOGUS_KEY, type Fixture, RW } from "../fixture/mod.ts";
import type { CaseDef } from "../model.ts";
import { all, granted, OK, unchanged, writeChecked, written } from "./shared.ts";

/** The requester's status for an SGE whose L_Key is wrong for it (IBTA §11.6.2 Local Protection Error). */
const LOC_PROT = "IBV_WC_LOC_PROT_ERR";
/** The requester's status when the responder NAKs with Remote Operational Error. */
const REM_OP = "IBV_WC_REM_OP_ERR";
/** A Send the receiver refuses, as the sender sees it on iWARP (rfc5040.send-completion). */
const SEND_REFUSED_IWARP = [OK, REM_OP, "IBV_WC_WR_FLUSH_ERR"];

/** Bytes of the small source MR the bounds cases register (the WRITE's SGE is 64 bytes). */
const SMALL = 32;

/**
 * A plain SEND from qpA into one receive posted on qpB into a buffer of its own registered with `access` in
 * PD B (or with `lkey` instead of that MR's lkey); then the receive buffer's verdict as fact `recv.data`.
 */
async function sendInto(f: Fixture, access: number, lkey?: (mrLkey: number) => number): Promise<void> {
  const buf = f.buf();
  const mr = f.regMr("setup.recvReg", access, { buf, off: 0, len: 4096, must: true })!;
  f.postRecv("B", { buf, lkey: lkey ? lkey(mr.lkey) : mr.lkey });
  await f.send("send");
  f.data("recv.data", buf);
}

/** Local protection: the lkeys of SGEs and receive WQEs. */
export const lprotCases: CaseDef[] = [
  {
    id: "lprot.lkey_other_pd",
    title:
      "An RDMA WRITE whose local SGE carries the lkey of an MR in another PD fails with Local Protection Error",
    rule: "vol1.lkey-pd",
    also: ["11.6.2.loc-prot"],
    level: "must",
    separatePd: true,
    setup: "requester (PD A) and responder (PD B) in different PDs; an MR over the source buffer in PD B",
    provoke: "RDMA WRITE on qpA whose SGE (the source buffer) carries the PD B MR's lkey",
    expect: all({ "setup.lreg.ret": ["0"], "access.ret": ["0"], "access.wc": [LOC_PROT] }, unchanged),
    async run(f) {
      const target = f.targetMr(RW);
      const other = f.regMr("setup.lreg", RW, { buf: f.src, off: 0, len: 4096, side: "B", must: true })!;
      await writeChecked(f, { key: target.rkey, lkey: other.lkey });
    },
  },
  {
    id: "lprot.sge_inside_mr",
    title: "An RDMA WRITE whose SGE lies wholly inside its MR lands (control)",
    rule: "vol1.lkey-bounds",
    level: "must",
    setup: `an MR over the source buffer's first ${SMALL} bytes`,
    provoke: `RDMA WRITE of ${SMALL} bytes with that MR's lkey`,
    expect: all(granted("access"), written),
    async run(f) {
      const target = f.targetMr(RW);
      const small = f.regMr("setup.lreg", RW, { buf: f.src, off: 0, len: SMALL, side: "A", must: true })!;
      await writeChecked(f, { key: target.rkey, lkey: small.lkey, len: SMALL });
    },
  },
  {
    id: "lprot.sge_past_mr",
    title: "An RDMA WRITE whose SGE runs past the end of its MR fails with Local Protection Error",
    rule: "vol1.lkey-bounds",
    also: ["11.6.2.loc-prot"],
    level: "must",
    setup: `an MR over the source buffer's first ${SMALL} bytes (the buffer itself is mapped further)`,
    provoke: `RDMA WRITE of 64 bytes from the buffer's start with that MR's lkey (${
      64 - SMALL
    } bytes past its end)`,
    expect: all({ "access.ret": ["0"], "access.wc": [LOC_PROT] }, unchanged),
    async run(f) {
      const target = f.targetMr(RW);
      const small = f.regMr("setup.lreg", RW, { buf: f.src, off: 0, len: SMALL, side: "A", must: true })!;
      await writeChecked(f, { key: target.rkey, lkey: small.lkey, len: 64 });
    },
  },
  {
    id: "lprot.recv_control",
    title: "A SEND into a receive buffer registered with LOCAL_WRITE completes on both ends (control)",
    rule: "vol1.local-write",
    level: "must",
    setup: "a receive on qpB into a buffer of its own, MR with LOCAL_WRITE",
    provoke: "a plain SEND of 32 bytes qpA → qpB",
    expect: [{ "send.ret": ["0"], "send.wc": [OK], "send.resp": [OK] }],
    async run(f) {
      await sendInto(f, Access.LOCAL_WRITE);
    },
  },
  {
    id: "lprot.recv_without_local_write",
    title:
      "A SEND into a receive buffer registered without LOCAL_WRITE fails at the receiver and writes nothing",
    rule: "vol1.local-write",
    also: ["11.6.2.loc-prot", "9.9.3.class-b"],
    level: "must",
    setup: "a receive on qpB into a buffer of its own, MR with REMOTE_READ only (no LOCAL_WRITE)",
    provoke: "a plain SEND of 32 bytes qpA → qpB",
    expect: [{
      "setup.recvReg.ret": ["0"],
      "send.ret": ["0"],
      "send.wc": [REM_OP],
      "send.resp": [LOC_PROT],
      "recv.data": ["unchanged"],
    }],
    // iWARP: no response to the Send; the receiver's refusal is its receive's error and a Terminate.
    iwarp: {
      rule: "vol1.local-write",
      also: ["11.6.2.loc-prot", "rfc5040.send-completion"],
      expect: [{
        "setup.recvReg.ret": ["0"],
        "send.ret": ["0"],
        "send.wc": SEND_REFUSED_IWARP,
        "send.resp": [LOC_PROT],
        "recv.data": ["unchanged"],
      }],
    },
    async run(f) {
      await sendInto(f, Access.REMOTE_READ);
    },
  },
  {
    id: "lprot.read_into_no_local_write",
    title: "An RDMA READ whose response lands in an MR without LOCAL_WRITE fails with Local Protection Error",
    rule: "vol1.local-write",
    also: ["11.6.2.loc-prot"],
    level: "must",
    setup: "a live target MR; the READ's landing buffer registered with REMOTE_READ only (no LOCAL_WRITE)",
    provoke: "RDMA READ of 64 bytes into that landing buffer",
    expect: all({ "access.ret": ["0"], "access.wc": [LOC_PROT], "access.data": ["unchanged"] }),
    async run(f) {
      await f.read("access", { key: f.targetMr(RW).rkey, landingAccess: Access.REMOTE_READ });
    },
  },
  {
    id: "lprot.recv_bad_lkey",
    title: "A SEND into a receive WQE with an invalid lkey: REM_OP_ERR at the sender, nothing written",
    rule: "9.9.3.class-b",
    also: ["11.6.2.loc-prot"],
    level: "must",
    setup: `a receive on qpB into a buffer of its own (MR with LOCAL_WRITE) posted with lkey 0x${
      BOGUS_KEY.toString(16)
    }`,
    provoke: "a plain SEND of 32 bytes qpA → qpB",
    expect: [{ "send.ret": ["0"], "send.wc": [REM_OP], "send.resp": [LOC_PROT], "recv.data": ["unchanged"] }],
    // iWARP has no Class B NAK: the sender's Send completes as RDMAP completes it.
    iwarp: {
      rule: "rfc5040.send-completion",
      also: ["11.6.2.loc-prot"],
      expect: [{
        "send.ret": ["0"],
        "send.wc": SEND_REFUSED_IWARP,
        "send.resp": [LOC_PROT],
        "recv.data": ["unchanged"],
      }],
    },
    async run(f) {
      await sendInto(f, Access.LOCAL_WRITE, () => BOGUS_KEY);
    },
  },
];
