// Type 1 memory windows (ibv_bind_mw): access, unbind, rebind, the bind rules C10-72…75 and o10-36.2.2,
// invalidation that must not work on them (o10-37.2.26), window bounds and rights (WRITE, READ, atomics),
// libibverbs' own checks, dealloc, dereg of the MR under a window, and key reuse after dealloc.
import { Access, fastVerbs } from "../../ffi/mod.ts";
import { RW } from "../fixture/mod.ts";
import type { CaseDef } from "../model.ts";
import {
  all,
  denied,
  granted,
  refusedKeyGrantsNothing,
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
import { keyReuseCase } from "./reuse.ts";
import { withBindLayer } from "./entry.ts";

const MW1 = ["MW1"] as const;
const same = windowCases(1);

/** Type 1 memory windows: ibv_bind_mw, unbind, access through the window. */
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
    // ibv_bind_mw(3) offers IBV_ACCESS_ZERO_BASED to type 1 binds; IBTA forbids it and decides the case.
    also: ["man.ibv_bind_mw.zero-based"],
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
  same.localInvOnOtherQp({
    id: "mw1.local_inv",
    title: "LOCAL_INV of a type 1 window's rkey fails and the window stays bound",
    setup: "bound type 1 window; a second QP pair on the same PDs",
    provoke: "IBV_WR_LOCAL_INV of the window's rkey on the spare QP, then WRITE qpA → qpB through the window",
  }),
  {
    id: "mw1.send_inv",
    title: "SEND_WITH_INV of a type 1 window's rkey is refused and the window stays bound",
    rule: "o10-37.2.26",
    level: "must",
    needs: [...MW1, "MGT_EXT"],
    setup: "bound type 1 window; a receive posted on qpB",
    provoke: "IBV_WR_SEND_WITH_INV of the window's rkey, then (recovered) WRITE through the window",
    also: ["9.9.3.class-c"],
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
  same.bindBeforeMr({
    id: "mw1.bind_before_mr",
    title: "A type 1 bind starting before the MR's start is refused and grants nothing",
    setup: "target MR with MW_BIND, type 1 window",
    provoke: "ibv_bind_mw over [MR start − 2 KiB, MR start + 2 KiB), then (recovered) WRITE there",
  }),
  same.readPastWindow({
    id: "mw1.read_past_window",
    title: "An RDMA READ crossing the end of a type 1 window (inside the MR) is refused",
    setup: "type 1 window over the MR's first 4 KiB (the MR goes on)",
    provoke: "RDMA READ of 64 bytes starting 32 bytes before the window's end",
  }),
  same.outsideWindowWrite({
    id: "mw1.outside_window_write",
    title: "A WRITE through a type 1 window's key wholly outside the window (inside its MR) is refused",
    setup: "type 1 window over the first 4 KiB of an 8 KiB MR",
    provoke: "RDMA WRITE of 64 bytes at the MR's last 64 bytes (4 KiB past the window's end)",
  }),
  same.outsideWindowRead({
    id: "mw1.outside_window_read",
    title: "A READ through a type 1 window's key wholly outside the window (inside its MR) is refused",
    setup: "type 1 window over the first 4 KiB of an 8 KiB MR",
    provoke: "RDMA READ of 64 bytes at the MR's last 64 bytes",
  }),
  same.beforeWindowWrite({
    id: "mw1.before_window_write",
    title: "A WRITE through a type 1 window's key before the window's start (inside its MR) is refused",
    setup: "type 1 window over the second 4 KiB of an 8 KiB MR",
    provoke: "RDMA WRITE of 64 bytes at the MR's start (4 KiB before the window)",
  }),
  same.atomicGranted({
    id: "mw1.atomic_granted",
    title:
      "FETCH_AND_ADD through a type 1 window with REMOTE_ATOMIC lands and returns the old value (control)",
    setup: "type 1 window with LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ|REMOTE_ATOMIC over the MR's first 4 KiB",
    provoke: "ATOMIC_FETCH_AND_ADD(+1) of the 8 bytes at the window's start",
  }),
  same.atomicWithoutRight({
    id: "mw1.atomic_without_right",
    title: "An atomic through a type 1 window without REMOTE_ATOMIC is refused",
    setup: "type 1 window with REMOTE_WRITE|REMOTE_READ only",
    provoke: "ATOMIC_FETCH_AND_ADD at the window's start",
  }),
  same.atomicReadOnly({
    id: "mw1.atomic_read_only",
    title: "An atomic through a read-only type 1 window is refused",
    setup: "type 1 window with REMOTE_READ only",
    provoke: "ATOMIC_FETCH_AND_ADD at the window's start",
  }),
  same.atomicStraddle({
    id: "mw1.atomic_straddle",
    title: "An aligned atomic crossing the end of a type 1 window is refused",
    setup: "type 1 window of 4092 bytes with REMOTE_ATOMIC (the MR goes on)",
    provoke: "ATOMIC_FETCH_AND_ADD at window start + 4088 (its 8 bytes end 4 bytes past the window)",
  }),
  same.atomicMisaligned({
    id: "mw1.atomic_misaligned",
    title: "A misaligned atomic through a type 1 window is refused",
    setup: "type 1 window with REMOTE_ATOMIC",
    provoke: "ATOMIC_FETCH_AND_ADD at window start + 4 (not 8-byte aligned)",
  }),
  same.atomicWindowWithoutLocalWrite({
    id: "mw1.atomic_window_without_local_write",
    title: "A type 1 window granting REMOTE_ATOMIC on an MR without LOCAL_WRITE is refused",
    setup: "target MR with REMOTE_READ|MW_BIND only",
    provoke: "ibv_bind_mw with REMOTE_ATOMIC|REMOTE_READ, then (recovered) WRITE with the window's key",
  }),
  same.writeViaOtherQp({
    id: "mw1.other_qp_same_pd",
    title: "A type 1 window is reachable through any QP of its PD (control for the type 2B case)",
    setup: "type 1 window bound on qpB; a second pair qpC → qpD on the same PD",
    provoke: "RDMA WRITE through the window's key from qpC to qpD",
  }),
  {
    id: "mw1.unbind_canonical",
    title: "The canonical unbind (mr NULL, addr 0, length 0) unbinds; the old key is refused",
    rule: "man.ibv_bind_mw.lib",
    level: "must",
    needs: MW1,
    isolate:
      "providers that read bind_info.mr->lkey unconditionally (rxe's user-space post_send) dereference NULL",
    setup: "bound type 1 window",
    provoke: "ibv_bind_mw with mr = NULL, addr = 0, length = 0, then RDMA WRITE with the old key",
    expect: all({ unbind: ["ok"] }, denied("access"), unchanged),
    run: writeThroughWindow(1, { act: (f, { mw }) => f.bind1("unbind", { mw, mr: null, nullRange: true }) }),
  },
  {
    id: "mw1.bind_null_mr_with_length",
    title: "ibv_bind_mw with a NULL MR and a non-zero length is refused",
    rule: "man.ibv_bind_mw.lib",
    level: "must",
    needs: MW1,
    setup: "a type 1 window (the target MR exists); fact verbs.path says which call ran",
    provoke:
      "ibv_bind_mw(mr = NULL, addr = the MR's start, length = 4 KiB), then (recovered) WRITE with the key. " +
      "On the native path libibverbs' inline ibv_bind_mw refuses it (EINVAL) before the provider; on the " +
      "UnsafeFnPointer path memreg calls the provider's bind_mw directly, so the provider is what is tested",
    expect: rejected("bind", denied("after"), unchanged),
    async run(f) {
      f.fact("verbs.path", fastVerbs().kind);
      f.targetMr();
      const mw = f.mw(1);
      await f.bind1("bind", { mw, mr: null, ...WIN });
      await refusedKeyGrantsNothing(f, mw.rkey);
    },
  },
  withBindLayer(same.bindMrOtherPd({
    id: "mw1.bind_mr_other_pd",
    title: "Binding a type 1 window to an MR of another PD is refused (libibverbs: EPERM)",
    setup:
      "separate PDs: the window in the responder's PD, the MR in the requester's; fact verbs.path (native: " +
      "libibverbs' inline check refuses it with EPERM; fnptr: the provider is called directly); fact " +
      "bind.layer says which layer refused (mw1.bind_mr_other_pd_wr takes the device path)",
    provoke: "ibv_bind_mw on qpB, then (recovered) WRITE qpA → qpB with the window's key",
  })),
  same.deregAfterDealloc({
    id: "mw1.dereg_after_dealloc",
    title: "Once its type 1 window is deallocated, the MR deregisters",
    setup: "bound type 1 window",
    provoke: "ibv_dealloc_mw, then ibv_dereg_mr of the MR",
  }),
  same.deregAfterInvalidate({
    id: "mw1.dereg_after_unbind",
    title: "Once its type 1 window is unbound, the MR deregisters",
    setup: "bound type 1 window",
    provoke: "zero-length ibv_bind_mw (unbind), then ibv_dereg_mr of the MR",
  }),
  same.deallocPdWithWindow({
    id: "mw1.dealloc_pd_with_window",
    title: "ibv_dealloc_pd of a PD that holds a type 1 window fails (EBUSY on Linux)",
    setup: "a PD of its own with a type 1 window allocated in it",
    provoke: "ibv_dealloc_pd (must fail), ibv_dealloc_mw, ibv_dealloc_pd again (must succeed)",
  }),
  keyReuseCase({
    id: "mw1.key_reuse_after_dealloc",
    title: "After ibv_dealloc_mw, a recycled window never brings back the old key",
    kind: "mw1",
    needs: MW1,
  }),
  same.reach({
    id: "mw1.window_reach",
    title: "A type 1 window's key reaches only the window: probes inside, around it and across the MR's end",
    setup: "type 1 window over 4 KiB in the middle of an 8 KiB MR (2 KiB of MR either side)",
    provoke:
      "8-byte RDMA WRITEs through the window's key at the MR's start, just before the window, its first and " +
      "last bytes, just after it, the MR's last bytes and across the MR's end (granted or denied each)",
  }),
];
