// Memory regions: keys after dereg, bounds, access rights, PDs, zero length, rereg, invalidation of a plain
// ibv_reg_mr key, and memory freed under a pinned MR.
import { Access, ReregFlags } from "../../ffi/mod.ts";
import { BOGUS_KEY, RW, T } from "../fixture/mod.ts";
import type { CaseDef } from "../model.ts";
import { keyReuseCase } from "./reuse.ts";
import {
  all,
  denied,
  granted,
  iwarpWriteRefused,
  localInvFailed,
  localInvThenWrite,
  NOT_OK,
  OK,
  sendInvRefused,
  sendInvThenWrite,
  unchanged,
  writeChecked,
  writeRefusedIwarp,
  written,
} from "./shared.ts";

const END = T.mrOff + T.mrLen;

/** Memory regions: registration, access flags, deregistration, rereg. */
export const mrCases: CaseDef[] = [
  {
    id: "mr.write_control",
    title: "RDMA WRITE through a live MR rkey lands (control)",
    rule: "man.ibv_reg_mr",
    level: "must",
    setup: "target MR (LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ) in the responder's PD",
    provoke: "RDMA WRITE of 64 bytes at the MR's start with its rkey",
    expect: all(granted("access"), written),
    async run(f) {
      await writeChecked(f, { key: f.targetMr().rkey });
    },
  },
  {
    id: "mr.read_control",
    title: "RDMA READ through a live MR rkey returns its bytes (control)",
    rule: "man.ibv_reg_mr",
    level: "must",
    setup: "target MR with REMOTE_READ",
    provoke: "RDMA READ of 64 bytes at the MR's start",
    expect: all(granted("access"), { "access.data": ["current"] }),
    async run(f) {
      await f.read("access", { key: f.targetMr().rkey });
    },
  },
  {
    id: "mr.write_after_dereg",
    title: "RDMA WRITE with the rkey of a deregistered MR is refused",
    rule: "vol1.rkey-invalid",
    level: "must",
    setup: "target MR, then ibv_dereg_mr (memory stays mapped)",
    provoke: "RDMA WRITE with the old rkey",
    expect: all({ "dereg.ret": ["0"] }, denied("access"), unchanged),
    iwarp: iwarpWriteRefused({ "dereg.ret": ["0"] }, writeRefusedIwarp("access"), unchanged),
    async run(f) {
      const mr = f.targetMr();
      f.release("dereg", mr);
      await writeChecked(f, { key: mr.rkey });
    },
  },
  {
    id: "mr.read_after_dereg",
    title: "RDMA READ with the rkey of a deregistered MR is refused",
    rule: "vol1.rkey-invalid",
    level: "must",
    setup: "target MR, then ibv_dereg_mr",
    provoke: "RDMA READ with the old rkey",
    expect: all({ "dereg.ret": ["0"] }, denied("access"), { "access.data": ["unchanged"] }),
    async run(f) {
      const mr = f.targetMr();
      f.release("dereg", mr);
      await f.read("access", { key: mr.rkey });
    },
  },
  {
    id: "mr.local_after_dereg",
    title: "A send-queue WR whose SGE uses the lkey of a deregistered MR fails with Local Protection Error",
    rule: "11.6.2.loc-prot",
    level: "must",
    setup: "a second MR over the source buffer, deregistered; a live target MR",
    provoke: "RDMA WRITE whose local SGE carries the stale lkey",
    expect: all({ "dereg.ret": ["0"], "access.ret": ["0"], "access.wc": ["IBV_WC_LOC_PROT_ERR"] }, unchanged),
    async run(f) {
      const target = f.targetMr();
      const stale = f.regMr("setup.lreg", RW, { buf: f.src, off: 0, len: T.size, side: "A", must: true })!;
      f.release("dereg", stale);
      await writeChecked(f, { key: target.rkey, lkey: stale.lkey });
    },
  },
  {
    id: "mr.write_bogus_key",
    title: "RDMA WRITE with an rkey no registration handed out is refused",
    rule: "vol1.rkey-invalid",
    level: "must",
    setup: "a live target MR (so the address is registered, only the key is wrong)",
    provoke: `RDMA WRITE with rkey 0x${BOGUS_KEY.toString(16)}`,
    expect: all(denied("access"), unchanged),
    iwarp: iwarpWriteRefused(writeRefusedIwarp("access"), unchanged),
    async run(f) {
      f.targetMr();
      await writeChecked(f, { key: BOGUS_KEY });
    },
  },
  {
    id: "mr.write_key_variant",
    title: "RDMA WRITE with the MR's rkey with its key byte changed is refused",
    rule: "vol1.rkey-invalid",
    level: "must",
    setup: "a live target MR",
    provoke: "RDMA WRITE with rkey ^ 0x01 (same index, other key byte)",
    expect: all(denied("access"), unchanged),
    iwarp: iwarpWriteRefused(writeRefusedIwarp("access"), unchanged),
    async run(f) {
      await writeChecked(f, { key: (f.targetMr().rkey ^ 1) >>> 0 });
    },
  },
  {
    id: "mr.write_past_end",
    title: "RDMA WRITE crossing the MR's end is refused and writes nothing",
    rule: "vol1.rkey-bounds",
    level: "must",
    setup: "MR over the middle 8 KiB of a 16 KiB buffer (mapped guard bytes either side)",
    provoke: "RDMA WRITE of 64 bytes starting 32 bytes before the MR's end",
    expect: all(denied("access"), unchanged),
    iwarp: iwarpWriteRefused(writeRefusedIwarp("access"), unchanged),
    async run(f) {
      await writeChecked(f, { key: f.targetMr().rkey, off: END - 32 });
    },
  },
  {
    id: "mr.write_before_start",
    title: "RDMA WRITE starting before the MR is refused and writes nothing",
    rule: "vol1.rkey-bounds",
    level: "must",
    setup: "MR over the middle 8 KiB of a 16 KiB buffer",
    provoke: "RDMA WRITE of 64 bytes starting 32 bytes before the MR's start",
    expect: all(denied("access"), unchanged),
    iwarp: iwarpWriteRefused(writeRefusedIwarp("access"), unchanged),
    async run(f) {
      await writeChecked(f, { key: f.targetMr().rkey, off: T.mrOff - 32 });
    },
  },
  {
    id: "mr.read_past_end",
    title: "RDMA READ crossing the MR's end is refused",
    rule: "vol1.rkey-bounds",
    level: "must",
    setup: "MR over the middle 8 KiB of a 16 KiB buffer",
    provoke: "RDMA READ of 64 bytes starting 32 bytes before the MR's end",
    expect: all(denied("access"), { "access.data": ["unchanged"] }),
    async run(f) {
      await f.read("access", { key: f.targetMr().rkey, off: END - 32 });
    },
  },
  {
    id: "mr.write_without_remote_write",
    title: "RDMA WRITE to an MR registered without REMOTE_WRITE is refused",
    rule: "vol1.rkey-access",
    level: "must",
    setup: "MR with LOCAL_WRITE|REMOTE_READ",
    provoke: "RDMA WRITE with its rkey",
    expect: all(denied("access"), unchanged),
    iwarp: iwarpWriteRefused(writeRefusedIwarp("access"), unchanged),
    async run(f) {
      await writeChecked(f, { key: f.targetMr(Access.LOCAL_WRITE | Access.REMOTE_READ).rkey });
    },
  },
  {
    id: "mr.read_without_remote_read",
    title: "RDMA READ from an MR registered without REMOTE_READ is refused",
    rule: "vol1.rkey-access",
    level: "must",
    setup: "MR with LOCAL_WRITE|REMOTE_WRITE",
    provoke: "RDMA READ with its rkey",
    expect: all(denied("access"), { "access.data": ["unchanged"] }),
    async run(f) {
      await f.read("access", { key: f.targetMr(Access.LOCAL_WRITE | Access.REMOTE_WRITE).rkey });
    },
  },
  {
    id: "mr.rkey_other_pd",
    title: "RDMA WRITE with an rkey of another PD than the responder QP's is refused",
    rule: "vol1.rkey-pd",
    level: "must",
    separatePd: true,
    setup: "requester and responder QPs in different PDs; the target MR in the requester's PD",
    provoke: "RDMA WRITE to the responder with that rkey",
    expect: all(denied("access"), unchanged),
    iwarp: iwarpWriteRefused(writeRefusedIwarp("access"), unchanged),
    async run(f) {
      await writeChecked(f, { key: f.targetMr(RW, { side: "A" }).rkey });
    },
  },
  {
    id: "mr.remote_write_without_local_write",
    title: "ibv_reg_mr with REMOTE_WRITE but not LOCAL_WRITE fails",
    rule: "man.ibv_reg_mr",
    level: "must",
    setup: "none",
    provoke: "ibv_reg_mr(REMOTE_WRITE|REMOTE_READ)",
    expect: [{ "reg.ret": NOT_OK }],
    async run(f) {
      const mr = f.regMr("reg", Access.REMOTE_WRITE | Access.REMOTE_READ);
      // Where the device accepts it anyway, record whether the key then takes a write.
      if (mr) await f.write("access", { key: mr.rkey });
    },
  },
  {
    id: "mr.remote_atomic_without_local_write",
    title: "ibv_reg_mr with REMOTE_ATOMIC but not LOCAL_WRITE fails",
    rule: "man.ibv_reg_mr",
    level: "must",
    setup: "none",
    provoke: "ibv_reg_mr(REMOTE_ATOMIC|REMOTE_READ)",
    expect: [{ "reg.ret": NOT_OK }],
    run(f) {
      f.regMr("reg", Access.REMOTE_ATOMIC | Access.REMOTE_READ);
      return Promise.resolve();
    },
  },
  {
    id: "mr.zero_length_write_bogus_key",
    title: "A zero-length RDMA WRITE with an invalid rkey completes (no R_Key check)",
    rule: "vol1.zero-length",
    level: "must",
    setup: "a live target MR",
    provoke: `zero-length RDMA WRITE (no SGE) with rkey 0x${BOGUS_KEY.toString(16)}`,
    expect: all(granted("access"), unchanged),
    async run(f) {
      f.targetMr();
      await writeChecked(f, { key: BOGUS_KEY, len: 0 });
    },
  },
  {
    id: "mr.zero_length_read_bogus_key",
    title: "A zero-length RDMA READ with an invalid rkey completes (no R_Key check)",
    rule: "vol1.zero-length",
    level: "must",
    setup: "a live target MR",
    provoke: `zero-length RDMA READ (no SGE) with rkey 0x${BOGUS_KEY.toString(16)}`,
    expect: all(granted("access")),
    async run(f) {
      f.targetMr();
      await f.read("access", { key: BOGUS_KEY, len: 0 });
    },
  },
  {
    id: "mr.rereg_drop_remote_write",
    title: "After ibv_rereg_mr drops REMOTE_WRITE the key no longer takes writes",
    rule: "man.ibv_rereg_mr",
    level: "must",
    setup: "target MR with REMOTE_WRITE",
    provoke:
      "ibv_rereg_mr(CHANGE_ACCESS → LOCAL_WRITE|REMOTE_READ), then RDMA WRITE with the MR's (new) rkey",
    expect: all({ "rereg.ret": ["0"] }, denied("access"), unchanged),
    async run(f) {
      const mr = f.targetMr(RW);
      f.rereg("rereg", mr, ReregFlags.CHANGE_ACCESS, { access: Access.LOCAL_WRITE | Access.REMOTE_READ });
      f.name(mr.rkey, "mr.after");
      await writeChecked(f, { key: mr.rkey });
    },
  },
  {
    id: "mr.rereg_translation",
    title: "After ibv_rereg_mr changes the translation the key reaches only the new memory",
    rule: "man.ibv_rereg_mr",
    level: "must",
    setup: "target MR over buffer 1",
    provoke:
      "ibv_rereg_mr(CHANGE_TRANSLATION → buffer 2), then WRITE at buffer 2 (must land) and at buffer 1",
    expect: all({ "rereg.ret": ["0"], "data.new": ["written"] }, granted("new"), denied("old"), unchanged),
    async run(f) {
      const mr = f.targetMr(RW);
      const b2 = f.buf();
      f.rereg("rereg", mr, ReregFlags.CHANGE_TRANSLATION, {
        addr: b2.addr + BigInt(T.mrOff),
        length: T.mrLen,
        buf: b2,
        off: T.mrOff,
      });
      await f.write("new", { key: mr.rkey, target: b2 });
      f.data("data.new", b2);
      await writeChecked(f, { key: mr.rkey }, "old");
    },
  },
  {
    id: "mr.rereg_pd",
    title: "After ibv_rereg_mr moves the MR to another PD the responder QP's PD no longer matches",
    rule: "man.ibv_rereg_mr",
    level: "must",
    separatePd: true,
    setup: "requester and responder in different PDs; target MR in the responder's PD",
    provoke: "ibv_rereg_mr(CHANGE_PD → the requester's PD), then RDMA WRITE to the responder",
    expect: all({ "rereg.ret": ["0"] }, denied("access"), unchanged),
    async run(f) {
      const mr = f.targetMr(RW);
      f.rereg("rereg", mr, ReregFlags.CHANGE_PD, { pd: f.pd("A") });
      await writeChecked(f, { key: mr.rkey });
    },
  },
  {
    id: "mr.local_inv_plain_mr",
    title: "LOCAL_INV aimed at an ibv_reg_mr rkey fails and the MR keeps working",
    rule: "10.7.inv-scope",
    level: "must",
    needs: ["LOCAL_INV"],
    setup: "target MR from ibv_reg_mr; a second QP pair on the same PDs",
    provoke: "IBV_WR_LOCAL_INV of the MR's rkey on the spare QP, then RDMA WRITE qpA → qpB with the rkey",
    expect: all(localInvFailed, granted("after"), written),
    async run(f) {
      await localInvThenWrite(f, f.targetMr(RW).rkey);
    },
  },
  {
    id: "mr.send_inv_plain_mr",
    title: "SEND_WITH_INV aimed at an ibv_reg_mr rkey is refused by the responder",
    rule: "10.7.inv-scope",
    also: ["9.9.3.class-c"],
    level: "must",
    needs: ["SEND_WITH_INV"],
    setup: "target MR from ibv_reg_mr; a receive posted on the responder",
    provoke: "IBV_WR_SEND_WITH_INV carrying the MR's rkey, then (after recovery) RDMA WRITE with it",
    expect: all(sendInvRefused, granted("after"), written),
    async run(f) {
      await sendInvThenWrite(f, f.targetMr(RW).rkey);
    },
  },
  {
    id: "mr.munmap_pinned_read",
    title: "Pinned MR whose pages were munmapped, then read remotely: can a peer still read freed memory?",
    rule: "man.ibv_reg_mr",
    level: "observe",
    setup: "target MR over a buffer with a pattern, then munmap of the buffer (MR left registered)",
    provoke: "RDMA READ through the MR's rkey",
    async run(f) {
      const mr = f.targetMr(RW);
      f.unmap(f.dst);
      const wc = await f.read("access", { key: mr.rkey });
      if (wc?.status === 0) f.note("access.data = current means the peer read pages the process had freed");
      f.fact("access.ok", wc?.statusName === OK);
    },
  },
  keyReuseCase({
    id: "mr.key_reuse_after_dereg",
    title: "After ibv_dereg_mr, re-registering the same memory never brings back the old rkey",
    kind: "mr",
  }),
  {
    id: "mr.dealloc_pd_with_mr",
    title: "ibv_dealloc_pd of a PD that holds an MR fails (EBUSY on Linux)",
    rule: "11.2.dealloc-pd",
    level: "must",
    setup: "a PD of its own with an MR registered in it",
    provoke: "ibv_dealloc_pd (must fail), ibv_dereg_mr, ibv_dealloc_pd again (must succeed)",
    expect: [{ "dealloc_pd.ret": NOT_OK, "reg.ret": ["0"], "dereg.ret": ["0"], "dealloc_pd2.ret": ["0"] }],
    run(f) {
      const pd = f.newPd();
      const mr = f.regMr("reg", RW, { side: pd, must: true })!;
      f.release("dealloc_pd", pd);
      f.release("dereg", mr);
      f.release("dealloc_pd2", pd);
      return Promise.resolve();
    },
  },
];
