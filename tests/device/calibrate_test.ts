// The calibration's busy-waits have deadlines: with the peer's QP in ERR nothing ever lands in the polled
// buffer, and the wait ends with a one-line error after its deadline instead of spinning forever. The
// streaming loop stalls with its WRITEs still posted: its QPs go to ERR before its MRs are deregistered, and
// every verbs object is released once.
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { Context, QpState } from "../../ffi/mod.ts";
import { Rig } from "../../bench/rig.ts";
import { memregBw, memregLat } from "../../bench/calibrate.ts";
import { ProtocolError } from "../../bench/errors.ts";
import { rdmaResources } from "../helpers/resources.ts";

Deno.test("calibration: a ping-pong or a stream whose data never arrives gives up at its deadline", async () => {
  {
    using ctx = Context.open(Deno.env.get("MEMREG_DEVICE"));
    using rig = new Rig(ctx);
    rig.lb.qpB.toState(QpState.ERR); // B never receives A's WRITE
    throws(() => memregLat(rig, 4096, 10, 500), /write latency ping-pong: nothing arrived within 0\.5 s/);
    rig.recover();
    rig.lb.qpB.toState(QpState.ERR);
    let quiesced = 0;
    const quiesce = rig.quiesce.bind(rig);
    rig.quiesce = () => (quiesced++, quiesce());
    throws(
      () => memregBw(rig, "write", 65536, 4, 100, 500),
      (e) => e instanceof ProtocolError && /write completions: nothing arrived within 0\.5 s/.test(e.message),
    );
    assertEquals(quiesced, 1, "the stalled loop's QPs are stopped before its MRs go");
    rig.recover();
  }
  assertEquals(await rdmaResources(Deno.pid), []);
});
