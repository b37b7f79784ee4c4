// On-demand paging: the device must follow the process's page tables (what the process would read is what
// the peer reads), and a hole in them must fail the access instead of exposing old pages.
import { Access, ADVISE_MR_FLAG_FLUSH, AdviseMr, incRkey, MADV_DONTNEED } from "../../ffi/mod.ts";
import { type Fixture, RW, T, Unsupported } from "../fixture/mod.ts";
import type { CaseDef } from "../model.ts";
import { all, granted, NOT_OK, OK, WIN, writeChecked, written } from "./shared.ts";

const ODP = RW | Access.ON_DEMAND;
/** Any remote error: the spec names none for a fault that cannot be resolved. */
const REMOTE_FAIL = ["IBV_WC_REM_ACCESS_ERR", "IBV_WC_REM_OP_ERR", "IBV_WC_REM_INV_REQ_ERR"];
/** ibv_advise_mr's advices, by name. */
const ADVICE = {
  PREFETCH: AdviseMr.PREFETCH,
  PREFETCH_WRITE: AdviseMr.PREFETCH_WRITE,
  PREFETCH_NO_FAULT: AdviseMr.PREFETCH_NO_FAULT,
} as const;
const control = { "first.wc": ["IBV_WC_SUCCESS"], "first.data": ["current"] };
/** 3 KiB starting 512 bytes into a page: several packets at any MTU up to 2048, none at a page start. */
const IN_PAGE = { off: T.mrOff + 512, len: 3072 };

/** An ODP MR (over the target buffer unless `o` says otherwise), read once remotely ("first") to fault it in. */
async function readOnce(f: Fixture, o: { addr?: bigint; len?: number | bigint } = {}) {
  const mr = f.regMr("setup.reg", ODP, { ...o, must: true })!;
  await f.read("first", { key: mr.rkey });
  return mr;
}

/** On-demand paging: the device follows the page tables; a hole fails the access. */
export const odpCases: CaseDef[] = [
  {
    id: "odp.madvise_dontneed_read",
    title: "After madvise(MADV_DONTNEED) a remote READ returns the fresh zero pages, not the old data",
    rule: "man.ibv_advise_mr",
    level: "must",
    needs: ["ODP_RC"],
    setup: "ODP MR over a buffer with a pattern, read once remotely (pages faulted in)",
    provoke: "madvise(MADV_DONTNEED) over the MR, then RDMA READ",
    expect: all(control, granted("access"), { "access.data": ["zero"] }),
    async run(f) {
      const mr = await readOnce(f);
      f.madvise(f.dst, MADV_DONTNEED, T.mrOff, T.mrLen);
      await f.read("access", { key: mr.rkey });
    },
  },
  {
    id: "odp.munmap_then_access",
    title: "After munmap under an ODP MR a remote READ fails",
    rule: "man.ibv_advise_mr",
    level: "must",
    needs: ["ODP_RC"],
    setup: "ODP MR over a buffer, read once remotely",
    provoke: "munmap of the buffer, then RDMA READ through the MR",
    expect: all(control, { "access.ret": ["0"], "access.wc": REMOTE_FAIL, "access.data": ["unchanged"] }),
    async run(f) {
      const mr = await readOnce(f);
      f.unmap(f.dst);
      await f.read("access", { key: mr.rkey });
    },
  },
  {
    id: "odp.new_mapping_at_old_address",
    title: "A new mapping at the old address is what the peer sees through an ODP MR",
    rule: "man.ibv_advise_mr",
    level: "must",
    needs: ["ODP_RC"],
    setup: "ODP MR over a buffer, read once remotely",
    provoke: "munmap, mmap(MAP_FIXED) fresh pages at the same address with a new pattern, then RDMA READ",
    expect: all(control, granted("access"), { "access.data": ["current"] }),
    async run(f) {
      const mr = await readOnce(f);
      f.unmap(f.dst);
      f.remap(f.dst, 7);
      await f.read("access", { key: mr.rkey });
    },
  },
  {
    id: "odp.write_at_page_offset",
    title: "An RDMA WRITE into an ODP MR at an in-page offset lands exactly there and nowhere else",
    rule: "man.ibv_reg_mr.odp",
    level: "must",
    needs: ["ODP_RC"],
    setup: "ODP MR over a buffer with a pattern, read once remotely (pages faulted in)",
    provoke: "RDMA WRITE of 3 KiB starting 512 bytes into a page",
    expect: all(control, granted("access"), written),
    async run(f) {
      const mr = await readOnce(f);
      await writeChecked(f, { key: mr.rkey, ...IN_PAGE });
    },
  },
  {
    id: "odp.read_at_page_offset",
    title: "An RDMA READ from an ODP MR at an in-page offset returns exactly those bytes",
    rule: "man.ibv_reg_mr.odp",
    level: "must",
    needs: ["ODP_RC"],
    setup: "ODP MR over a buffer with a pattern, read once remotely (pages faulted in)",
    provoke: "RDMA READ of 3 KiB starting 512 bytes into a page",
    expect: all(control, granted("access"), { "access.data": ["current"] }),
    async run(f) {
      const mr = await readOnce(f);
      await f.read("access", { key: mr.rkey, ...IN_PAGE });
    },
  },
  {
    id: "odp.implicit_unmapped",
    title: "An implicit ODP MR: access to an unmapped address fails, a mapped one works",
    rule: "man.ibv_advise_mr",
    level: "must",
    needs: ["ODP_IMPLICIT"],
    setup: "implicit ODP MR (addr 0, length SIZE_MAX); a mapped buffer and a buffer then munmapped",
    provoke: "RDMA READ through the implicit rkey from the mapped buffer, then from the unmapped one",
    expect: all({ "first.wc": ["IBV_WC_SUCCESS"], "first.data": ["current"] }, {
      "access.ret": ["0"],
      "access.wc": REMOTE_FAIL,
    }),
    async run(f) {
      const mr = await readOnce(f, { addr: 0n, len: 0xffffffffffffffffn });
      const hole = f.buf();
      f.unmap(hole);
      await f.read("access", { key: mr.rkey, target: hole });
    },
  },
  ...prefetchCases(),
  {
    id: "odp.atomic",
    title:
      "A FETCH_AND_ADD into an ODP MR never touched before faults the page in, lands and returns the old value",
    rule: "man.ibv_reg_mr.odp",
    also: ["9.4.5.atomic"],
    level: "must",
    needs: ["ODP_RC_ATOMIC", "ATOMIC"],
    setup: "ODP MR with REMOTE_ATOMIC over a buffer with a pattern, not accessed yet (no page faulted in)",
    provoke: "ATOMIC FETCH_AND_ADD of 1 at the MR's start",
    expect: all(granted("access"), { "access.data": ["current"] }, written),
    async run(f) {
      const mr = f.regMr("setup.reg", ODP | Access.REMOTE_ATOMIC, { must: true })!;
      await f.atomic("access", { key: mr.rkey, op: "fadd", compareAdd: 1n });
      f.data();
    },
  },
  {
    id: "odp.recv_into_odp",
    title: "A SEND into a receive buffer of an ODP MR never touched before lands there",
    rule: "man.ibv_reg_mr.odp",
    level: "must",
    needs: ["ODP_RC_SEND_RECV"],
    setup: "a receive on qpB into a buffer of its own, MR with LOCAL_WRITE | ON_DEMAND (no page faulted in)",
    provoke: "a plain SEND of 32 bytes qpA → qpB",
    expect: [{ "send.ret": ["0"], "send.wc": [OK], "send.resp": [OK], "recv.data": ["written"] }],
    async run(f) {
      const buf = f.buf();
      const mr = f.regMr("setup.recvReg", Access.LOCAL_WRITE | Access.ON_DEMAND, {
        buf,
        off: 0,
        len: 4096,
        must: true,
      })!;
      f.postRecv("B", { buf, lkey: mr.lkey });
      f.intendSend(buf, 0, 32);
      await f.send("send");
      f.data("recv.data", buf);
    },
  },
  windowOverOdp(1),
  windowOverOdp(2),
  {
    id: "odp.fork_cow_read",
    title: "fork + copy-on-write, then a remote READ sees the parent's data",
    rule: "man.ibv_advise_mr",
    level: "must",
    needs: ["ODP_RC"],
    setup: "ODP MR in the parent, a forked child that writes the pages (copy-on-write)",
    provoke: "RDMA READ through the parent's MR",
    expect: all(granted("access"), { "access.data": ["current"] }),
    // Deno has no fork(); a child from Deno.Command is a new program with its own address space, so no page is
    // ever shared copy-on-write with this one, and a native fork helper is out of this project.
    run: () =>
      Promise.reject(new Unsupported("cannot be provoked from Deno: no fork(), so no copy-on-write child")),
  },
];

/**
 * A case body: an ODP MR (access `mrAccess`) never accessed, ibv_advise_mr("advise") of `advice` with `flags`
 * over its range (or `len` bytes from its start), then — when the advice went through — the access "access".
 */
function prefetchThen(
  advice: keyof typeof ADVICE,
  flags: number,
  o: { op?: "read" | "write"; mrAccess?: number; len?: number } = {},
): CaseDef["run"] {
  return async (f) => {
    const mr = f.regMr("setup.reg", o.mrAccess ?? ODP, { must: true })!;
    if (f.advise("advise", mr, ADVICE[advice], flags, { len: o.len }) !== 0 || !o.op) return;
    if (o.op === "read") await f.read("access", { key: mr.rkey });
    else await writeChecked(f, { key: mr.rkey });
  };
}

/** ibv_advise_mr(3): each advice, synchronous (FLUSH) and not, then the access it prepares; and its errors. */
function prefetchCases(): CaseDef[] {
  const FLUSH = ADVISE_MR_FLAG_FLUSH;
  const read = all({ "advise.ret": ["0"] }, granted("access"), {
    "access.data": ["current"],
  });
  const base = { level: "must", needs: ["ODP_RC"] } as const;
  const prefetched = (advice: keyof typeof ADVICE, flags: number, op: "read" | "write") => ({
    ...base,
    rule: "man.ibv_advise_mr.prefetch" as const,
    setup: "ODP MR over a buffer with a pattern, not accessed yet (no page faulted in)",
    provoke: `ibv_advise_mr(IBV_ADVISE_MR_ADVICE_${advice}, ${
      flags ? "IBV_ADVISE_MR_FLAG_FLUSH" : "0"
    }) over the MR's range, then RDMA ${op.toUpperCase()} of 64 bytes at its start`,
    expect: op === "read" ? read : all({ "advise.ret": ["0"] }, granted("access"), written),
    run: prefetchThen(advice, flags, { op }),
  });
  return [
    {
      id: "odp.prefetch_sync_read",
      title: "ibv_advise_mr PREFETCH with FLUSH returns 0, and a remote READ then returns the MR's bytes",
      ...prefetched("PREFETCH", FLUSH, "read"),
    },
    {
      id: "odp.prefetch_write_sync_write",
      title: "ibv_advise_mr PREFETCH_WRITE with FLUSH returns 0, and a remote WRITE then lands",
      ...prefetched("PREFETCH_WRITE", FLUSH, "write"),
    },
    {
      id: "odp.prefetch_no_fault_read",
      title:
        "ibv_advise_mr PREFETCH_NO_FAULT with FLUSH returns 0, and a remote READ then returns the MR's bytes",
      ...prefetched("PREFETCH_NO_FAULT", FLUSH, "read"),
    },
    {
      id: "odp.prefetch_async_read",
      title:
        "ibv_advise_mr PREFETCH without FLUSH (asynchronous) returns 0, and a remote READ then returns the bytes",
      ...prefetched("PREFETCH", 0, "read"),
    },
    {
      id: "odp.prefetch_read_only_mr",
      title:
        "ibv_advise_mr PREFETCH (read) with FLUSH on an ODP MR without write access returns 0; a READ then works",
      ...prefetched("PREFETCH", FLUSH, "read"),
      setup: "ODP MR with REMOTE_READ | ON_DEMAND only (not writable), not accessed yet",
      run: prefetchThen("PREFETCH", FLUSH, { op: "read", mrAccess: Access.REMOTE_READ | Access.ON_DEMAND }),
    },
    {
      id: "odp.prefetch_past_mr",
      title: "ibv_advise_mr over a range reaching past the ODP MR's end fails with EFAULT",
      ...base,
      rule: "man.ibv_advise_mr.errors",
      setup: "ODP MR over the target's middle 8 KiB (the buffer is mapped further)",
      provoke: "ibv_advise_mr(PREFETCH, FLUSH) of the MR's range plus 4 KiB past its end",
      expect: [{ "advise.ret": ["EFAULT"] }],
      run: prefetchThen("PREFETCH", FLUSH, { len: T.mrLen + 4096 }),
    },
    {
      id: "odp.prefetch_write_read_only",
      title: "ibv_advise_mr PREFETCH_WRITE on an ODP MR without write access fails (EPERM, or EFAULT)",
      ...base,
      rule: "man.ibv_advise_mr.errors",
      setup: "ODP MR with REMOTE_READ | ON_DEMAND only (not writable)",
      provoke: "ibv_advise_mr(PREFETCH_WRITE, FLUSH) over the MR's range",
      expect: [{ "advise.ret": ["EPERM", "EFAULT"] }],
      run: prefetchThen("PREFETCH_WRITE", FLUSH, { mrAccess: Access.REMOTE_READ | Access.ON_DEMAND }),
    },
    {
      id: "odp.prefetch_not_odp",
      title: "ibv_advise_mr PREFETCH through the lkey of an MR that is not ODP fails",
      ...base,
      rule: "man.ibv_advise_mr.errors",
      setup: "an ODP MR over the target, prefetched (control: the device has the verb), and a plain MR " +
        "(LOCAL_WRITE | REMOTE_WRITE | REMOTE_READ, no ON_DEMAND) over a buffer of its own",
      provoke: "ibv_advise_mr(PREFETCH, FLUSH) over the plain MR's 4 KiB",
      expect: [{ "control.ret": ["0"], "advise.ret": NOT_OK }],
      run(f) {
        const odp = f.regMr("setup.reg", ODP, { must: true })!;
        f.advise("control", odp, AdviseMr.PREFETCH, FLUSH);
        const buf = f.buf();
        const mr = f.regMr("setup.plainReg", RW, { buf, off: 0, len: 4096, must: true })!;
        // The control above showed the verb is there: EOPNOTSUPP now is a refusal like any other.
        f.advise("advise", mr, AdviseMr.PREFETCH, FLUSH, { buf, off: 0, len: 4096, refusal: true });
        return Promise.resolve();
      },
    },
  ];
}

/** A type 1 or type 2 window bound over an ODP MR takes a remote WRITE, which lands. */
function windowOverOdp(kind: 1 | 2): CaseDef {
  return {
    id: `odp.mw${kind}_over_odp`,
    title: `A type ${kind} window bound over an ODP MR takes a remote WRITE, which lands in the window`,
    rule: "man.ibv_reg_mr.odp",
    also: [kind === 1 ? "man.ibv_bind_mw" : "man.ibv_post_send"],
    level: "must",
    needs: ["ODP_RC", kind === 1 ? "MW1" : "MW2"],
    setup: `ODP MR with MW_BIND over the target's middle 8 KiB, not accessed yet; a type ${kind} window`,
    provoke: `${kind === 1 ? "ibv_bind_mw" : "IBV_WR_BIND_MW"} over the MR's first 4 KiB on qpB, then RDMA ` +
      "WRITE of 64 bytes through the window's key",
    expect: all({ bind: ["ok"] }, granted("access"), written),
    async run(f) {
      const mr = f.targetMr(ODP | Access.MW_BIND);
      const mw = f.mw(kind);
      const spec = { mw, mr, off: WIN.off, len: WIN.len };
      let key: number | null;
      if (kind === 1) key = await f.bind1("bind", spec);
      else {
        key = incRkey(mw.rkey);
        if (!await f.bind2("bind", { ...spec, key })) key = null;
      }
      if (key !== null) await writeChecked(f, { key });
    },
  };
}
