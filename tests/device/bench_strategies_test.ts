// Every registration strategy on a real device (rxe0 in the testbed): each runs with its data checked on every
// I/O or is reported unsupported with a reason; revoking strategies fail a late access with the revoked key;
// a non-revoking one (global) lets the same late access through (so the check can fail); a strategy that
// advertises the wrong address is caught by the data check; a failed point leaves the rig clean; nothing is left in `rdma resource show`.
import assert from "node:assert/strict";
import { Context, QpState } from "../../ffi/mod.ts";
import { LAYOUT_STRATEGIES, type StrategyName } from "../../bench/config.ts";
import { Rig } from "../../bench/rig.ts";
import { runPoint, Setup } from "../../bench/point.ts";
import { lateAccess, REM_ACCESS_ERR } from "../../bench/revocation.ts";
import { makeStrategy } from "../../bench/strategies/mod.ts";
import { newHistogram } from "../../bench/stats.ts";
import { rdmaResources } from "../helpers/resources.ts";
import { Global } from "../../bench/strategies/global.ts";
import type { Slot } from "../../bench/strategies/types.ts";
import { pointKey, testConfig } from "../helpers/points.ts";

const cfg = testConfig({ sizes: "4k", buffers: 4, iterations: 12, reference: true, depth: "2" });
const dev = Deno.env.get("MEMREG_DEVICE");
const rxe61 = () => Deno.osRelease().startsWith("6.1.");

Deno.test("bench strategies on the device", async (t) => {
  {
    using ctx = Context.open(dev);
    using rig = new Rig(ctx);
    const hist = newHistogram();
    // One cheap point per strategy says which ones this device runs at all: steps that could test nothing
    // here are ignored (and counted so), instead of passing.
    const probe = new Map(LAYOUT_STRATEGIES.contiguous.map((name) => [
      name,
      runPoint(rig, pointKey(name, "write", 4096), cfg, hist),
    ]));
    const runs = (name: StrategyName) => probe.get(name)!.status !== "unsupported";

    await t.step("a strategy the device cannot run says why: the capability flag or the verb's errno", () => {
      for (const [name, p] of probe) {
        assert.ok(
          p.status === "ok" || p.status === "unsupported",
          `${name}: ${p.status}: ${p.reason?.message}`,
        );
        if (p.status === "ok") continue;
        assert.match(p.reason?.message ?? "", /IBV_|lacks|EOPNOTSUPP|ENOSYS|EPROTONOSUPPORT/, name);
        console.log(`  ${name}: unsupported: ${p.reason!.message}`);
      }
    });

    for (const name of LAYOUT_STRATEGIES.contiguous) {
      await t.step({
        name: `${name}: WRITE and READ at 4 KiB and 68 KiB, depth 2, data checked per I/O`,
        ignore: !runs(name),
        fn: () => {
          for (const op of ["write", "read"] as const) {
            for (const size of [4096, 68 * 1024]) {
              const p = runPoint(rig, pointKey(name, op, size, 2), cfg, hist);
              if (p.status === "unsupported") {
                assert.ok(p.reason?.message, `${name}: unsupported without a reason`);
                assert.match(p.reason!.message, /IBV_|lacks|EOPNOTSUPP|ENOSYS|EPROTONOSUPPORT/);
                console.log(`  ${name} ${op}: unsupported: ${p.reason!.message}`);
                continue;
              }
              assert.equal(p.status, "ok", `${name} ${op} ${size}: ${p.reason?.message}`);
              assert.equal(p.ios, 12, `${name} ${op} ${size}: ran ${p.ios} I/Os`);
              assert.equal(p.latency.count, 12);
              assert.ok(p.latency.p50Ns > 0 && p.iops > 0);
            }
          }
        },
      });
    }

    await t.step({
      name: "on rxe 6.1: no ODP and no ibv_rereg_mr, reported as such; the rest runs",
      ignore: !rxe61() || !ctx.name.startsWith("rxe"),
      fn: () => {
        for (const name of LAYOUT_STRATEGIES.contiguous) {
          const p = runPoint(
            rig,
            pointKey(name, "write", 4096),
            cfg,
            hist,
          );
          if (name === "odp" || name === "odp-implicit") {
            assert.match(p.reason?.message ?? "", /IBV_ODP_SUPPORT/);
          } else if (name === "rereg") assert.match(p.reason?.errno ?? "", /EOPNOTSUPP/);
          else assert.equal(p.status, "ok", `${name}: ${p.reason?.message}`);
        }
      },
    });

    for (const name of LAYOUT_STRATEGIES.contiguous.filter((n) => makeStrategy(n).revokes)) {
      await t.step({
        name: `${name}: a late access with the revoked key fails with ${REM_ACCESS_ERR}`,
        ignore: !runs(name),
        fn: async () => {
          for (const op of ["write", "read"] as const) {
            const r = await lateAccess(rig, name, op, cfg);
            assert.equal(r.status, REM_ACCESS_ERR, `${name} ${op}: late access gave ${r.status}`);
            assert.ok(r.revoked);
          }
        },
      });
    }

    await t.step("control: global keeps its key, so the same late access succeeds", async () => {
      const r = await lateAccess(rig, "global", "write", cfg);
      assert.equal(r.status, "IBV_WC_SUCCESS");
      assert.equal(r.revoked, false);
    });

    await t.step(
      "control: a strategy advertising the neighbouring buffer is caught by the data check",
      () => {
        const wrong = new class extends Global {
          override expose(s: Slot): number {
            super.expose(s);
            s.raddr += BigInt(this.env.arena.stride); // lands in the next buffer, not the one the I/O owns
            return 0;
          }
        }();
        for (const op of ["write", "read"] as const) {
          const setup = new Setup(rig, pointKey("global", op, 4096, 1, { buffers: 2 }), cfg, hist);
          try {
            // Swap the strategy's expose for the wrong one, keeping the set-up MR.
            wrong.setup(setup.env);
            (setup.engine as unknown as { strategy: unknown }).strategy = wrong;
            assert.throws(() => setup.engine!.run(1, 10e9, true), /data mismatch/);
          } finally {
            wrong.teardown();
            setup.close();
          }
        }
      },
    );
  }

  await t.step(
    "a failed point leaves the rig clean: the next point runs as before, no stale completions",
    () => {
      using ctx = Context.open(dev);
      using rig = new Rig(ctx);
      const hist = newHistogram();
      const key = pointKey("global", "write", 4096, 2);
      const base = runPoint(rig, key, cfg, hist);
      assert.equal(base.status, "ok", `baseline: ${base.reason?.message}`);
      // A point that fails its data check with the other slot's I/O still in flight and receives posted.
      const wrong = new class extends Global {
        override expose(s: Slot): number {
          super.expose(s);
          s.raddr += BigInt(this.env.arena.stride);
          return 0;
        }
      }();
      const before = rig.recoveries;
      const setup = new Setup(rig, key, cfg, hist);
      try {
        wrong.setup(setup.env);
        (setup.engine as unknown as { strategy: unknown }).strategy = wrong;
        assert.throws(() => setup.engine!.run(12, 10e9, true), /data mismatch/);
      } finally {
        wrong.teardown();
        setup.close();
      }
      assert.equal(rig.recoveries, before + 1, "the failed point did not recover the rig");
      // Nothing of the failed point may surface later (a late flush completion would fail the next point).
      const deadline = performance.now() + 300;
      let stale = 0;
      while (performance.now() < deadline) stale += rig.lb.cqA.poll() + rig.lb.cqB.poll();
      assert.equal(stale, 0, "completions left over from the failed point");
      for (const qp of [rig.lb.qpA, rig.lb.qpB]) assert.equal(qp.state(), QpState.RTS);
      for (let i = 0; i < 3; i++) {
        const p = runPoint(rig, key, cfg, hist);
        assert.equal(p.status, "ok", `point ${i} after the failure: ${p.reason?.message}`);
        assert.equal(p.ios, 12);
        assert.ok(
          p.latency.p50Ns < Math.max(8 * base.latency.p50Ns, 2e6),
          `p50 ${p.latency.p50Ns} ns after the failure vs ${base.latency.p50Ns} ns before (RNR/retry stalls?)`,
        );
      }
    },
  );

  await t.step("nothing of ours is left in `rdma resource show`", async () => {
    assert.deepEqual(await rdmaResources(Deno.pid), []);
  });
});
