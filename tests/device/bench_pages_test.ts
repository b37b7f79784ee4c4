// The page layout on a real device (rxe0 in the testbed): every page-layout strategy runs WRITEs and READs of
// scattered pages with every page's data checked, or is reported unsupported with its reason; what each
// records per I/O (registrations, segments, RDMA ops, exposure, key lifetime) matches what it does; a strategy
// that misplaces one page is caught by the per-page check; revoking page strategies fail a late access; and
// the registration cache's hit rate goes from ~1 to ~0 across working sets. Nothing is left behind.
import assert from "node:assert/strict";
import { Context } from "../../ffi/mod.ts";
import { LAYOUT_STRATEGIES } from "../../bench/config.ts";
import { Rig } from "../../bench/rig.ts";
import { type PointResult, runPoint, Setup } from "../../bench/point.ts";
import { lateAccess, REM_ACCESS_ERR } from "../../bench/revocation.ts";
import { newHistogram } from "../../bench/stats.ts";
import { PAGE } from "../../bench/exposure.ts";
import { PageGlobal } from "../../bench/strategies/pages/global.ts";
import { makeStrategy } from "../../bench/strategies/mod.ts";
import { pointKey, testConfig } from "../helpers/points.ts";
import { rdmaResources } from "../helpers/resources.ts";
import type { Slot } from "../../bench/strategies/types.ts";

const dev = Deno.env.get("MEMREG_DEVICE");
const cfg = testConfig({ iterations: 10, rcacheCap: "64k" });
const POOL = 256; // pages: 1 MiB
const rxe61 = () => Deno.osRelease().startsWith("6.1.");
const pageKey = (name: Parameters<typeof pointKey>[0], op: "write" | "read", pages: number, depth: number) =>
  pointKey(name, op, pages * PAGE, depth, { layout: "pages", reuse: "random", buffers: POOL });

/** What a point's per-I/O figures must be, given what the strategy does with an I/O of `n` pages. */
function checkFigures(p: PointResult, n: number, depth: number): void {
  const io = p.perIo,
    what = `${p.strategy} ${p.op} ${n} pages: ${JSON.stringify(io)} ${JSON.stringify(p.exposure)}`;
  assert.ok(io.segments >= 1 && io.segments <= n, what);
  assert.ok(io.rdmaOps >= io.segments, what);
  assert.equal(io.sges, n, `${what}: the peer's SGEs cover every page once`);
  const pool = POOL * PAGE, size = n * PAGE;
  switch (p.strategy) {
    case "global":
    case "odp":
      assert.equal(io.registrations, 0, what);
      assert.equal(p.exposure.ratio, pool / size, what);
      assert.equal(p.keyLifetime.ends, "teardown");
      break;
    case "remap-reg":
      assert.equal(io.registrations, 1, what);
      assert.equal(io.segments, 1, what);
      assert.equal(
        io.rdmaOps,
        Math.ceil(n / p.sgeLimit),
        `${what}: one segment, split only by the SGE limit`,
      );
      assert.ok(p.exposure.ratio >= 1 && p.exposure.ratio <= depth, what);
      assert.equal(p.keyLifetime.ends, "revoke");
      assert.ok(p.split.mapNs > 0, "page mapping time recorded");
      break;
    case "reg-per-page":
      assert.equal(io.registrations, n, what);
      assert.equal(io.segments, n, what);
      assert.ok(p.exposure.ratio >= 1 && p.exposure.ratio <= depth, what);
      assert.equal(p.keyLifetime.ends, "revoke");
      break;
    case "bounce":
      assert.equal(io.registrations, 0, what);
      assert.equal(io.segments, 1, what);
      assert.equal(p.exposure.ratio, depth, `${what}: every slot's bounce buffer`);
      assert.ok(p.split.copyNs > 0);
      break;
    case "mw2-span":
      assert.equal(io.registrations, 1, what);
      assert.ok(p.exposure.ratio >= 1 && p.exposure.ratio <= (depth * pool) / size, what);
      assert.equal(p.keyLifetime.ends, "revoke");
      break;
    case "rcache":
      assert.ok(io.registrations <= io.segments, what);
      assert.ok(p.hitRate !== null && p.hitRate >= 0 && p.hitRate <= 1, what);
      assert.ok(
        p.exposure.ratio >= 1 && p.exposure.ratio <= 64 * 1024 / size + depth,
        `${what}: under the cap`,
      );
      assert.equal(p.keyLifetime.ends, "eviction");
      break;
  }
  if (p.keyLifetime.ends === "revoke") {
    assert.ok(p.keyLifetime.meanNs > 0 && p.keyLifetime.n === p.ios, JSON.stringify(p.keyLifetime));
  }
}

Deno.test("the page layout on the device", async (t) => {
  {
    using ctx = Context.open(dev);
    using rig = new Rig(ctx);
    const hist = newHistogram();

    for (const name of LAYOUT_STRATEGIES.pages) {
      await t.step(`${name}: WRITE and READ of 4 and 40 scattered pages, depth 2, every page checked`, () => {
        for (const op of ["write", "read"] as const) {
          for (const n of [4, 40]) {
            const p = runPoint(rig, pageKey(name, op, n, 2), cfg, hist);
            if (p.status === "unsupported") {
              assert.match(p.reason?.message ?? "", /IBV_|lacks|mlx5|EOPNOTSUPP|max_qp_wr/);
              console.log(`  ${name} ${op}: unsupported: ${p.reason!.message}`);
              continue;
            }
            assert.equal(p.status, "ok", `${name} ${op} ${n}: ${p.reason?.message}`);
            assert.equal(p.ios, 10);
            assert.deepEqual(p.verify, { mode: "sampled", unit: "words", perIo: 2 * n });
            checkFigures(p, n, 2);
          }
        }
      });
    }

    await t.step(
      "on rxe 6.1: ODP and mlx5 page lists are unsupported with their reason; the rest runs",
      () => {
        if (!rxe61() || !ctx.name.startsWith("rxe")) return;
        for (const name of LAYOUT_STRATEGIES.pages) {
          const p = runPoint(rig, pageKey(name, "write", 4, 1), cfg, hist);
          if (name === "odp") assert.match(p.reason?.message ?? "", /IBV_ODP_SUPPORT/);
          else if (name === "dv-page-list") assert.match(p.reason?.message ?? "", /not an mlx5 device/);
          else assert.equal(p.status, "ok", `${name}: ${p.reason?.message}`);
        }
      },
    );

    await t.step("depth 1: remap-reg and reg-per-page expose exactly the I/O; global the pool", () => {
      const expect = { "remap-reg": 1, "reg-per-page": 1, "global": POOL / 8 } as const;
      for (const [name, ratio] of Object.entries(expect)) {
        const p = runPoint(rig, pageKey(name as keyof typeof expect, "write", 8, 1), cfg, hist);
        assert.equal(p.status, "ok", p.reason?.message);
        assert.equal(p.exposure.ratio, ratio, name);
        assert.equal(p.exposure.maxRatio, ratio, name);
      }
    });

    await t.step("control: a page advertised in another page's place is caught by the per-page check", () => {
      const wrong = new class extends PageGlobal {
        override expose(s: Slot): number {
          super.expose(s);
          // Swap where the first two segments point: both pages land, each in the other's place.
          const a = s.segAddr[0];
          s.segAddr[0] = s.segAddr[1];
          s.segAddr[1] = a;
          return 0;
        }
      }();
      for (const op of ["write", "read"] as const) {
        const setup = new Setup(rig, pageKey("global", op, 8, 1), cfg, hist);
        try {
          wrong.setup(setup.env);
          (setup.engine as unknown as { strategy: unknown }).strategy = wrong;
          // Random pages of a 256-page pool: the first two are separate runs (segments) in all but rare draws.
          assert.throws(() => setup.engine!.run(4, 10e9, true), /data mismatch/, op);
        } finally {
          wrong.teardown();
          setup.close();
        }
      }
    });

    for (const name of LAYOUT_STRATEGIES.pages.filter((n) => makeStrategy(n, "pages").revokes)) {
      // A strategy this device cannot run has no key to test: the step is ignored (and counted so).
      await t.step({
        name: `${name}: a late access with the revoked key fails with ${REM_ACCESS_ERR}`,
        ignore: makeStrategy(name, "pages").unsupported(rig, "write") !== null,
        fn: async () => {
          for (const op of ["write", "read"] as const) {
            const r = await lateAccess(rig, name, op, cfg, "pages");
            assert.equal(r.status, REM_ACCESS_ERR, `${name} ${op}: late access gave ${r.status}`);
          }
        },
      });
    }

    await t.step("working sets: the cache's hit rate goes from ~1 inside its cap to ~0 far beyond it", () => {
      // A 64 KiB cap holds 16 buffers of 4 KiB; random reuse over 4, 16, 64 and 1024 buffers.
      const rates: number[] = [];
      for (const buffers of [4, 16, 64, 1024]) {
        const p = runPoint(
          rig,
          pointKey("rcache", "write", PAGE, 1, { reuse: "random", buffers, sweep: true }),
          { ...cfg, iterations: 200 },
          hist,
        );
        assert.equal(p.status, "ok", p.reason?.message);
        assert.equal(p.workingSetBytes, buffers * PAGE);
        rates.push(p.hitRate!);
      }
      console.log(`  hit rates at 4, 16, 64, 1024 buffers (cap 16): ${rates.join(", ")}`);
      assert.equal(rates[0], 1, "4 buffers under a 16-buffer cap: every lookup hits after the warm-up pass");
      assert.equal(rates[1], 1, "16 buffers fill the cap exactly");
      assert.ok(rates[2] > 0.1 && rates[2] < 0.45, `64 buffers: about a quarter hit (${rates[2]})`);
      assert.ok(rates[3] < 0.06, `1024 buffers: nearly all miss (${rates[3]})`);
    });
  }

  await t.step("nothing of ours is left in `rdma resource show`", async () => {
    assert.deepEqual(await rdmaResources(Deno.pid), []);
  });
});
