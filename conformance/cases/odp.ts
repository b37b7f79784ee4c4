// On-demand paging: the device must follow the process's page tables (what the process would read is what
// the peer reads), and a hole in them must fail the access instead of exposing old pages.
import { Access, MADV_DONTNEED } from "../../ffi/mod.ts";
import { type Fixture, RW, T, Unsupported } from "../fixture/mod.ts";
import type { CaseDef } from "../model.ts";
import { all, granted, writeChecked, written } from "./shared.ts";

const ODP = RW | Access.ON_DEMAND;
/** Any remote error: the spec names none for a fault that cannot be resolved. */
const REMOTE_FAIL = ["IBV_WC_REM_ACCESS_ERR", "IBV_WC_REM_OP_ERR", "IBV_WC_REM_INV_REQ_ERR"];
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
