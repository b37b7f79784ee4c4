// Exercises every inline verb through whichever FFI path this process uses (MEMREG_FFI_PATH picks it) and
// prints one JSON line: the path, its measured per-call cost, and what each verb did.
import {
  Access,
  checkPattern,
  Context,
  CQ,
  fastVerbs,
  incRkey,
  Loopback,
  MR,
  MW,
  NativeBuffer,
  RecvWr,
  SendFlags,
  SendWr,
  writePattern,
  WrOpcode,
} from "../../ffi/mod.ts";
import { referenceUnavailable, TimingSlot, WAIT_NS } from "../../bench/timed.ts";
import { measureCallCost } from "../../ffi/callcost.ts";

const RW = Access.LOCAL_WRITE | Access.REMOTE_WRITE | Access.REMOTE_READ;
const out: Record<string, unknown> = {};
{
  using ctx = Context.open(Deno.env.get("MEMREG_DEVICE"));
  out.maxMw = ctx.queryDevice().maxMw; // ibv_query_device_ex
  out.portState = ctx.queryPort(1).state; // ibv_query_port
  using lb = new Loopback(ctx);
  {
    using cq = new CQ(ctx, 16, 1);
    out.cost = measureCallCost(cq); // ibv_poll_cq
  }
  using buf = new NativeBuffer(65536);
  using mr = new MR(lb.pd, buf.addr, 65536, RW | Access.MW_BIND);
  const wr = new SendWr();
  const wait = async (cq: CQ) => (await cq.collect(1, 20_000)).map((c) => c.statusName).join(",");

  // post_recv + post_send (SEND) + poll_cq
  writePattern(buf.u8, 0, 256, 5);
  lb.qpB.postRecv(new RecvWr().set(1n, { addr: buf.addr + 4096n, length: 256, lkey: mr.lkey }));
  lb.qpA.postSend(
    wr.send(WrOpcode.SEND, 2n, { addr: buf.addr, length: 256, lkey: mr.lkey }, SendFlags.SIGNALED),
  );
  out.send = [await wait(lb.cqA), await wait(lb.cqB), checkPattern(buf.u8, 4096, 256, 5)].join(" ");

  // alloc_mw + bind_mw (type 1) + a write through the window + dealloc_mw
  using mw = new MW(lb.pd, 1);
  out.bind = mw.bind(lb.qpB, mr, buf.addr + 8192n, 4096, RW, 3n);
  out.bindWc = await wait(lb.cqB);
  writePattern(buf.u8, 0, 512, 6);
  lb.qpA.postSend(
    wr.rdma(
      WrOpcode.RDMA_WRITE,
      4n,
      { addr: buf.addr, length: 512, lkey: mr.lkey },
      buf.addr + 8192n,
      mw.rkey,
      2,
    ),
  );
  out.write = `${await wait(lb.cqA)} ${checkPattern(buf.u8, 8192, 512, 6)}`;
  out.unbind = mw.bind(lb.qpB, mr, 0n, 0, 0, 5n);
  out.unbindWc = await wait(lb.cqB);
  // req_notify_cq and advise_mr (the latter is EOPNOTSUPP on a non-ODP MR/device; what matters is the call works)
  out.notify = fastVerbs().reqNotifyCq(lb.cqA.ptr, 0);
  out.advise = fastVerbs().adviseMr(lb.pd.ptr, 0, 1, null, 0);

  // The timed verbs through this path: the same results, [start, end] inside JS clock reads around the call.
  const f = fastVerbs(), ts = new Float64Array(2);
  const inside = (t0: number, t1: number) => t0 <= ts[0] && ts[0] < ts[1] && ts[1] <= t1;
  let t0 = f.nowNs();
  const tmr = f.regMrTimed(lb.pd.ptr, buf.ptr, 4096n, RW, ts);
  out.timedReg = !!tmr && inside(t0, f.nowNs());
  t0 = f.nowNs();
  out.timedDereg = f.deregMrTimed(tmr, ts) === 0 && inside(t0, f.nowNs());
  // A type 2 window: IBV_WR_BIND_MW then IBV_WR_LOCAL_INV, each posted and completed in one timed call.
  using mw2 = new MW(lb.pd, 2);
  const key = incRkey(mw2.rkey);
  const bind = new SendWr().bindMw(6n, mw2.ptr, key, mr.ptr, buf.addr, 4096, RW, SendFlags.SIGNALED);
  out.postWaitBind = f.postWait(lb.qpB.ptr, bind.ptr, lb.cqB.ptr, lb.cqB.wcPtr, WAIT_NS, ts);
  out.rkeyKept = mw2.rkey === key; // postWait leaves ibv_mw.rkey at the bound key
  const inv = new SendWr().localInv(7n, key, SendFlags.SIGNALED);
  out.postWaitInv = f.postWait(lb.qpB.ptr, inv.ptr, lb.cqB.ptr, lb.cqB.wcPtr, WAIT_NS, ts);
  // The timing loops' slot calls: the same verbs and clock, [start, end] and the object in one record.
  const slot = new TimingSlot(), sts = slot.ts;
  const inSlot = (t0: number, t1: number) => t0 <= sts[0] && sts[0] < sts[1] && sts[1] <= t1;
  t0 = f.nowNs();
  out.slotReg = slot.regMr(lb.pd.ptr, buf.ptr, 4096n, RW) === 0 && !!slot.obj && inSlot(t0, f.nowNs());
  t0 = f.nowNs();
  out.slotDereg = slot.deregMr() === 0 && inSlot(t0, f.nowNs());
  out.slotRegBad = slot.regMr(lb.pd.ptr, buf.ptr, 4096n, 0x7fffffff); // invalid access flags: an errno
  t0 = f.nowNs();
  out.slotAlloc = slot.allocMw(lb.pd.ptr, 2) === 0 && inSlot(t0, f.nowNs());
  out.slotDealloc = slot.deallocMw();
  const bind2 = new SendWr().bindMw(
    8n,
    mw2.ptr,
    incRkey(key),
    mr.ptr,
    buf.addr,
    4096,
    RW,
    SendFlags.SIGNALED,
  );
  t0 = f.nowNs();
  out.slotPostWait = slot.postWait(lb.qpB.ptr, bind2.ptr, lb.cqB.ptr, lb.cqB.wcPtr) === 0 &&
    inSlot(t0, f.nowNs());
  out.reference = referenceUnavailable();
}
console.log(JSON.stringify(out));
