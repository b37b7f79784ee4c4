// Measurement truth on the device: the timed verbs share the JS clock's time base (so a WR's verb time, from
// its post to the completion the engine sees, is coherent), regcost runs the C reference beside its own figures
// and records both with their ratio, the per-I/O split says which part of expose / revoke was inside verbs,
// and repetitions carry their spread. No assertion here is about speed.
import assert from "node:assert/strict";
import { Context, fastVerbs, NativeBuffer } from "../../ffi/mod.ts";
import { referenceUnavailable } from "../../bench/timed.ts";
import { DEFAULTS, parseConfig, type StrategyName } from "../../bench/config.ts";
import { REMOTE_RW, Rig } from "../../bench/rig.ts";
import { runPoint } from "../../bench/point.ts";
import { regcostSizes, runRegcost } from "../../bench/regcost.ts";
import { newHistogram } from "../../bench/stats.ts";
import { makeStrategy } from "../../bench/strategies/mod.ts";
import { rdmaResources } from "../helpers/resources.ts";
import { pointKey } from "../helpers/points.ts";

const dev = Deno.env.get("MEMREG_DEVICE");
const cfg = parseConfig({
  ...DEFAULTS,
  sizes: "4k",
  buffers: 4,
  iterations: 8,
  duration: 1,
  warmup: 1,
  reps: 3,
  repMinIos: 2,
  regcost: false,
  regcostBudget: DEFAULTS.regcostBudgetMs,
  reference: true,
  revocationCheck: false,
  depth: "1",
});

Deno.test("measurement truth on the device", async (t) => {
  {
    using ctx = Context.open(dev);
    using rig = new Rig(ctx);

    await t.step("timed verbs: [start, end] lies inside the JS clock reads around the call", () => {
      const f = fastVerbs(), ts = new Float64Array(2);
      using buf = new NativeBuffer(8192);
      buf.fill(1);
      for (let i = 0; i < 20; i++) {
        const before = f.nowNs();
        const mr = f.regMrTimed(rig.pd.ptr, buf.ptr, 8192n, REMOTE_RW, ts);
        const after = f.nowNs();
        assert.ok(mr, "ibv_reg_mr through the timed verb failed");
        assert.ok(before <= ts[0] && ts[0] < ts[1] && ts[1] <= after, `${before} ${ts} ${after}`);
        const b2 = f.nowNs();
        assert.equal(f.deregMrTimed(mr, ts), 0);
        assert.ok(b2 <= ts[0] && ts[0] < ts[1] && ts[1] <= f.nowNs());
      }
    });

    await t.step("regcost: every verb beside the C reference, with ratio and difference", () => {
      assert.equal(referenceUnavailable(), null, "the native helper (and its C reference) should be here");
      const r = runRegcost(rig, {
        maxBytes: 16384,
        pages: ["4k"],
        budgetMs: 40,
        samplesMin: 6,
        reference: true,
      });
      assert.deepEqual(r.reference, { ran: true });
      assert.match(r.method, /C reference/);
      const ok = r.mr.filter((m) => m.status === "ok");
      const pinned = r.mr.filter((m) => m.access === "local" || m.access === "remote-rw");
      assert.equal(pinned.length, 2 * regcostSizes(16384).length);
      assert.ok(
        pinned.every((m) => m.status === "ok"),
        JSON.stringify(pinned.find((m) => m.status !== "ok")),
      );
      for (const m of ok) {
        const ref = m.reference!, ratio = m.ratio!;
        for (
          const [mine, c, q] of [[m.reg!, ref.reg, ratio.reg], [m.dereg!, ref.dereg, ratio.dereg]] as const
        ) {
          assert.ok(mine.count >= 6 && c.count >= 6, `${m.size}: ${mine.count} / ${c.count} samples`);
          assert.ok(mine.p50Ns > 0 && c.p50Ns > 0);
          assert.equal(q.ratio, Math.round((mine.p50Ns / c.p50Ns) * 1000) / 1000);
          assert.equal(q.diffNs, mine.p50Ns - c.p50Ns);
          assert.ok(mine.p50CiNs && mine.p50CiNs[0] <= mine.p50Ns && mine.p50Ns <= mine.p50CiNs[1]);
        }
        // The paired ratio: 16 alternating blocks per side, each pair's ratio of block medians.
        for (const q of [m.paired!.reg, m.paired!.dereg]) {
          assert.ok(q.pairs > 0 && q.pairs <= 16 && q.lo <= q.median && q.median <= q.hi, JSON.stringify(q));
        }
        assert.ok(m.regCall!.count > 0 && m.deregCall!.count > 0, "calls timed from JS are kept beside");
      }
      const mw = new Map(r.mw.map((w) => [w.verb, w]));
      for (
        const verb of [
          "ibv_alloc_mw (type 1)",
          "ibv_dealloc_mw (type 1)",
          "ibv_alloc_mw (type 2)",
          "ibv_dealloc_mw (type 2)",
          "ibv_bind_mw (type 1) + completion",
          "ibv_bind_mw zero-length unbind (type 1) + completion",
          "IBV_WR_BIND_MW (type 2) + completion",
          "IBV_WR_LOCAL_INV (type 2) + completion",
        ]
      ) {
        const w = mw.get(verb);
        assert.ok(w, `${verb} missing`);
        assert.equal(w.status, "ok", `${verb}: ${w.reason?.message}`);
        assert.ok(w.latency!.count >= 6 && w.reference!.count >= 6 && w.call!.count > 0, verb);
        assert.equal(w.ratio!.ratio, Math.round((w.latency!.p50Ns / w.reference!.p50Ns) * 1000) / 1000);
        assert.ok(w.paired && w.paired.pairs > 0 && w.paired.lo <= w.paired.median, verb);
        // Modes, where found, are ordered and cover every sample.
        const ms = w.latency!.modes ?? [];
        assert.ok(ms.every((x, i) => i === 0 || x.p50Ns > ms[i - 1].p50Ns), verb);
        if (ms.length) assert.ok(Math.abs(ms.reduce((t, x) => t + x.share, 0) - 1) < 1e-9, verb);
      }
    });

    await t.step("regcost without the reference says so and records no C figures", () => {
      const r = runRegcost(rig, {
        maxBytes: 4096,
        pages: ["4k"],
        budgetMs: 5,
        samplesMin: 3,
        reference: false,
      });
      assert.equal(r.reference.ran, false);
      assert.match(r.reference.reason!, /--no-reference/);
      assert.ok(
        r.mr.every((m) =>
          m.status !== "ok" || (m.reference === null && m.ratio === null && m.paired === null)
        ),
      );
    });

    const split = (name: StrategyName) => {
      const p = runPoint(rig, pointKey(name, "write", 4096), cfg, newHistogram());
      assert.equal(p.status, "ok", `${name}: ${p.reason?.message}`);
      return p;
    };

    for (
      const name of ["reg-per-io", "mw1", "mw2-local", "mw2-remote", "rcache", "global", "bounce"] as const
    ) {
      await t.step(`${name}: the split's verb share is coherent with what the strategy does per I/O`, () => {
        if (makeStrategy(name).unsupported(rig, "write")) return;
        const p = split(name), s = p.split;
        assert.ok(s.exposeVerbNs >= 0 && s.exposeVerbNs <= s.exposeNs, JSON.stringify(s));
        assert.ok(s.revokeVerbNs >= 0 && s.revokeVerbNs <= s.revokeNs, JSON.stringify(s));
        // Strategies that call a verb on every expose / revoke show time there; the others show none.
        // (rcache: its warm-up pass over the 4 buffers fills the cache, so the measured I/Os all hit.)
        const verbExpose = ["reg-per-io", "mw1", "mw2-local", "mw2-remote"].includes(name);
        const verbRevoke = ["reg-per-io", "mw1", "mw2-local"].includes(name);
        if (name === "rcache") assert.equal(p.hitRate, 1, JSON.stringify(p.counters));
        assert.equal(s.exposeVerbNs > 0, verbExpose, `${name}: ${JSON.stringify(s)}`);
        assert.equal(s.revokeVerbNs > 0, verbRevoke, `${name}: ${JSON.stringify(s)}`);
      });
    }

    await t.step("repetitions: three phases, each with its own median, and their spread", () => {
      const p = split("global");
      assert.equal(p.reps.length, 3);
      for (const r of p.reps) assert.ok(r.ios >= 2 && r.p50Ns > 0, JSON.stringify(r));
      const s = p.spread!;
      assert.equal(s.n, 3);
      assert.equal(s.confidence, 0.75);
      for (const k of ["iops", "p50Ns", "bytesPerSec"] as const) {
        assert.ok(s[k].min <= s[k].median && s[k].median <= s[k].max, `${k}: ${JSON.stringify(s[k])}`);
      }
      assert.deepEqual([s.iops.min, s.iops.max], [
        Math.min(...p.reps.map((r) => r.iops)),
        Math.max(...p.reps.map((r) => r.iops)),
      ]);
    });
  }
  await t.step("nothing of ours is left in rdma resource show", async () => {
    assert.deepEqual(await rdmaResources(Deno.pid), []);
  });
});
