// Type 2 memory windows (IBV_WR_BIND_MW): invalidation by LOCAL_INV and SEND_WITH_INV and what the key is
// worth afterwards (wrong key, other PD, other QP, twice), the bind rules (o10-37.2.30/40, C10-72…75),
// ibv_inc_rkey, zero-based windows, bounds and rights (WRITE, READ, atomics), type 2B QP association (also
// when that QP is destroyed), window bookkeeping, and key reuse.
import { Access, fastVerbs, incRkey, type MR, type MW } from "../../ffi/mod.ts";
import { type Fixture, RW, T } from "../fixture/mod.ts";
import type { CaseDef } from "../model.ts";
import {
  all,
  denied,
  granted,
  LOCAL_INV_FAIL,
  localInvFailed,
  localInvThenWrite,
  NOT_OK,
  OK,
  refusedBind,
  refusedKeyGrantsNothing,
  rejected,
  SEND_INV_FAIL,
  sendInvRefused,
  sendInvThenWrite,
  type2Window,
  unchanged,
  WIN,
  windowCases,
  writeChecked,
  writeThroughWindow,
  written,
} from "./shared.ts";
import { keyReuseCase } from "./reuse.ts";

const MW2 = ["MW2"] as const;
const INV = ["MW2", "MGT_EXT"] as const;
const invOk = { "inv.ret": ["0"], "inv.wc": [OK] };
/**
 * Binds the window again with key2 = ibv_inc_rkey(key1) (`must`: or the case fails; otherwise a refusal is
 * recorded and the QPs recovered), then WRITE "new" with key2 and "old" with key1 (then the data verdict).
 */
async function rebindNewOld(f: Fixture, w: { mr: MR; mw: MW; key: number }, must = false): Promise<void> {
  const key2 = f.name(incRkey(w.key), "key2");
  if (!await f.bind2("rebind", { mw: w.mw, key: key2, mr: w.mr, ...WIN }, { must })) f.recover();
  await f.write("new", { key: key2 });
  await writeChecked(f, { key: w.key }, "old");
}

/** Why a second invalidation of a free type 2 window is run only where a kernel crash is survived. */
const INVALIDATE_FREE_RISK =
  "invalidating a type 2 window that is already free has panicked rdma_rxe (NULL dereference in __rxe_put)";

const same = windowCases(2);

/** Type 2 memory windows: IBV_WR_BIND_MW, QP association, invalidation. */
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
    // The WITH_INV flag is mw2.send_inv_completion's to check: here only the key's fate counts.
    expect: all(invOk, denied("access"), { "access.data": ["unchanged"] }),
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
      const w = await type2Window(f);
      await f.localInv("inv", w.key);
      await rebindNewOld(f, w, true);
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
  same.writeViaOtherQp({
    id: "mw2.type2b_other_qp",
    title: "Access to a type 2B window arriving on another QP than the one it was bound on is refused",
    setup: "type 2 window bound on qpB; a second pair qpC → qpD on the same PDs",
    provoke: "RDMA WRITE with key1 from qpC to qpD",
  }),
  {
    id: "mw2.local_inv_twice",
    title: "LOCAL_INV twice: the second finds the window free and is refused; the key stays refused",
    rule: "vol1.invalidate",
    level: "must",
    needs: INV,
    risk: INVALIDATE_FREE_RISK,
    setup: "bound type 2 window; LOCAL_INV of key1 on qpB; a second QP pair",
    provoke:
      "LOCAL_INV of key1 again on the spare QP (refused: the window is free), then WRITE qpA → qpB with key1",
    // The second LOCAL_INV is refused when posted or by its completion (the fuzzer's localInv.mw2.free).
    expect: [
      ...all(invOk, { "inv2.ret": NOT_OK }, denied("access"), unchanged),
      ...all(invOk, { "inv2.ret": ["0"], "inv2.wc": LOCAL_INV_FAIL }, denied("access"), unchanged),
    ],
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
    setup: "type 2 window bound with key1 on qpB",
    provoke:
      "LOCAL_INV of ibv_inc_rkey(key1) on qpB (the window's own QP), then (recovered) WRITE qpA → qpB with key1",
    expect: all(localInvFailed, granted("after"), written),
    async run(f) {
      const { key } = await type2Window(f);
      await localInvThenWrite(f, key, f.name(incRkey(key), "wrong"), "B");
    },
  },
  {
    id: "mw2.send_inv_other_pd",
    title: "SEND_WITH_INV of a window of another PD is refused by the responder",
    rule: "10.7.inv-pd",
    also: ["9.9.3.class-c"],
    level: "must",
    needs: INV,
    separatePd: true,
    setup: "requester and responder in different PDs; a type 2 window of the requester's PD bound on qpA",
    provoke:
      "SEND_WITH_INV of that window's key from qpA to qpB (whose PD does not own it), then (recovered " +
      "if needed) WRITE qpB → qpA through the window, which must still be bound. A window of another PD is " +
      "necessarily bound on another QP too; mw2.send_inv_other_qp varies the QP alone",
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
    setup:
      "target MR with MW_BIND, a free type 2 window; fact verbs.path says which call ran: native = libibverbs' " +
      "inline ibv_bind_mw, which refuses a type 2 window itself (EINVAL) and so tests libibverbs; fnptr = " +
      "memreg calls the provider's bind_mw directly, which tests the provider",
    provoke: "ibv_bind_mw(type 2 window), then (recovered) WRITE with the window's key",
    expect: rejected("bind", denied("after"), unchanged),
    async run(f) {
      f.fact("verbs.path", fastVerbs().kind);
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
    title: "A zero-based type 2 window: remote address 0 lands at the window's start",
    rule: "10.7.zero-based",
    level: "must",
    needs: INV,
    setup: "target MR with MW_BIND, a free type 2 window",
    provoke:
      "IBV_WR_BIND_MW with IBV_ACCESS_ZERO_BASED over the MR's first 4 KiB, then WRITE at remote address 0",
    expect: all({ bind: ["ok"] }, granted("access"), written),
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
  {
    id: "mw2.zero_based_past_mr",
    title: "A zero-based type 2 bind whose length reaches past the MR's end is refused",
    rule: "C10-75",
    also: ["11.6.2.mw-bind"],
    level: "must",
    needs: INV,
    setup: "target MR with MW_BIND (8 KiB), a free type 2 window",
    provoke:
      "IBV_WR_BIND_MW with IBV_ACCESS_ZERO_BASED at [MR end − 2 KiB, +4 KiB) (shorter than the MR, but " +
      "running 2 KiB past its end), then (recovered) WRITE at remote address 0 with that key",
    expect: rejected("bind", denied("after"), unchanged),
    run: refusedBind(2, { off: T.mrOff + T.mrLen - 2048, len: 4096, access: RW | Access.ZERO_BASED }),
  },
  same.bindBeforeMr({
    id: "mw2.bind_before_mr",
    title: "A type 2 bind starting before the MR's start is refused",
    setup: "target MR with MW_BIND, a free type 2 window",
    provoke: "IBV_WR_BIND_MW over [MR start − 2 KiB, MR start + 2 KiB), then (recovered) WRITE there",
  }),
  same.bindMrOtherPd({
    id: "mw2.bind_mr_other_pd",
    title: "Binding a type 2 window to an MR of another PD is refused (C10-72's MR half)",
    setup: "separate PDs: the window (and qpB) in the responder's PD, the MR in the requester's PD",
    provoke: "IBV_WR_BIND_MW on qpB, then (recovered) WRITE qpA → qpB with that key",
  }),
  same.readPastWindow({
    id: "mw2.read_past_window",
    title: "An RDMA READ crossing the end of a type 2 window (inside the MR) is refused",
    setup: "type 2 window over the MR's first 4 KiB",
    provoke: "RDMA READ of 64 bytes starting 32 bytes before the window's end",
  }),
  same.outsideWindowWrite({
    id: "mw2.outside_window_write",
    title: "A WRITE through a type 2 window's key wholly outside the window (inside its MR) is refused",
    setup: "type 2 window over the first 4 KiB of an 8 KiB MR",
    provoke: "RDMA WRITE of 64 bytes at the MR's last 64 bytes (4 KiB past the window's end)",
  }),
  same.outsideWindowRead({
    id: "mw2.outside_window_read",
    title: "A READ through a type 2 window's key wholly outside the window (inside its MR) is refused",
    setup: "type 2 window over the first 4 KiB of an 8 KiB MR",
    provoke: "RDMA READ of 64 bytes at the MR's last 64 bytes",
  }),
  same.beforeWindowWrite({
    id: "mw2.before_window_write",
    title: "A WRITE through a type 2 window's key before the window's start (inside its MR) is refused",
    setup: "type 2 window over the second 4 KiB of an 8 KiB MR",
    provoke: "RDMA WRITE of 64 bytes at the MR's start (4 KiB before the window)",
  }),
  same.atomicGranted({
    id: "mw2.atomic_granted",
    title:
      "FETCH_AND_ADD through a type 2 window with REMOTE_ATOMIC lands and returns the old value (control)",
    setup: "type 2 window with LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ|REMOTE_ATOMIC over the MR's first 4 KiB",
    provoke: "ATOMIC_FETCH_AND_ADD(+1) of the 8 bytes at the window's start",
  }),
  same.atomicWithoutRight({
    id: "mw2.atomic_without_right",
    title: "An atomic through a type 2 window without REMOTE_ATOMIC is refused",
    setup: "type 2 window with REMOTE_WRITE|REMOTE_READ only",
    provoke: "ATOMIC_FETCH_AND_ADD at the window's start",
  }),
  same.atomicReadOnly({
    id: "mw2.atomic_read_only",
    title: "An atomic through a read-only type 2 window is refused",
    setup: "type 2 window with REMOTE_READ only",
    provoke: "ATOMIC_FETCH_AND_ADD at the window's start",
  }),
  same.atomicStraddle({
    id: "mw2.atomic_straddle",
    title: "An aligned atomic crossing the end of a type 2 window is refused",
    setup: "type 2 window of 4092 bytes with REMOTE_ATOMIC (the MR goes on)",
    provoke: "ATOMIC_FETCH_AND_ADD at window start + 4088 (its 8 bytes end 4 bytes past the window)",
  }),
  same.atomicMisaligned({
    id: "mw2.atomic_misaligned",
    title: "A misaligned atomic through a type 2 window is refused",
    setup: "type 2 window with REMOTE_ATOMIC",
    provoke: "ATOMIC_FETCH_AND_ADD at window start + 4 (not 8-byte aligned)",
  }),
  same.atomicWindowWithoutLocalWrite({
    id: "mw2.atomic_window_without_local_write",
    title: "A type 2 window granting REMOTE_ATOMIC on an MR without LOCAL_WRITE is refused",
    setup: "target MR with REMOTE_READ|MW_BIND only, a free type 2 window",
    provoke: "IBV_WR_BIND_MW with REMOTE_ATOMIC|REMOTE_READ, then (recovered) WRITE with that key",
  }),
  {
    id: "mw2.send_inv_twice",
    title: "SEND_WITH_INV of a type 2 window that is already invalidated is refused; the key stays refused",
    rule: "vol1.invalidate",
    also: ["9.9.3.class-c"],
    level: "must",
    needs: INV,
    risk: INVALIDATE_FREE_RISK,
    setup: "bound type 2 window; SEND_WITH_INV of key1 (completes: the window is free)",
    provoke:
      "SEND_WITH_INV of key1 again (the responder finds the window free), then (recovered) WRITE with key1",
    expect: all(invOk, { "inv2.ret": ["0"], "inv2.wc": SEND_INV_FAIL }, denied("access"), unchanged),
    async run(f) {
      const { key } = await type2Window(f);
      await f.sendInv("inv", key);
      await f.sendInv("inv2", key);
      f.recover();
      await writeChecked(f, { key });
    },
  },
  {
    id: "mw2.send_inv_wrong_key",
    title: "SEND_WITH_INV with the wrong key byte is refused and leaves the window bound",
    rule: "vol1.invalidate",
    also: ["9.9.3.class-c"],
    level: "must",
    needs: INV,
    setup: "type 2 window bound with key1 on qpB; a receive posted on qpB",
    provoke: "SEND_WITH_INV of ibv_inc_rkey(key1) from qpA, then (recovered) WRITE with key1",
    expect: all(sendInvRefused, granted("after"), written),
    async run(f) {
      const { key } = await type2Window(f);
      await sendInvThenWrite(f, key, f.name(incRkey(key), "wrong"));
    },
  },
  {
    id: "mw2.send_inv_other_qp",
    title: "SEND_WITH_INV arriving on a QP of the same PD that is not the type 2B window's QP is refused",
    rule: "10.6.7.2.2b",
    also: ["9.9.3.class-c"],
    level: "must",
    needs: [...INV, "MW2B"],
    setup: "type 2 window bound on qpB; a second pair qpC → qpD on the same PD",
    provoke:
      "SEND_WITH_INV of key1 from qpC to qpD (same PD, not the window's QP), then WRITE qpA → qpB with key1",
    expect: all(sendInvRefused, granted("after"), written),
    async run(f) {
      const { key } = await type2Window(f);
      await f.sendInv("inv", key, "C");
      await writeChecked(f, { key }, "after");
    },
  },
  {
    id: "mw2.local_inv_other_pd",
    title: "LOCAL_INV of a window of another PD fails and leaves the window bound",
    rule: "10.7.inv-pd",
    level: "must",
    needs: INV,
    separatePd: true,
    setup: "separate PDs; a type 2 window of the responder's PD bound on qpB",
    provoke: "LOCAL_INV of key1 posted on qpA (the other PD), then (recovered) WRITE qpA → qpB with key1",
    expect: all(localInvFailed, granted("after"), written),
    async run(f) {
      const { key } = await type2Window(f);
      await localInvThenWrite(f, key, key, "A");
    },
  },
  same.localInvOnOtherQp({
    id: "mw2.local_inv_other_qp",
    title: "LOCAL_INV of a type 2B window from a QP other than its own fails and leaves it bound",
    setup: "type 2 window bound on qpB; a second pair qpC → qpD on the same PD",
    provoke: "LOCAL_INV of key1 posted on qpD (same PD, not the window's QP), then WRITE qpA → qpB with key1",
  }),
  {
    id: "mw2.destroy_bound_qp",
    title:
      "Destroying the QP a type 2B window is bound to frees the window: it grants nothing and binds again",
    rule: "10.6.7.2.2b",
    level: "must",
    needs: [...INV, "MW2B"],
    // rdma_rxe (6.1) blocks in ibv_destroy_qp for about 50 s while the window holds the QP.
    deadlineMs: 120_000,
    setup: "type 2 window bound with key1 on qpD (the spare pair's responder)",
    provoke:
      "ibv_destroy_qp(qpD); then IBV_WR_BIND_MW of the window with key2 on qpB (it must be free again), " +
      "WRITE qpA → qpB with key2 (must land) and with key1",
    expect: all({ "destroy.ret": ["0"], rebind: ["ok"] }, granted("new"), denied("old"), written),
    async run(f) {
      const w = await type2Window(f, RW, { via: "D" });
      f.destroyQp("destroy", "D");
      await rebindNewOld(f, w);
    },
  },
  same.deregAfterInvalidate({
    id: "mw2.dereg_after_invalidate",
    title: "Once its type 2 window is invalidated, the MR deregisters",
    setup: "bound type 2 window",
    provoke: "LOCAL_INV of key1, then ibv_dereg_mr of the MR",
  }),
  same.deregAfterDealloc({
    id: "mw2.dereg_after_dealloc",
    title: "Once its type 2 window is deallocated, the MR deregisters",
    setup: "bound type 2 window",
    provoke: "ibv_dealloc_mw (no invalidate), then ibv_dereg_mr of the MR",
  }),
  {
    id: "mw2.local_inv_mr_with_windows",
    title: "LOCAL_INV of the MR's rkey while a window is bound to it fails; MR and window keep working",
    rule: "10.7.inv-scope",
    level: "must",
    needs: INV,
    setup: "target MR from ibv_reg_mr with a type 2 window bound on qpB; a second pair on the same PD",
    provoke: "LOCAL_INV of the MR's rkey on the spare QP, then WRITE qpA → qpB through the window",
    expect: all(localInvFailed, granted("after"), written),
    async run(f) {
      const { mr, key } = await type2Window(f);
      await localInvThenWrite(f, key, mr.rkey);
    },
  },
  {
    id: "mw2.send_inv_mr_with_windows",
    title:
      "SEND_WITH_INV of the MR's rkey while a window is bound to it is refused; the window keeps working",
    rule: "10.7.inv-scope",
    also: ["9.9.3.class-c"],
    level: "must",
    needs: INV,
    setup: "target MR from ibv_reg_mr with a type 2 window bound on qpB; a receive posted on qpB",
    provoke: "SEND_WITH_INV of the MR's rkey from qpA, then (recovered) WRITE through the window",
    expect: all(sendInvRefused, granted("after"), written),
    async run(f) {
      const { mr, key } = await type2Window(f);
      await sendInvThenWrite(f, key, mr.rkey);
    },
  },
  same.deallocPdWithWindow({
    id: "mw2.dealloc_pd_with_window",
    title: "ibv_dealloc_pd of a PD that holds a type 2 window fails (EBUSY on Linux)",
    setup: "a PD of its own with a type 2 window allocated in it",
    provoke: "ibv_dealloc_pd (must fail), ibv_dealloc_mw, ibv_dealloc_pd again (must succeed)",
  }),
  keyReuseCase({
    id: "mw2.key_reuse_after_dealloc",
    title: "After ibv_dealloc_mw, a recycled type 2 window never brings back the old key",
    kind: "mw2",
    needs: MW2,
  }),
  same.reach({
    id: "mw2.window_reach",
    title: "A type 2 window's key reaches only the window: probes inside, around it and across the MR's end",
    setup: "type 2 window over 4 KiB in the middle of an 8 KiB MR (2 KiB of MR either side)",
    provoke:
      "8-byte RDMA WRITEs through the window's key at the MR's start, just before the window, its first and " +
      "last bytes, just after it, the MR's last bytes and across the MR's end (granted or denied each)",
  }),
];
