// bench --regscale in this process, tiny: both curves and the concurrent phase run to their planned ends with
// memreg's figures and the C reference's at every step, and nothing of the sweep is left registered after it.
import assert from "node:assert/strict";
import { Context, PD } from "../../ffi/mod.ts";
import { type RegscalePart, runRegscale } from "../../bench/regscale.ts";
import { RegscaleSchema } from "../../reports/schema/bench.ts";
import { deviceCounts } from "../helpers/resources.ts";

const dev = Deno.env.get("MEMREG_DEVICE");
const MiB = 1024 ** 2;

Deno.test("regscale: a tiny sweep measures every step and leaves nothing registered", async () => {
  using ctx = Context.open(dev);
  const pd = new PD(ctx);
  // One `rdma resource show` per check (a spawn costs under emulation); the suite runs one test file at a time.
  const before = (await deviceCounts()).mr;
  const said: string[] = [];
  const r = runRegscale(pd, ctx.queryDevice(), {
    ask: { probes: [4096, 64 * 1024], pages: ["4k"], maxBytes: 4 * MiB, maxMrs: 32, workers: [1, 2] },
    budgetMs: 2,
    samplesMin: 3,
    reference: true,
    say: (l) => said.push(l),
  });
  // Released by the sweep itself, its PD still open: the device holds the MRs it held before.
  assert.equal((await deviceCounts()).mr, before);
  pd.close();
  assert.match(said[0], /^regscale limits: RLIMIT_MEMLOCK .*, max_mr \d+/);
  assert.ok(RegscaleSchema.safeParse(r).success, JSON.stringify(RegscaleSchema.safeParse(r).error?.issues));
  const [bytes, mrs] = r.curves;
  for (const c of [bytes, mrs]) {
    assert.equal(c.end.status, "complete", JSON.stringify(c.end));
    assert.deepEqual(c.steps.map((s) => s.at), c.planned);
    for (const s of c.steps) {
      for (const p of s.probes) {
        assert.equal(p.status, "ok", JSON.stringify(p.reason));
        assert.ok(p.reg!.count >= 3 && p.reference!.reg.count >= 3 && p.reg!.p50CiNs, JSON.stringify(p.reg));
      }
    }
  }
  // What was registered under each step is what the plan said: bytes, or one MR per 4 KiB page.
  assert.equal(bytes.steps.at(-1)!.registeredBytes, 4 * MiB);
  assert.deepEqual(mrs.steps.map((s) => s.mrs), mrs.planned);
  assert.equal(r.workers.length, 2);
  for (const w of r.workers) {
    assert.deepEqual(w.levels.map((l) => l.workers), [1, 2]);
    assert.ok(w.levels.every((l) => l.rounds >= 3 * l.workers && l.regsPerSec > 0), JSON.stringify(w.levels));
    assert.equal(w.levels[0].speedup, 1);
    assert.ok(w.threadOverhead! > 0);
  }
});

Deno.test("regscale: a signal in the middle of a curve keeps its steps, streams every part, releases all", async () => {
  using ctx = Context.open(dev);
  using pd = new PD(ctx);
  const before = (await deviceCounts()).mr;
  let steps = 0;
  const parts: RegscalePart[] = [];
  const r = runRegscale(pd, ctx.queryDevice(), {
    ask: { probes: [4096], pages: ["4k"], maxBytes: 4 * MiB, maxMrs: 8, workers: [1] },
    budgetMs: 1,
    samplesMin: 1,
    reference: false,
    onProgress: () => void steps++,
    // The signal arrives while the bytes curve's third step is measured.
    stopped: () => steps >= 3,
    onPart: (p) => parts.push(p),
  });
  assert.equal((await deviceCounts()).mr, before);
  assert.ok(RegscaleSchema.safeParse(r).success, JSON.stringify(RegscaleSchema.safeParse(r).error?.issues));
  const [bytes, mrs] = r.curves;
  assert.equal(bytes.steps.length, 3);
  assert.deepEqual(bytes.end, {
    status: "stopped",
    message: "the run was stopped by a signal",
    at: bytes.planned[3],
  });
  assert.ok(bytes.steps.every((s) => s.probes[0].status === "ok" && s.probes[0].reg!.count >= 1));
  // What the signal cut off is there, said as stopped: nothing of it was measured.
  assert.equal(mrs.steps.length, 0);
  assert.equal(mrs.end.status, "stopped");
  assert.deepEqual(r.workers.map((w) => [w.levels.length, w.end.status]), [[0, "stopped"]]);
  // The stream: the plan before any curve, then each curve as it ended, the workers last.
  assert.deepEqual(parts.map((p) => p.part), ["plan", "curve", "curve", "workers"]);
  assert.deepEqual(parts[1], { part: "curve", curve: bytes });
});
