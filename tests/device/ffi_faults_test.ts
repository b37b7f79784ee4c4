// Verbs objects whose create verb fails must not stay linked to their parent (its close would then release
// nothing through a null pointer), and an MR moved to another PD (ibv_rereg_mr IBV_REREG_MR_CHANGE_PD) must be
// released by that PD. Each failure is provoked for real: a CQ and a QP larger than the device allows; for
// ibv_alloc_pd, whose limit (max_pd, a million on rxe) cannot be reached in a test, the context's command file
// descriptor is pointed at a read-only /dev/null for the one call, so the real verb fails (EBADF) in the real
// library. Afterwards the context closes cleanly and nothing of ours is left in `rdma resource show`.
import { deepStrictEqual as assertEquals, doesNotThrow, ok as assert, throws } from "node:assert/strict";
import { Access, Context, CQ, MR, NativeBuffer, PD, QP, ReregFlags, VerbsError } from "../../ffi/mod.ts";
import { LAYOUTS } from "../../ffi/layouts.ts";
import { rdmaResources } from "../helpers/resources.ts";

const dev = Deno.env.get("MEMREG_DEVICE");
const libc = Deno.dlopen("libc.so.6", {
  dup: { parameters: ["i32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
}).symbols;

/** Runs `fn` while the context's command channel refuses every command (EBADF), then restores it. */
function withDeadChannel(ctx: Context, fn: () => void): void {
  const fd = new Deno.UnsafePointerView(ctx.ptr).getInt32(LAYOUTS.ibv_context.cmd_fd);
  const saved = libc.dup(fd);
  const ro = libc.open(new TextEncoder().encode("/dev/null\0"), 0 /* O_RDONLY */);
  assert(saved >= 0 && ro >= 0 && libc.dup2(ro, fd) === fd);
  try {
    fn();
  } finally {
    assertEquals(libc.dup2(saved, fd), fd);
    libc.close(saved);
    libc.close(ro);
  }
}

Deno.test("PD, CQ and QP whose create verb fails are not released later: the context closes clean", async () => {
  const ctx = Context.open(dev);
  const attr = ctx.queryDevice();
  const pd = new PD(ctx);
  const cq = new CQ(ctx, 16);
  withDeadChannel(ctx, () => {
    throws(() => new PD(ctx), (e) => e instanceof VerbsError && e.verb === "ibv_alloc_pd");
  });
  throws(
    () => new CQ(ctx, attr.maxCqe + 1),
    (e) => e instanceof VerbsError && e.verb === "ibv_create_cq" && e.errnoName === "EINVAL",
  );
  throws(
    () => new QP(pd, cq, cq, { maxSendWr: attr.maxQpWr + 1 }),
    (e) => e instanceof VerbsError && e.verb === "ibv_create_qp" && e.errnoName === "EINVAL",
  );
  // The objects that were made still work after the failures.
  using qp = new QP(pd, cq, cq);
  assert(qp.qpNum > 0);
  assert((await rdmaResources(Deno.pid)).length > 0);
  doesNotThrow(() => ctx.close(), "closing the context must not release the objects that were never made");
  assert(pd.closed && cq.closed && qp.closed && ctx.closed);
  assertEquals(await rdmaResources(Deno.pid), []);
});

const reregWorks = (() => {
  using ctx = Context.open(dev);
  using a = new PD(ctx);
  using b = new PD(ctx);
  using buf = new NativeBuffer(4096);
  using mr = new MR(a, buf.addr, 4096, Access.LOCAL_WRITE);
  try {
    mr.rereg(ReregFlags.CHANGE_PD, { pd: b });
    return true;
  } catch (e) {
    if (e instanceof VerbsError && e.errnoName === "EOPNOTSUPP") return false;
    throw e;
  }
})();

Deno.test({
  name:
    "ibv_rereg_mr(CHANGE_PD): the MR belongs to the new PD, which releases it; the old one closes without it",
  ignore: !reregWorks, // rxe before 6.2 has no rereg (EOPNOTSUPP); tests/host/ffi_lifetimes_test.ts covers the links
  fn: async () => {
    const ctx = Context.open(dev);
    const a = new PD(ctx), b = new PD(ctx);
    const buf = new NativeBuffer(4096);
    const mr = new MR(a, buf.addr, 4096, Access.LOCAL_WRITE | Access.REMOTE_WRITE);
    mr.rereg(ReregFlags.CHANGE_PD, { pd: b });
    assertEquals(mr.pd, b);
    a.close(); // ibv_dealloc_pd would fail with EBUSY if the MR were still counted on it
    assert(!mr.closed, "closing the old PD released the MR it no longer holds");
    b.close();
    assert(mr.closed);
    ctx.close();
    buf.unmap();
    assertEquals(await rdmaResources(Deno.pid), []);
  },
});
