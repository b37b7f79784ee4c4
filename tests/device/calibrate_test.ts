// The calibration's busy-waits have deadlines: with the peer's QP in ERR nothing ever lands in the polled
// buffer, and the wait ends with a one-line error after its deadline instead of spinning forever.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { Context, QpState } from "../../ffi/mod.ts";
import { Rig } from "../../bench/rig.ts";
import { memregLat } from "../../bench/calibrate.ts";
import { rdmaResources } from "../helpers/resources.ts";

Deno.test("calibration: a ping-pong whose byte never arrives gives up at its deadline", async () => {
  {
    using ctx = Context.open(Deno.env.get("MEMREG_DEVICE"));
    using rig = new Rig(ctx);
    rig.lb.qpB.toState(QpState.ERR); // B never receives A's WRITE
    throws(() => memregLat(rig, 4096, 10, 500), /write latency ping-pong: nothing arrived within 0\.5 s/);
    rig.recover();
  }
  assertEquals(await rdmaResources(Deno.pid), []);
});
