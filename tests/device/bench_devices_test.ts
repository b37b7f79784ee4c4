// `bench --device rxe0,siw0` in process: a RoCE and an iWARP device side by side, a result file each, stopped by
// SIGTERM after the first points. Both stop after their current point, each document says completed: false
// with what it measured, the devices took turns, and every verbs object of both is released. Skipped where the
// machine lacks an iWARP or a RoCE/IB device (the testbed has rxe0 and siw0).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { runBenchDevices } from "../../bench/run.ts";
import { listDevices, TransportType } from "../../ffi/mod.ts";
import { rdmaResources } from "../helpers/resources.ts";
import { withTempDir } from "../helpers/tmp.ts";
import { signalSelfAfter, tinyBench } from "../helpers/interrupt.ts";

const [roce, iwarp] = (() => {
  try {
    const ds = listDevices();
    return [
      ds.find((d) => d.transportType !== TransportType.IWARP)?.name,
      ds.find((d) => d.transportType === TransportType.IWARP)?.name,
    ];
  } catch {
    return [undefined, undefined];
  }
})();

Deno.test({
  name: "bench side by side: two transports in turn, SIGTERM keeps what each measured, all released",
  ignore: !roce || !iwarp,
  fn: () =>
    withTempDir("memreg-side-", async (dir) => {
      const cfg = tinyBench({
        strategies: "global,reg-per-io",
        layout: "contiguous",
        sweep: false,
        duration: 100,
        out: join(dir, "s.json"),
      });
      // A shell watcher sends the signal (this thread is busy measuring) once the first device has two points.
      const first = join(dir, `s-${roce}.jsonl`);
      const killer = signalSelfAfter(first, '"record":"point"', 2, "SIGTERM");
      const rs = await runBenchDevices(cfg, [roce!, iwarp!], true);
      await killer.status;
      assertEquals(rs.map((r) => r.doc.device.name), [roce, iwarp]);
      assertEquals(rs.map((r) => r.out), [join(dir, `s-${roce}.json`), join(dir, `s-${iwarp}.json`)]);
      for (const r of rs) {
        assertEquals(r.interruptedBy, "SIGTERM");
        assert(r.points >= 1 && r.points < r.of, `${r.doc.device.name}: ${r.points} of ${r.of}`);
        const doc = JSON.parse(await Deno.readTextFile(r.out));
        assertEquals([doc.completed, doc.interruptedBy, doc.results.length], [false, "SIGTERM", r.points]);
      }
      // In turn: neither device is more than its current point ahead of the other.
      assert(Math.abs(rs[0].points - rs[1].points) <= 1, rs.map((r) => r.points).join(" vs "));
      assertEquals(await rdmaResources(Deno.pid), []);
    }),
});
