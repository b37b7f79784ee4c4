// Type 1 memory windows (ibv_bind_mw): access, unbind, rebind, the bind rules C10-72…75 and o10-36.2.2,
// invalidation that must not work on them (o10-37.2.26), dealloc, and dereg of the MR under a window.
import { Access } from "../../ffi/mod.ts";
import { RW } from "../fixture.ts";
import type { CaseDef } from "../model.ts";
import {
  all,
  denied,
  granted,
  localInvFailed,
  localInvThenWrite,
  rejected,
  sendInvRefused,
  sendInvThenWrite,
  type1Window,
  unchanged,
  WIN,
  windowCases,
  writeChecked,
  writeThroughWindow,
  written,
} from "./shared.ts";

const MW1 = ["MW1"] as const;
const same = windowCases(1);

export const mw1Cases: CaseDef[] = [
  same.bindAccess({
    id: "mw1.bind_access",
    title: "A bound type 1 window takes an RDMA WRITE through its rkey (control)",
    setup: "target MR with MW_BIND; type 1 window bound over its first 4 KiB with ibv_bind_mw on qpB",
    provoke: "RDMA WRITE of 64 bytes through the window's rkey",
  }),
  {
    id: "mw1.unbind_then_access",
    title: "After a zero-length bind (unbind) the window's old rkey is refused",
    rule: "man.ibv_bind_mw",
    level: "must",
    needs: MW1,
    setup: "bound type 1 window",
    provoke: "ibv_bind_mw with length 0, then RDMA WRITE with the old rkey",
    expect: all({ unbind: ["ok"] }, denied("access"), unchanged),
    run: writeThroughWindow(1, { act: (f, { mr, mw }) => f.bind1("unbind", { mw, mr, len: 0 }) }),
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
      await writeChecked(f, { key }, "old");
    },
  },
  same.bindBeyondMr({
    id: "mw1.bind_beyond_mr",
    title: "A type 1 bind reaching past the MR's end is refused and grants nothing",
    setup: "target MR with MW_BIND, type 1 window",
    provoke:
      "ibv_bind_mw over [MR end − 2 KiB, MR end + 2 KiB), then (recovered) WRITE there with the window's key",
  }),
  same.mrWithoutMwBind({
    id: "mw1.mr_without_mw_bind",
    title: "Binding a type 1 window to an MR registered without MW_BIND is refused",
    setup: "target MR with LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ (no MW_BIND)",
    provoke: "ibv_bind_mw, then (recovered) WRITE with the window's key",
  }),
  same.writableWindowWithoutLocalWrite({
    id: "mw1.writable_window_without_local_write",
    title: "A writable type 1 window on an MR without LOCAL_WRITE is refused",
    setup: "target MR with REMOTE_READ|MW_BIND only",
    provoke: "ibv_bind_mw with REMOTE_WRITE, then (recovered) WRITE with the window's key",
  }),
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
      await writeChecked(f, { key: mw.rkey, raddr: 0n }, "after");
    },
  },
  same.narrowerThanAccess({
    id: "mw1.narrower_than_access",
    title: "A WRITE crossing the end of a type 1 window (inside the MR) is refused",
    setup: "type 1 window over the MR's first 4 KiB (the MR goes on)",
    provoke: "RDMA WRITE of 64 bytes starting 32 bytes before the window's end",
  }),
  same.readOnlyWindowWritten({
    id: "mw1.read_only_window_written",
    title: "An RDMA WRITE through a read-only type 1 window is refused",
    setup: "type 1 window with REMOTE_READ only (the MR allows writes)",
    provoke: "RDMA WRITE through the window's rkey",
  }),
  {
    id: "mw1.local_inv",
    title: "LOCAL_INV of a type 1 window's rkey fails and the window stays bound",
    rule: "o10-37.2.26",
    level: "must",
    needs: [...MW1, "MGT_EXT"],
    setup: "bound type 1 window; a second QP pair on the same PDs",
    provoke: "IBV_WR_LOCAL_INV of the window's rkey on the spare QP, then WRITE qpA → qpB through the window",
    expect: all(localInvFailed, granted("after"), written),
    async run(f) {
      await localInvThenWrite(f, (await type1Window(f)).key);
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
    expect: all(sendInvRefused, granted("after"), written),
    async run(f) {
      await sendInvThenWrite(f, (await type1Window(f)).key);
    },
  },
  same.deallocThenAccess({
    id: "mw1.dealloc_then_access",
    title: "After ibv_dealloc_mw of a bound type 1 window its rkey is refused",
    setup: "bound type 1 window",
    provoke: "ibv_dealloc_mw, then RDMA WRITE with its rkey",
  }),
  same.deregMrWhileBound({
    id: "mw1.dereg_mr_while_bound",
    title: "ibv_dereg_mr of an MR with a bound type 1 window fails; the window keeps working",
    setup: "bound type 1 window",
    provoke: "ibv_dereg_mr of the underlying MR, then WRITE through the window",
  }),
  same.bindThroughOtherPdQp({
    id: "mw1.bind_through_other_pd_qp",
    title: "Binding a type 1 window through a QP of another PD is refused",
    setup: "requester and responder QPs in different PDs; MR and window in the responder's PD",
    provoke: "ibv_bind_mw on the requester's QP (other PD), then (recovered) WRITE with the window's key",
  }),
];
