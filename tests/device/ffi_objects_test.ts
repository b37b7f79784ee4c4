// Object lifetimes and errors of the binding, on the device.
import assert from "node:assert/strict";
import {
  Access,
  Context,
  CQ,
  Loopback,
  MR,
  MW,
  NativeBuffer,
  PD,
  QpState,
  VerbsError,
} from "../../ffi/mod.ts";
import { rdmaResources } from "../helpers/resources.ts";

const dev = Deno.env.get("MEMREG_DEVICE");

Deno.test("a failing verb throws a VerbsError naming the verb, errno and its meaning", () => {
  using ctx = Context.open(dev);
  using pd = new PD(ctx);
  using buf = new NativeBuffer(4096);
  // ibv_reg_mr(3): REMOTE_WRITE requires LOCAL_WRITE.
  assert.throws(() => new MR(pd, buf.addr, 4096, Access.REMOTE_WRITE), (e) => {
    assert.ok(e instanceof VerbsError);
    assert.equal(e.verb, "ibv_reg_mr");
    assert.equal(e.errnoName, "EINVAL");
    assert.match(e.message, /^ibv_reg_mr failed: EINVAL \(Invalid argument\)/);
    return true;
  });
});

Deno.test("opening a device that does not exist names the ones that do", () => {
  assert.throws(
    () => Context.open("nosuchdev0"),
    /ibv_open_device failed: ENODEV .*device nosuchdev0 not found \(present: /,
  );
});

Deno.test("closing a context releases everything it holds, newest first, exactly once", async () => {
  const ctx = Context.open(dev);
  const lb = new Loopback(ctx);
  const buf = new NativeBuffer(8192);
  const mr = new MR(lb.pd, buf.addr, 8192, Access.LOCAL_WRITE | Access.REMOTE_READ | Access.MW_BIND);
  const mw = new MW(lb.pd, 2);
  const extraCq = new CQ(ctx, 16);
  assert.ok(
    (await rdmaResources(Deno.pid)).length > 0,
    "rdma resource show lists nothing of ours while open",
  );
  ctx.close();
  for (const o of [mw, mr, lb.qpA, lb.qpB, lb.cqA, lb.cqB, extraCq, lb.pd, ctx]) assert.ok(o.closed);
  ctx.close(); // a second close is a no-op, not a double free
  mr.close();
  assert.deepEqual(await rdmaResources(Deno.pid), []);
  buf.unmap();
});

Deno.test("a QP moved to ERR reads ERR, and RESET plus reconnect brings it back to RTS", () => {
  using ctx = Context.open(dev);
  using lb = new Loopback(ctx);
  assert.equal(lb.qpA.state(), QpState.RTS);
  lb.qpA.toState(QpState.ERR);
  assert.equal(lb.qpA.state(), QpState.ERR);
  lb.qpA.toState(QpState.RESET);
  lb.qpB.toState(QpState.RESET);
  lb.connect();
  assert.equal(lb.qpA.state(), QpState.RTS);
  assert.equal(lb.qpB.state(), QpState.RTS);
});
