// Type 1 memory windows (ibv_bind_mw): access, unbind, rebind, the bind rules C10-72…75 and o10-36.2.2,
// invalidation that must not work on them (o10-37.2.26), dealloc, and dereg of the MR under a window.
import { Access } from "../../ffi/mod.ts";
import { RW, T } from "../fixture.ts";
import type { CaseDef } from "../model.ts";
import {
  all,
  denied,
  granted,
  LOCAL_INV_FAIL,
  NO_LOCAL_WRITE,
  NOT_OK,
  refusedKeyGrantsNothing,
  rejected,
  SEND_INV_FAIL,
  type1Window,
  unchanged,
  WIN,
  written,
} from "./shared.ts";

const MW1 = ["MW1"] as const;

export const mw1Cases: CaseDef[] = [
  {
    id: "mw1.bind_access",
    title: "A bound type 1 window takes an RDMA WRITE through its rkey (control)",
    rule: "man.ibv_bind_mw",
    level: "must",
    needs: MW1,
    setup: "target MR with MW_BIND; type 1 window bound over its first 4 KiB with ibv_bind_mw on qpB",
    provoke: "RDMA WRITE of 64 bytes through the window's rkey",
    expect: all(granted("access"), written),
    async run(f) {
      const { key } = await type1Window(f);
      await f.write("access", { key });
      f.data();
    },
  },
  {
    id: "mw1.unbind_then_access",
    title: "After a zero-length bind (unbind) the window's old rkey is refused",
    rule: "man.ibv_bind_mw",
    level: "must",
    needs: MW1,
    setup: "bound type 1 window",
    provoke: "ibv_bind_mw with length 0, then RDMA WRITE with the old rkey",
    expect: all({ unbind: ["ok"] }, denied("access"), unchanged),
    async run(f) {
      const { mr, mw, key } = await type1Window(f);
      await f.bind1("unbind", { mw, mr, len: 0 });
      await f.write("access", { key });
      f.data();
    },
  },
  {
    id: "mw1.rebind_new_key",
    title: "Rebinding a type 1 window yields a new rkey; the old one is refused",
    rule: "man.ibv_bind_mw",
    level: "must",
    needs: MW1,
    setup: "type 1 window bound over the MR's first 4 KiB",
    provoke:
      "ibv_bind_mw again over the next 4 KiB; WRITE with the new key, then with the old key at the old range",
    expect: all({ rebind: ["ok"], "rebind.newKey": [true] }, granted("new"), denied("old"), {
      data: ["written"],
    }),
    async run(f) {
      const { mr, mw, key } = await type1Window(f);
      const next = await f.bind1("rebind", { mw, mr, off: WIN.off + 4096, len: 4096 });
      f.fact("rebind.newKey", next !== null && next !== key);
      if (next === null) return;
      await f.write("new", { key: f.name(next, "mw.new"), off: WIN.off + 4096 });
      await f.write("old", { key });
      f.data();
    },
  },
  {
    id: "mw1.bind_beyond_mr",
    title: "A type 1 bind reaching past the MR's end is refused and grants nothing",
    rule: "C10-75",
    level: "must",
    needs: MW1,
    setup: "target MR with MW_BIND, type 1 window",
    provoke:
      "ibv_bind_mw over [MR end − 2 KiB, MR end + 2 KiB), then (recovered) WRITE there with the window's key",
    expect: rejected("bind", denied("after"), unchanged),
    async run(f) {
      const mr = f.targetMr();
      const mw = f.mw(1);
      const off = T.mrOff + T.mrLen - 2048;
      await f.bind1("bind", { mw, mr, off, len: 4096 });
      await refusedKeyGrantsNothing(f, mw.rkey, off);
    },
  },
  {
    id: "mw1.mr_without_mw_bind",
    title: "Binding a type 1 window to an MR registered without MW_BIND is refused",
    rule: "C10-73",
    level: "must",
    needs: MW1,
    setup: "target MR with LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ (no MW_BIND)",
    provoke: "ibv_bind_mw, then (recovered) WRITE with the window's key",
    expect: rejected("bind", denied("after"), unchanged),
    async run(f) {
      const mr = f.targetMr(RW);
      const mw = f.mw(1);
      await f.bind1("bind", { mw, mr, ...WIN });
      await refusedKeyGrantsNothing(f, mw.rkey);
    },
  },
  {
    id: "mw1.writable_window_without_local_write",
    title: "A writable type 1 window on an MR without LOCAL_WRITE is refused",
    rule: "C10-74",
    level: "must",
    needs: MW1,
    setup: "target MR with REMOTE_READ|MW_BIND only",
    provoke: "ibv_bind_mw with REMOTE_WRITE, then (recovered) WRITE with the window's key",
    expect: rejected("bind", denied("after"), unchanged),
    async run(f) {
      const mr = f.targetMr(NO_LOCAL_WRITE);
      const mw = f.mw(1);
      await f.bind1("bind", { mw, mr, ...WIN, access: Access.REMOTE_WRITE | Access.REMOTE_READ });
      await refusedKeyGrantsNothing(f, mw.rkey);
    },
  },
  {
    id: "mw1.zero_based",
    title: "A zero-based type 1 bind is refused",
    rule: "o10-36.2.2",
    level: "must",
    needs: MW1,
    setup: "target MR with MW_BIND",
    provoke:
      "ibv_bind_mw with IBV_ACCESS_ZERO_BASED, then (recovered) WRITE at offset 0 with the window's key",
    expect: rejected("bind", denied("after"), unchanged),
    async run(f) {
      const mr = f.targetMr();
      const mw = f.mw(1);
      await f.bind1("bind", { mw, mr, ...WIN, access: RW | Access.ZERO_BASED });
      f.recover();
      await f.write("after", { key: mw.rkey, raddr: 0n });
      f.data();
    },
  },
  {
    id: "mw1.narrower_than_access",
    title: "A WRITE crossing the end of a type 1 window (inside the MR) is refused",
    rule: "vol1.rkey-bounds",
    level: "must",
    needs: MW1,
    setup: "type 1 window over the MR's first 4 KiB (the MR goes on)",
    provoke: "RDMA WRITE of 64 bytes starting 32 bytes before the window's end",
    expect: all(denied("access"), unchanged),
    async run(f) {
      const { key } = await type1Window(f);
      await f.write("access", { key, off: WIN.off + WIN.len - 32 });
      f.data();
    },
  },
  {
    id: "mw1.read_only_window_written",
    title: "An RDMA WRITE through a read-only type 1 window is refused",
    rule: "vol1.rkey-access",
    level: "must",
    needs: MW1,
    setup: "type 1 window with REMOTE_READ only (the MR allows writes)",
    provoke: "RDMA WRITE through the window's rkey",
    expect: all(denied("access"), unchanged),
    async run(f) {
      const { key } = await type1Window(f, Access.REMOTE_READ);
      await f.write("access", { key });
      f.data();
    },
  },
  {
    id: "mw1.local_inv",
    title: "LOCAL_INV of a type 1 window's rkey fails and the window stays bound",
    rule: "o10-37.2.26",
    level: "must",
    needs: [...MW1, "MGT_EXT"],
    setup: "bound type 1 window; a second QP pair on the same PDs",
    provoke: "IBV_WR_LOCAL_INV of the window's rkey on the spare QP, then WRITE qpA → qpB through the window",
    expect: all({ "inv.ret": ["0"], "inv.wc": LOCAL_INV_FAIL }, granted("after"), written),
    async run(f) {
      const { key } = await type1Window(f);
      await f.localInv("inv", key, "D");
      await f.write("after", { key });
      f.data();
    },
  },
  {
    id: "mw1.send_inv",
    title: "SEND_WITH_INV of a type 1 window's rkey is refused and the window stays bound",
    rule: "o10-37.2.26",
    level: "must",
    needs: [...MW1, "MGT_EXT"],
    setup: "bound type 1 window; a receive posted on qpB",
    provoke: "IBV_WR_SEND_WITH_INV of the window's rkey, then (recovered) WRITE through the window",
    expect: all({ "inv.ret": ["0"], "inv.wc": SEND_INV_FAIL }, granted("after"), written),
    async run(f) {
      const { key } = await type1Window(f);
      await f.sendInv("inv", key);
      f.recover();
      await f.write("after", { key });
      f.data();
    },
  },
  {
    id: "mw1.dealloc_then_access",
    title: "After ibv_dealloc_mw of a bound type 1 window its rkey is refused",
    rule: "man.ibv_alloc_mw",
    level: "must",
    needs: MW1,
    setup: "bound type 1 window",
    provoke: "ibv_dealloc_mw, then RDMA WRITE with its rkey",
    expect: all({ "dealloc.ret": ["0"] }, denied("access"), unchanged),
    async run(f) {
      const { mw, key } = await type1Window(f);
      f.release("dealloc", mw);
      await f.write("access", { key });
      f.data();
    },
  },
  {
    id: "mw1.dereg_mr_while_bound",
    title: "ibv_dereg_mr of an MR with a bound type 1 window fails; the window keeps working",
    rule: "10.6.7.2.6",
    level: "must",
    needs: MW1,
    setup: "bound type 1 window",
    provoke: "ibv_dereg_mr of the underlying MR, then WRITE through the window",
    expect: all({ "dereg.ret": NOT_OK }, granted("access"), written),
    async run(f) {
      const { mr, key } = await type1Window(f);
      f.release("dereg", mr);
      await f.write("access", { key });
      f.data();
    },
  },
  {
    id: "mw1.bind_through_other_pd_qp",
    title: "Binding a type 1 window through a QP of another PD is refused",
    rule: "C10-72",
    level: "must",
    needs: MW1,
    separatePd: true,
    setup: "requester and responder QPs in different PDs; MR and window in the responder's PD",
    provoke: "ibv_bind_mw on the requester's QP (other PD), then (recovered) WRITE with the window's key",
    expect: rejected("bind", denied("after"), unchanged),
    async run(f) {
      const mr = f.targetMr();
      const mw = f.mw(1);
      await f.bind1("bind", { mw, mr, ...WIN }, { via: "A" });
      await refusedKeyGrantsNothing(f, mw.rkey);
    },
  },
];
