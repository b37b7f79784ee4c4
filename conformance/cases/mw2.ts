// Type 2 memory windows (IBV_WR_BIND_MW): invalidation by LOCAL_INV and SEND_WITH_INV and what the key is
// worth afterwards, the bind rules (o10-37.2.30/40, C10-72…75), ibv_inc_rkey, type 2B QP association.
import { Access, incRkey } from "../../ffi/mod.ts";
import { RW } from "../fixture.ts";
import type { CaseDef } from "../model.ts";
import {
  all,
  denied,
  granted,
  localInvFailed,
  localInvThenWrite,
  OK,
  refusedBind,
  refusedKeyGrantsNothing,
  rejected,
  sendInvRefused,
  type2Window,
  unchanged,
  WIN,
  windowCases,
  writeChecked,
  writeThroughWindow,
  written,
} from "./shared.ts";

const MW2 = ["MW2"] as const;
const INV = ["MW2", "MGT_EXT"] as const;
const invOk = { "inv.ret": ["0"], "inv.wc": [OK] };

const same = windowCases(2);

export const mw2Cases: CaseDef[] = [
  same.bindAccess({
    id: "mw2.bind_access",
    title: "A type 2 window bound by IBV_WR_BIND_MW takes an RDMA WRITE (control)",
    setup: "target MR with MW_BIND; type 2 window bound on qpB with key1 = ibv_inc_rkey(allocated rkey)",
    provoke: "RDMA WRITE of 64 bytes through key1",
  }),
  {
    id: "mw2.local_inv_then_access",
    title: "After LOCAL_INV of a type 2 window its key is refused",
    rule: "vol1.invalidate",
    level: "must",
    needs: INV,
    setup: "bound type 2 window",
    provoke: "IBV_WR_LOCAL_INV of key1 on qpB, then RDMA WRITE with key1",
    expect: all(invOk, denied("access"), unchanged),
    run: writeThroughWindow(2, { act: (f, { key }) => f.localInv("inv", key) }),
  },
  {
    id: "mw2.local_inv_then_read",
    title: "After LOCAL_INV of a type 2 window an RDMA READ with its key is refused",
    rule: "vol1.invalidate",
    level: "must",
    needs: INV,
    setup: "bound type 2 window with REMOTE_READ",
    provoke: "IBV_WR_LOCAL_INV of key1, then RDMA READ with key1",
    expect: all(invOk, denied("access"), { "access.data": ["unchanged"] }),
    async run(f) {
      const { key } = await type2Window(f);
      await f.localInv("inv", key);
      await f.read("access", { key });
    },
  },
  {
    id: "mw2.send_inv_completion",
    title: "SEND_WITH_INV: the responder's completion carries IBV_WC_WITH_INV and the invalidated rkey",
    rule: "vol1.invalidate",
    level: "must",
    needs: INV,
    setup: "bound type 2 window on qpB; a receive posted on qpB",
    provoke: "IBV_WR_SEND_WITH_INV of key1 from qpA",
    expect: all(invOk, {
      "inv.resp": [OK],
      "inv.respOp": ["IBV_WC_RECV"],
      "inv.respFlags": ["WITH_INV"],
      "inv.invRkey": ["key1"],
    }),
    async run(f) {
      const { key } = await type2Window(f);
      await f.sendInv("inv", key);
    },
  },
  {
    id: "mw2.send_inv_then_access",
    title: "Once the invalidate completion is seen, the key is refused (no race window)",
    rule: "vol1.invalidate",
    level: "must",
    needs: INV,
    setup: "bound type 2 window on qpB",
    provoke:
      "SEND_WITH_INV of key1; as soon as the responder's receive completion is polled, RDMA READ with key1",
    expect: all(invOk, { "inv.respFlags": ["WITH_INV"] }, denied("access"), { "access.data": ["unchanged"] }),
    async run(f) {
      const { key } = await type2Window(f);
      await f.sendInv("inv", key);
      await f.read("access", { key });
    },
  },
  {
    id: "mw2.send_inv_chained_write",
    title: "A WRITE posted right behind SEND_WITH_INV on the same QP is refused",
    rule: "vol1.invalidate",
    level: "must",
    needs: INV,
    setup: "bound type 2 window on qpB",
    provoke: "one post of [SEND_WITH_INV key1, RDMA WRITE key1] on qpA (the responder handles them in order)",
    expect: all({ "chain.ret": ["0"], "chain.wc": [`${OK},IBV_WC_REM_ACCESS_ERR`] }, unchanged),
    async run(f) {
      const { key } = await type2Window(f);
      await f.post("chain", [f.sendInvOp(key), f.writeOp({ key })], "A");
      f.data();
    },
  },
  {
    id: "mw2.bind_not_free",
    title: "Binding a type 2 window that is still bound is refused",
    rule: "o10-37.2.30",
    level: "must",
    needs: MW2,
    setup: "type 2 window bound with key1",
    provoke:
      "IBV_WR_BIND_MW again with key2 = ibv_inc_rkey(key1) (no invalidate), then (recovered) WRITE with key2",
    expect: rejected("bind", denied("after"), unchanged),
    async run(f) {
      const { mr, mw, key } = await type2Window(f);
      const key2 = f.name(incRkey(key), "key2");
      await f.bind2("bind", { mw, key: key2, mr, ...WIN });
      await refusedKeyGrantsNothing(f, key2);
    },
  },
  {
    id: "mw2.zero_length_bind",
    title: "A zero-length type 2 bind is refused",
    rule: "o10-37.2.40",
    level: "must",
    needs: MW2,
    setup: "target MR with MW_BIND, a free type 2 window",
    provoke: "IBV_WR_BIND_MW with length 0, then (recovered) WRITE with that key",
    expect: rejected("bind", denied("after"), unchanged),
    run: refusedBind(2, { len: 0 }),
  },
  same.bindBeyondMr({
    id: "mw2.bind_beyond_mr",
    title: "A type 2 bind reaching past the MR's end is refused",
    setup: "target MR with MW_BIND, a free type 2 window",
    provoke: "IBV_WR_BIND_MW over [MR end − 2 KiB, MR end + 2 KiB), then (recovered) WRITE there",
  }),
  same.mrWithoutMwBind({
    id: "mw2.mr_without_mw_bind",
    title: "Binding a type 2 window to an MR without MW_BIND is refused",
    setup: "target MR without MW_BIND, a free type 2 window",
    provoke: "IBV_WR_BIND_MW, then (recovered) WRITE with that key",
  }),
  same.writableWindowWithoutLocalWrite({
    id: "mw2.writable_window_without_local_write",
    title: "A writable type 2 window on an MR without LOCAL_WRITE is refused",
    setup: "target MR with REMOTE_READ|MW_BIND only",
    provoke: "IBV_WR_BIND_MW with REMOTE_WRITE, then (recovered) WRITE with that key",
  }),
  same.bindThroughOtherPdQp({
    id: "mw2.bind_through_other_pd_qp",
    title: "Binding a type 2 window through a QP of another PD is refused",
    setup: "requester and responder in different PDs; MR and window in the responder's PD",
    provoke: "IBV_WR_BIND_MW posted on the requester's QP (other PD), then (recovered) WRITE with that key",
  }),
  {
    id: "mw2.inc_rkey_stale_key",
    title: "After invalidate and a rebind with ibv_inc_rkey, the old key is refused and the new one works",
    rule: "man.ibv_inc_rkey",
    level: "must",
    needs: INV,
    setup: "type 2 window bound with key1, LOCAL_INV, bound again with key2 = ibv_inc_rkey(key1)",
    provoke: "WRITE with key2 (must land), then WRITE with key1",
    expect: all(invOk, { rebind: ["ok"] }, granted("new"), denied("old"), written),
    async run(f) {
      const { mr, mw, key } = await type2Window(f);
      await f.localInv("inv", key);
      const key2 = f.name(incRkey(key), "key2");
      await f.bind2("rebind", { mw, key: key2, mr, ...WIN }, { must: true });
      await f.write("new", { key: key2 });
      await writeChecked(f, { key }, "old");
    },
  },
  {
    id: "mw2.rebind_same_key",
    title: "Rebinding a type 2 window with the key it had before the invalidate",
    rule: "man.ibv_inc_rkey",
    level: "observe",
    needs: INV,
    setup: "type 2 window bound with key1, then LOCAL_INV",
    provoke: "IBV_WR_BIND_MW with key1 again, then WRITE with key1",
    async run(f) {
      const { mr, mw, key } = await type2Window(f);
      await f.localInv("inv", key);
      if (await f.bind2("rebind", { mw, key, mr, ...WIN })) await f.write("access", { key });
      f.data();
    },
  },
  {
    id: "mw2.type2b_other_qp",
    title: "Access to a type 2B window arriving on another QP than the one it was bound on is refused",
    rule: "vol1.rkey-invalid",
    level: "must",
    needs: ["MW2B"],
    setup: "type 2 window bound on qpB; a second pair qpC → qpD on the same PDs",
    provoke: "RDMA WRITE with key1 from qpC to qpD",
    expect: all(denied("access"), unchanged),
    async run(f) {
      await writeChecked(f, { key: (await type2Window(f)).key }, "access", "C");
    },
  },
  {
    id: "mw2.local_inv_twice",
    title: "LOCAL_INV twice: the second finds the window free; the key stays refused",
    rule: "vol1.invalidate",
    level: "must",
    needs: INV,
    setup: "bound type 2 window; LOCAL_INV of key1 on qpB; a second QP pair",
    provoke: "LOCAL_INV of key1 again on the spare QP (status recorded), then WRITE qpA → qpB with key1",
    expect: all(invOk, denied("access"), unchanged),
    run: writeThroughWindow(2, {
      act: async (f, { key }) => {
        await f.localInv("inv", key);
        await f.localInv("inv2", key, "D");
      },
    }),
  },
  {
    id: "mw2.local_inv_wrong_key",
    title: "LOCAL_INV with the wrong key byte fails and leaves the window bound",
    rule: "vol1.invalidate",
    level: "must",
    needs: INV,
    setup: "type 2 window bound with key1; a second QP pair on the same PDs",
    provoke: "LOCAL_INV of ibv_inc_rkey(key1) on the spare QP, then WRITE qpA → qpB with key1",
    expect: all(localInvFailed, granted("after"), written),
    async run(f) {
      const { key } = await type2Window(f);
      await localInvThenWrite(f, key, f.name(incRkey(key), "wrong"));
    },
  },
  {
    id: "mw2.send_inv_other_pd",
    title: "SEND_WITH_INV of a window of another PD is refused by the responder",
    rule: "vol1.invalidate",
    level: "must",
    needs: INV,
    separatePd: true,
    setup: "requester and responder in different PDs; a type 2 window of the requester's PD bound on qpA",
    provoke:
      "SEND_WITH_INV of that window's key from qpA to qpB (whose PD does not own it), then (recovered " +
      "if needed) WRITE qpB → qpA through the window, which must still be bound",
    expect: all(sendInvRefused, granted("after"), written),
    async run(f) {
      const mr = f.targetMr(RW | Access.MW_BIND, { side: "A" });
      const mw = f.mw(2, "A");
      const key = f.name(incRkey(mw.rkey), "key1");
      await f.bind2("setup.bind", { mw, key, mr, ...WIN }, { via: "A", must: true });
      await f.sendInv("inv", key);
      f.states();
      if (f.facts.qpA !== "RTS" || f.facts.qpB !== "RTS") f.recover();
      await writeChecked(f, { key }, "after", "B");
    },
  },
  same.deallocThenAccess({
    id: "mw2.dealloc_while_bound",
    title: "After ibv_dealloc_mw of a bound type 2 window its key is refused",
    setup: "bound type 2 window",
    provoke: "ibv_dealloc_mw (no invalidate first), then WRITE with key1",
  }),
  same.deregMrWhileBound({
    id: "mw2.dereg_mr_while_bound",
    title: "ibv_dereg_mr of an MR with a bound type 2 window fails; the window keeps working",
    setup: "bound type 2 window",
    provoke: "ibv_dereg_mr of the underlying MR, then WRITE with key1",
  }),
  {
    id: "mw2.ibv_bind_mw_on_type2",
    title: "ibv_bind_mw on a type 2 window is refused (it is for type 1 only)",
    rule: "man.ibv_bind_mw",
    level: "must",
    needs: MW2,
    setup: "target MR with MW_BIND, a free type 2 window",
    provoke: "ibv_bind_mw(type 2 window), then (recovered) WRITE with the window's key",
    expect: rejected("bind", denied("after"), unchanged),
    async run(f) {
      const mr = f.targetMr();
      const mw = f.mw(2);
      await f.bind1("bind", { mw, mr, ...WIN });
      await refusedKeyGrantsNothing(f, mw.rkey);
    },
  },
  same.readOnlyWindowWritten({
    id: "mw2.read_only_window_written",
    title: "An RDMA WRITE through a read-only type 2 window is refused",
    setup: "type 2 window with REMOTE_READ only",
    provoke: "RDMA WRITE with key1",
  }),
  same.narrowerThanAccess({
    id: "mw2.narrower_than_access",
    title: "A WRITE crossing the end of a type 2 window (inside the MR) is refused",
    setup: "type 2 window over the MR's first 4 KiB",
    provoke: "RDMA WRITE of 64 bytes starting 32 bytes before the window's end",
  }),
  {
    id: "mw2.zero_based",
    title: "A zero-based type 2 window: is it supported, and where does offset 0 land?",
    rule: "o10-36.2.2",
    level: "observe",
    needs: MW2,
    setup: "target MR with MW_BIND, a free type 2 window",
    provoke: "IBV_WR_BIND_MW with IBV_ACCESS_ZERO_BASED, then WRITE at remote address 0",
    async run(f) {
      const mr = f.targetMr();
      const mw = f.mw(2);
      const key = f.name(incRkey(mw.rkey), "key1");
      if (await f.bind2("bind", { mw, key, mr, ...WIN, access: RW | Access.ZERO_BASED })) {
        await f.write("access", { key, raddr: 0n });
      }
      f.data();
    },
  },
];
