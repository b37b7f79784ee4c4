// More MR and MW entry points: ibv_reg_mr_iova2's access bits, dma-buf MRs (ibv_reg_dmabuf_mr over
// /dev/udmabuf), rereg flipping atomic access, ibv_alloc_mw of an invalid type, IBV_WR_BIND_MW where it does
// not belong (a type 1 window, a UD QP, access bits that are no window right) and the device path of a type 1
// bind to an MR of another PD (libibverbs' inline ibv_bind_mw refuses that one before any provider sees it).
import { fastVerbs, incRkey, ReregFlags } from "../../ffi/mod.ts";
import { type Fixture, RW, T } from "../fixture/mod.ts";
import type { CaseDef } from "../model.ts";
import {
  all,
  ATOMIC_RW,
  denied,
  granted,
  NOT_OK,
  refusedKeyGrantsNothing,
  rejected,
  unchanged,
  WIN,
  writeChecked,
  written,
} from "./shared.ts";

/** A bit that is no IBV_ACCESS_* flag and lies outside IBV_ACCESS_OPTIONAL_RANGE (bits 20-29). */
export const UNKNOWN_ACCESS = 1 << 15;
/** A bit inside IBV_ACCESS_OPTIONAL_RANGE that no flag uses (rdma-core 44): ignorable where unsupported. */
export const OPTIONAL_ACCESS = 1 << 29;
const ADD = { op: "fadd", compareAdd: 1n } as const;

/**
 * Which layer refused bind step `label` (fact `${label}.layer`): "libibverbs" (the inline ibv_bind_mw's PD
 * check, the only EPERM on that path, native helper only), "provider" (another errno from the post: the
 * provider refused before the device queue), "device" (posted, refused by its completion), "none" (bound).
 */
export function bindLayer(f: Fixture, label: string, verb: "ibv_bind_mw" | "wr"): void {
  const ret = f.facts[`${label}.ret`], wc = f.facts[`${label}.wc`];
  const layer = ret !== "0"
    ? verb === "ibv_bind_mw" && ret === "EPERM" && fastVerbs().kind === "native" ? "libibverbs" : "provider"
    : wc === "IBV_WC_SUCCESS"
    ? "none"
    : "device";
  f.fact(`${label}.layer`, layer);
}

/** A case body: a bind WR (IBV_WR_BIND_MW, key = ibv_inc_rkey) of a fresh window of `type`, then the key. */
function wrBind(type: 1 | 2, o: { mrSide?: "A" | "B"; ud?: boolean; access?: number } = {}): CaseDef["run"] {
  return async (f) => {
    const mr = f.targetMr(undefined, { side: o.mrSide });
    const mw = f.mw(type);
    const key = f.name(incRkey(mw.rkey), "key1");
    const spec = { mw, mr, key, ...WIN, access: o.access ?? RW };
    if (o.ud) await f.bindOnUd("bind", spec);
    else await f.bind2("bind", spec);
    bindLayer(f, "bind", "wr");
    await refusedKeyGrantsNothing(f, key);
  };
}

/** Entry points of memory regions: ibv_reg_mr_iova2, ibv_reg_dmabuf_mr, ibv_rereg_mr of the access. */
export const mrEntryCases: CaseDef[] = [
  {
    id: "mr.iova2_unknown_access",
    title: "ibv_reg_mr_iova2 with an access bit that is no flag (outside the optional range) fails",
    rule: "verbs.access-optional",
    level: "must",
    setup: "none",
    provoke: `ibv_reg_mr_iova2(iova = the address, access = LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ|0x${
      UNKNOWN_ACCESS.toString(16)
    })`,
    expect: [{ "reg.ret": NOT_OK }],
    async run(f) {
      const mr = f.regMr("reg", RW | UNKNOWN_ACCESS, { iova: f.dst.addr + BigInt(T.mrOff) });
      // Where it registers anyway, record whether the key then takes a write.
      if (mr) await writeChecked(f, { key: mr.rkey });
    },
  },
  {
    id: "mr.iova2_optional_access",
    title:
      "ibv_reg_mr_iova2 with an unassigned bit of the optional range registers; the MR works at its iova",
    rule: "verbs.access-optional",
    level: "must",
    setup: "none",
    // iova = the address: this case is about the access bit alone (mr.iova2_zero_based checks the iova).
    provoke: `ibv_reg_mr_iova2(iova = the address, access = LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ|0x${
      OPTIONAL_ACCESS.toString(16)
    }), then RDMA WRITE of 64 bytes through its rkey`,
    expect: all({ "reg.ret": ["0"] }, granted("access"), written),
    async run(f) {
      const mr = f.regMr("reg", RW | OPTIONAL_ACCESS, { iova: f.dst.addr + BigInt(T.mrOff), must: true })!;
      await writeChecked(f, { key: mr.rkey });
    },
  },
  {
    id: "mr.iova2_zero_based",
    title: "ibv_reg_mr_iova2 with iova 0: the rkey reaches the MR's first byte at remote address 0",
    rule: "man.ibv_reg_mr.iova",
    level: "must",
    setup: "none",
    provoke:
      "ibv_reg_mr_iova2(iova = 0, LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ), then RDMA WRITE of 64 bytes at " +
      "remote address 0 (the MR's first byte)",
    expect: all({ "reg.ret": ["0"] }, granted("access"), written),
    async run(f) {
      const mr = f.regMr("reg", RW, { iova: 0n, must: true })!;
      await writeChecked(f, { key: mr.rkey, raddr: 0n });
    },
  },
  {
    id: "mr.dmabuf_not_dmabuf_fd",
    title: "ibv_reg_dmabuf_mr with a file descriptor that is no dma-buf (a memfd) fails",
    rule: "man.ibv_reg_dmabuf_mr",
    level: "must",
    setup: "a memfd of 16 KiB (not a dma-buf)",
    provoke:
      "ibv_reg_dmabuf_mr(offset 0, length 8 KiB, iova 0, fd = the memfd, LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ)",
    expect: [{ "reg.ret": NOT_OK }],
    // deno-lint-ignore require-await
    async run(f) {
      f.regDmabuf("reg", RW, { udmabuf: false });
    },
  },
  {
    id: "mr.dmabuf_control",
    title: "An MR over a udmabuf dma-buf registers and takes an RDMA WRITE at its iova (control)",
    rule: "man.ibv_reg_dmabuf_mr",
    level: "must",
    setup: "a dma-buf of 16 KiB from /dev/udmabuf (a sealed memfd)",
    provoke:
      "ibv_reg_dmabuf_mr(offset 0, length 8 KiB, iova 0, RW), then RDMA WRITE of 64 bytes at address 0",
    expect: all({ "reg.ret": ["0"] }, granted("access")),
    async run(f) {
      const mr = f.regDmabuf("reg", RW, { udmabuf: true, must: true })!;
      await f.write("access", { key: mr.rkey, raddr: 0n });
    },
  },
  {
    id: "mr.dmabuf_unknown_access",
    title: "ibv_reg_dmabuf_mr with an access bit outside the five it supports fails",
    rule: "man.ibv_reg_dmabuf_mr",
    also: ["verbs.access-optional"],
    level: "must",
    setup: "a dma-buf of 16 KiB from /dev/udmabuf",
    provoke: `ibv_reg_dmabuf_mr(offset 0, length 8 KiB, iova 0, RW|0x${UNKNOWN_ACCESS.toString(16)})`,
    expect: [{ "reg.ret": NOT_OK }],
    // deno-lint-ignore require-await
    async run(f) {
      f.regDmabuf("reg", RW | UNKNOWN_ACCESS, { udmabuf: true });
    },
  },
  {
    id: "mr.dmabuf_address_as_offset",
    title: "ibv_reg_dmabuf_mr given a virtual address as its offset (past the dma-buf's end) fails",
    rule: "man.ibv_reg_dmabuf_mr",
    level: "must",
    setup: "a dma-buf of 16 KiB from /dev/udmabuf",
    provoke:
      "ibv_reg_dmabuf_mr(offset = iova = a buffer's virtual address, as for ibv_reg_mr, length 8 KiB, RW): " +
      "the range lies far past the 16 KiB dma-buf",
    expect: [{ "reg.ret": NOT_OK }],
    // deno-lint-ignore require-await
    async run(f) {
      const addr = f.dst.addr + BigInt(T.mrOff);
      f.regDmabuf("reg", RW, { udmabuf: true, offset: addr, iova: addr });
    },
  },
  {
    id: "mr.rereg_atomic_flip",
    title: "ibv_rereg_mr adding then dropping REMOTE_ATOMIC: the key takes an atomic only in between",
    rule: "man.ibv_rereg_mr",
    also: ["vol1.rkey-access"],
    level: "must",
    needs: ["ATOMIC"],
    setup: "target MR with LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ (no REMOTE_ATOMIC)",
    provoke:
      "ibv_rereg_mr(CHANGE_ACCESS → +REMOTE_ATOMIC), FETCH_AND_ADD through the MR's key (must land), " +
      "ibv_rereg_mr(CHANGE_ACCESS → without it), FETCH_AND_ADD again (must be refused)",
    expect: all(
      { "rereg.ret": ["0"], "rereg2.ret": ["0"] },
      granted("grant"),
      denied("after"),
      written,
    ),
    async run(f) {
      const mr = f.targetMr(RW);
      if (!f.rereg("rereg", mr, ReregFlags.CHANGE_ACCESS, { access: ATOMIC_RW })) return;
      await f.atomic("grant", { key: mr.rkey, ...ADD });
      if (!f.rereg("rereg2", mr, ReregFlags.CHANGE_ACCESS, { access: RW })) return;
      await f.atomic("after", { key: mr.rkey, ...ADD });
      f.data();
    },
  },
];

/** Entry points of type 1 windows: ibv_alloc_mw's type, IBV_WR_BIND_MW on a type 1 window. */
export const mw1EntryCases: CaseDef[] = [
  {
    id: "mw1.alloc_invalid_type",
    title: "ibv_alloc_mw with a type that is neither 1 nor 2 fails",
    rule: "man.ibv_alloc_mw.type",
    level: "must",
    needs: ["MW1"],
    setup: "the responder's PD",
    provoke: "ibv_alloc_mw(pd, 3) (a window it makes anyway is deallocated at once)",
    expect: [{ "alloc.ret": NOT_OK }],
    // deno-lint-ignore require-await
    async run(f) {
      f.allocMwType("alloc", 3);
    },
  },
  {
    id: "mw1.bind_wr_type1",
    title: "An IBV_WR_BIND_MW work request naming a type 1 window is refused (only ibv_bind_mw binds type 1)",
    rule: "man.ibv_post_send.bind-mw",
    also: ["11.6.2.mw-bind"],
    level: "must",
    needs: ["MW1"],
    setup: "target MR with MW_BIND; a type 1 window; fact bind.layer says which layer refused",
    provoke: "IBV_WR_BIND_MW on qpB with the type 1 window and key ibv_inc_rkey(its key), posted directly " +
      "(libibverbs' ibv_bind_mw and its type check are bypassed), then (recovered) WRITE with that key",
    expect: rejected("bind", denied("after"), unchanged),
    run: wrBind(1),
  },
  {
    id: "mw1.bind_mr_other_pd_wr",
    title: "Binding a type 1 window to an MR of another PD through the device path is refused",
    rule: "C10-72",
    also: ["11.6.2.mw-bind"],
    level: "must",
    needs: ["MW1"],
    separatePd: true,
    setup:
      "separate PDs: the window in the responder's PD, the MR in the requester's. mw1.bind_mr_other_pd's " +
      "ibv_bind_mw is refused by libibverbs' inline PD check (EPERM) before any provider; here the bind is the " +
      "IBV_WR_BIND_MW that a provider's ibv_bind_mw posts (rdma-core's rxe_bind_mw), so the provider and the " +
      "device are what is tested; fact bind.layer says which layer refused",
    provoke: "IBV_WR_BIND_MW on qpB (key ibv_inc_rkey), then (recovered) WRITE qpA → qpB with that key",
    expect: rejected("bind", denied("after"), unchanged),
    run: wrBind(1, { mrSide: "A" }),
  },
];

/**
 * Entry points of type 2 windows: a bind on a UD QP, the extended API's ibv_wr_bind_mw, a bind with bits that
 * are no window right.
 */
export const mw2EntryCases: CaseDef[] = [
  {
    id: "mw2.bind_ud_qp",
    title: "IBV_WR_BIND_MW posted on a UD QP is refused",
    rule: "man.ibv_post_send.bind-mw",
    also: ["11.6.2.mw-bind"],
    level: "must",
    needs: ["MW2"],
    setup: "target MR with MW_BIND, a type 2 window, a UD QP (PD B, RTS) of its own",
    provoke: "IBV_WR_BIND_MW on the UD QP (key ibv_inc_rkey), then (recovered) WRITE qpA → qpB with that key",
    expect: rejected("bind", denied("after"), unchanged),
    run: wrBind(2, { ud: true }),
  },
  {
    id: "mw2.wr_bind_ex_control",
    title: "The extended API's ibv_wr_bind_mw binds a type 2 window (control)",
    rule: "man.ibv_post_send.bind-mw",
    level: "must",
    needs: ["MW2"],
    setup: "target MR with MW_BIND, a type 2 window; an RC QP from ibv_create_qp_ex with send_ops_flags " +
      "IBV_QP_EX_WITH_BIND_MW (PD B, connected to itself): unsupported where the provider cannot make it",
    provoke: "ibv_wr_start, ibv_wr_bind_mw (key ibv_inc_rkey, 4 KiB, RW), ibv_wr_complete; its completion",
    expect: all(granted("bind"), { bind: ["ok"] }),
    async run(f) {
      const mr = f.targetMr();
      const mw = f.mw(2);
      await f.bindEx("bind", { mw, mr, key: f.name(incRkey(mw.rkey), "key1"), ...WIN });
    },
  },
  {
    id: "mw2.wr_bind_ex_mr_without_mw_bind",
    title: "The extended API's ibv_wr_bind_mw to an MR registered without MW_BIND is refused",
    rule: "C10-73",
    also: ["11.6.2.mw-bind"],
    level: "must",
    needs: ["MW2"],
    setup: "target MR without MW_BIND, a type 2 window; an extended RC QP as in mw2.wr_bind_ex_control",
    provoke: "ibv_wr_start, ibv_wr_bind_mw (key ibv_inc_rkey, 4 KiB, RW), ibv_wr_complete; its completion",
    expect: rejected("bind"),
    async run(f) {
      const mr = f.targetMr(RW);
      const mw = f.mw(2);
      await f.bindEx("bind", { mw, mr, key: f.name(incRkey(mw.rkey), "key1"), ...WIN });
      bindLayer(f, "bind", "wr");
    },
  },
  {
    id: "mw2.bind_unknown_access",
    title: "A type 2 bind with an access bit that is no window right is refused and holds nothing",
    rule: "man.ibv_bind_mw.access",
    also: ["11.6.2.mw-bind"],
    level: "must",
    needs: ["MW2"],
    setup: "device-wide counts from `rdma resource show`; target MR with MW_BIND; a type 2 window",
    provoke: `IBV_WR_BIND_MW with mw_access_flags RW|0x${
      UNKNOWN_ACCESS.toString(16)
    }, (recovered) WRITE with the key, ibv_dealloc_mw, ibv_dereg_mr, counts again (fact leak: what changed)`,
    expect: rejected("bind", denied("after"), unchanged, {
      "dealloc.ret": ["0"],
      "dereg.ret": ["0"],
      leak: ["same"],
    }),
    async run(f) {
      f.counts("before");
      const mr = f.targetMr();
      const mw = f.mw(2);
      const key = f.name(incRkey(mw.rkey), "key1");
      await f.bind2("bind", { mw, mr, key, ...WIN, access: RW | UNKNOWN_ACCESS });
      bindLayer(f, "bind", "wr");
      await refusedKeyGrantsNothing(f, key);
      f.release("dealloc", mw);
      f.release("dereg", mr);
      f.counts("leak", "before");
    },
  },
];

/** `c` recording which layer refused its ibv_bind_mw step "bind" (bindLayer). */
export function withBindLayer(c: CaseDef): CaseDef {
  return {
    ...c,
    async run(f) {
      await c.run(f);
      bindLayer(f, "bind", "ibv_bind_mw");
    },
  };
}
